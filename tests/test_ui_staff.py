"""The hidden staff entry in a real kiosk window: hold the corner 5 s, the staff PIN, the panel, the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication
from pytestqt.qtbot import QtBot

from kiosk.config import from_text
from kiosk.hall.server import HallServer
from kiosk.staff import hash_pin
from tests.conftest import kiosk_toml, running_kiosk
from ui import staff as staff_module
from ui.app import KioskApp

ADMIN_PIN, CLERK_PIN = "246813", "135792"


@pytest.fixture
def kiosk(tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[KioskApp]:  # fmt: skip
    monkeypatch.setattr(staff_module, "HOLD_MS", 300)  # five seconds, shortened for the test
    staff = f'[voice]\nenabled = false\n[staff]\nadmin_pin_hash = "{hash_pin(ADMIN_PIN)}"\n'
    staff += f'clerk_pin_hash = "{hash_pin(CLERK_PIN)}"\n'
    with running_kiosk(from_text(kiosk_toml(backend, tmp_path / "data", staff), tmp_path / "kiosk.toml")) as app:
        yield app


def buttons(kiosk: KioskApp) -> dict[str, QAbstractButton]:
    return {b.text(): b for b in kiosk.staff.findChildren(QAbstractButton) if b.isVisible()}


def hold_corner(qtbot: QtBot, kiosk: KioskApp, held_ms: int) -> None:
    """A finger on the glass: the press reaches the window's QWindow first, then the widget under it."""
    glass, corner = kiosk.window.windowHandle(), QPoint(20, 20)
    QTest.mousePress(glass, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corner)
    qtbot.wait(held_ms)
    QTest.mouseRelease(glass, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corner)


def press(qtbot: QtBot, kiosk: KioskApp, name: str) -> None:
    """Tap a button of the panel once it is on screen (new widgets show on the next event loop turn)."""
    qtbot.waitUntil(lambda: name in buttons(kiosk), timeout=2000)
    qtbot.mouseClick(buttons(kiosk)[name], Qt.MouseButton.LeftButton)


def type_pin(qtbot: QtBot, kiosk: KioskApp, pin: str) -> None:
    for key in [*pin, "OK"]:
        press(qtbot, kiosk, key)


def test_a_short_press_does_nothing_a_long_one_asks_for_the_staff_pin(qtbot: QtBot, kiosk: KioskApp) -> None:
    hold_corner(qtbot, kiosk, 100)
    qtbot.wait(400)
    assert not kiosk.staff.isVisible()
    hold_corner(qtbot, kiosk, 500)
    qtbot.waitUntil(kiosk.staff.isVisible, timeout=2000)
    assert kiosk.staff.role is None


