"""Receipts survive `kill -9` of the kiosk in the middle of writing and sending them: each arrives exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from kiosk.hall.server import HallServer
from kiosk.outbox import Outbox
from kiosk.sync import Backend, BackendSettings, flush_outbox

WRITER = Path(__file__).resolve().parent.parent / "receipt_writer.py"


def test_kill_9_mid_write_then_restart_delivers_every_receipt_once(tmp_path: Path, backend: HallServer) -> None:
    data = tmp_path / "kiosk-data"
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(data), backend.url, str(backend.tls.ca_file), backend.token],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout
    printed = []
    while len(printed) < 300:
        line = writer.stdout.readline()
        assert line, "the writer died before the kill"
        printed.append(line.strip())
    sent_before_kill = len(backend.receipts())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    printed += [line.strip() for line in writer.stdout if line.strip()]
    assert sent_before_kill > 0, "the kill must land while receipts are being sent"

    outbox = Outbox(data / "outbox.sqlite3", data / "outbox.key")  # the kiosk starts again
    waiting = {item.id for item in outbox.pending("receipt", 100_000)}
    flush_outbox(
        Backend(BackendSettings(url=backend.url, ca_file=str(backend.tls.ca_file), token=backend.token)), outbox
    )

    received = [row[0] for row in backend.receipts()]
    assert outbox.depth() == 0
    assert len(received) == len(set(received)), "no receipt stored twice"
    assert set(printed) <= set(received), "every receipt the kiosk committed arrived"
    extra = set(received) - set(printed)
    assert len(extra) <= 1, "nothing arrived that the kiosk did not commit, but the one committed as the kill landed"
    assert waiting <= set(received), "what waited in the outbox after the crash was sent"
