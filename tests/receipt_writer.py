"""A kiosk that records receipts and flushes them as fast as it can, printing each id once it is committed.

Run by the kill -9 test: `python tests/receipt_writer.py DATA_DIR URL CA_FILE TOKEN`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.outbox import Outbox
from kiosk.sync import Backend, BackendError, BackendSettings, flush_outbox


def main() -> None:
    data, url, ca_file, token = sys.argv[1:5]
    outbox = Outbox(Path(data) / "outbox.sqlite3", Path(data) / "outbox.key")
    backend = Backend(BackendSettings(url=url, ca_file=ca_file, token=token))

    def flush_forever() -> None:
        while True:
            with contextlib.suppress(BackendError):
                if not flush_outbox(backend, outbox).receipts_sent:
                    time.sleep(0.005)

    threading.Thread(target=flush_forever, daemon=True).start()
    for n in range(100_000):
        print(outbox.add_receipt(f"notice-{n}", "subject-kill-test-0123456789", "read", None), flush=True)


if __name__ == "__main__":
    main()