def test_clerk_sees_the_status_and_syncs_but_cannot_leave_kiosk_mode(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer
) -> None:
    kiosk.staff.open()
    type_pin(qtbot, kiosk, CLERK_PIN)
    qtbot.waitUntil(lambda: "立即同步 · sync now" in buttons(kiosk), timeout=2000)
    assert kiosk.staff.role == "clerk"
    shown = buttons(kiosk)
    assert "立即同步 · sync now" in shown and "退出自助 · leave kiosk" not in shown
    before = len([r for r in backend.requests if r[1] == "/notices/broadcast"])
    qtbot.mouseClick(shown["立即同步 · sync now"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len([r for r in backend.requests if r[1] == "/notices/broadcast"]) > before, timeout=5000)
    assert any("outbox" in line for line in kiosk.staff_status())
    press(qtbot, kiosk, "关闭 · close")
    assert not kiosk.staff.isVisible()
    actions = [(e["role"], e["action"]) for e in kiosk.audit.entries()]
    assert actions == [("clerk", "staff entry"), ("clerk", "立即同步 · sync now"), ("clerk", "staff panel closed")]


def test_admin_may_leave_kiosk_mode(qtbot: QtBot, kiosk: KioskApp, monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(QApplication, "exit", staticmethod(lambda code=0: exits.append(code)))
    kiosk.staff.open()
    type_pin(qtbot, kiosk, ADMIN_PIN)
    press(qtbot, kiosk, "退出自助 · leave kiosk")
    assert exits == [64], "the exit status systemd does not restart"


def test_wrong_staff_pins_are_counted_and_locked(qtbot: QtBot, kiosk: KioskApp) -> None:
    kiosk.staff.open()
    for _ in range(5):
        type_pin(qtbot, kiosk, "000000")
    assert "locked" in kiosk.staff.message
    type_pin(qtbot, kiosk, ADMIN_PIN)
    assert kiosk.staff.role is None, "even the right PIN waits out the lock"


def test_admin_changes_hall_settings_written_to_the_config_and_audited(
    qtbot: QtBot, kiosk: KioskApp, tmp_path: Path
) -> None:
    from kiosk.config import load

    kiosk.staff.open()
    type_pin(qtbot, kiosk, ADMIN_PIN)
    press(qtbot, kiosk, "音量 − · volume −")
    press(qtbot, kiosk, "字号 · text size")
    on_disk = load(tmp_path / "kiosk.toml")
    assert on_disk["voice.volume"] == 0.8 and on_disk["ui.text_scale"] == 1.25
    assert kiosk.window.hall_scale == 1.25 and kiosk.core.session.hall.defaults == kiosk.hall.defaults
    details = [e["detail"] for e in kiosk.audit.entries() if e["action"] == "setting changed"]
    assert details == ["voice.volume: 0.9 → 0.8", "ui.text_scale: 1.0 → 1.25"]
    assert {e["role"] for e in kiosk.audit.entries() if e["action"] == "setting changed"} == {"admin"}


def test_a_clerk_sees_no_settings(qtbot: QtBot, kiosk: KioskApp) -> None:
    kiosk.staff.open()
    type_pin(qtbot, kiosk, CLERK_PIN)
    qtbot.waitUntil(lambda: "试语音 · test voice" in buttons(kiosk), timeout=2000)
    assert not [name for name in buttons(kiosk) if "volume" in name or "language" in name or "text size" in name]


def test_a_config_that_cannot_be_written_changes_nothing(kiosk: KioskApp, tmp_path: Path) -> None:
    from dataclasses import replace

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    kiosk.config = replace(kiosk.config, path=blocker / "kiosk.toml")
    kiosk.staff.role = "admin"
    said = kiosk._staff_set("voice.volume", +0.1)
    assert "cannot be written" in said and kiosk.config["voice.volume"] == 0.9


def test_a_panel_left_open_closes_by_itself_and_gives_the_reader_back(
    qtbot: QtBot, kiosk: KioskApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_module, "IDLE_MS", 400)  # two minutes, shortened for the test
    kiosk.staff.open()
    type_pin(qtbot, kiosk, ADMIN_PIN)
    qtbot.waitUntil(lambda: "设置向导 · setup wizard" in buttons(kiosk), timeout=3000)
    qtbot.waitUntil(lambda: not kiosk.staff.isVisible(), timeout=3000)  # the admin walked away
    assert kiosk.staff.role is None and not kiosk.staff.engaged  # the next card is a citizen's again
    assert "staff panel left open: closed" in [e["action"] for e in kiosk.audit.entries()]


def test_the_staff_panel_warns_of_a_screen_smaller_than_the_layout(kiosk: KioskApp) -> None:
    """A terminal with a small panel (the boot test's 1280×800 lost its bottom bar): the engineer reads it here."""
    screen = kiosk.window.screen().geometry()
    line = next(line for line in kiosk.staff_status() if line.startswith("屏幕 screen"))
    assert f"{screen.width()}×{screen.height()}" in line
    small = min(screen.width(), screen.height()) < 1080 or max(screen.width(), screen.height()) < 1920
    assert ("⚠" in line) == small
