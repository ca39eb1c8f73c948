"""The data dir's disk fills up (a real 4 MB tmpfs, filled to the last byte): the citizen notices nothing,
staff see it on the panel, and no feedback is lost."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.config import from_text
from kiosk.hall.api import fail_with
from kiosk.hall.server import HallServer
from tests.conftest import kiosk_toml, running_kiosk
from tests.faults.test_faults_in_a_session import read_finish_and_rate, to_notices
from ui.app import KioskApp


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of our own, unmounted after the test."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root (the CI runs the suite as root)")
    mount = tmp_path / "data"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write until the disk says no more, in big blocks then small ones."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def visit(qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]) -> None:
    """A citizen: card, PIN, the most urgent notice, 已读, done, 满意."""
    to_notices(qtbot, kiosk, card_slot)
    qtbot.waitUntil(lambda: not kiosk.window.view.personal_loading, timeout=5000)
    read_finish_and_rate(qtbot, kiosk)


def test_a_full_data_disk_loses_no_feedback_and_staff_see_it(
    qtbot: QtBot, small_disk: Path, backend: HallServer, pcscd: None, qapp: QApplication,
    card_slot: Callable[..., object],
) -> None:  # fmt: skip
    config = from_text(kiosk_toml(backend, small_disk, "[voice]\nenabled = false\n"), small_disk.parent / "k.toml")
    with running_kiosk(config) as kiosk:
        qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=5000)
        filler = fill(small_disk)
        backend.faults["/receipts"] = fail_with(503)  # the feedback must wait in the kiosk, on a full disk
        visit(qtbot, kiosk, card_slot)
        qtbot.waitUntil(lambda: kiosk.network.status.get("held") == 2, timeout=5000)  # 已读 and 满意, in memory
        assert any("disk refuses writes: 2 in memory" in line for line in kiosk.staff_status())
        visit(qtbot, kiosk, card_slot)  # the kiosk keeps serving the next citizen
        qtbot.waitUntil(lambda: kiosk.network.status.get("held") == 4, timeout=5000)
        filler.unlink()  # staff free the disk
        del backend.faults["/receipts"]
        kiosk.network.sync_now()
        qtbot.waitUntil(lambda: len(backend.receipts()) == 4, timeout=15_000)
        qtbot.waitUntil(lambda: kiosk.network.status.get("outbox_depth") == 0, timeout=5000)
        qtbot.wait(500)
        assert len(backend.receipts()) == 4 and len({r[0] for r in backend.receipts()}) == 4  # each once
        assert not any("disk refuses" in line for line in kiosk.staff_status())
