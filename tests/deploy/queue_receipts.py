"""Run in the terminal by the installed kiosk's Python, as the kiosk user: N citizens' receipts queued in the
kiosk's outbox while the hall server is out of reach, their ids printed (the upgrade test counts them at the hall).

    /opt/ss-kiosk/venv/bin/python queue_receipts.py /var/lib/ss-kiosk N
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.outbox import Outbox


def main() -> None:
    data, count = Path(sys.argv[1]), int(sys.argv[2])
    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")
    for n in range(count):
        print(outbox.add_receipt(f"upgrade-{n}", "subject-upgrade-test-0123456789", "read", None), flush=True)


if __name__ == "__main__":
    main()
