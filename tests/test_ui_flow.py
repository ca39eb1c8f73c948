"""The whole kiosk as a citizen meets it: real window, real pcscd with the emulated card, the reference backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication
from pytestqt.qtbot import QtBot

from kiosk.card import CardFault
from kiosk.cli import demo_kiosk_config
from kiosk.config import from_text
from kiosk.demo_backend import DemoBackend
from kiosk.session import Screen
from tests.conftest import READER
from ui.app import KioskApp
from ui.widgets import TapCard


@pytest.fixture
def kiosk(tmp_path: Path, backend: DemoBackend, pcscd: None, qapp: QApplication) -> Iterator[KioskApp]:
    text = demo_kiosk_config(backend.url, backend.tls.ca_file, backend.token_file, tmp_path / "data")
    config = from_text(text + f'\n[reader]\nname_filter = "{READER}"\n', tmp_path / "kiosk.toml")
    app = KioskApp(config)
    app.window.resize(1920, 1080)
    app.window.show()
    app.start()
    yield app
    app.stop()
    app.window.close()


def screen_is(kiosk: KioskApp, screen: Screen) -> Callable[[], bool]:
    return lambda: kiosk.window.view.screen == screen


def tap_text(qtbot: QtBot, kiosk: KioskApp, words: str) -> None:
    """Tap the visible button that says `words`, as a finger would (a press and release on it)."""

    def find() -> QAbstractButton | None:
        buttons = kiosk.window.findChildren(QAbstractButton)
        return next((b for b in buttons if b.isVisible() and b.text() == words), None)

    qtbot.waitUntil(lambda: find() is not None, timeout=3000)  # new widgets show on the next event loop turn
    qtbot.mouseClick(find(), Qt.MouseButton.LeftButton)


def tap_first_notice(qtbot: QtBot, kiosk: KioskApp) -> None:
    def cards() -> list[TapCard]:
        return [c for c in kiosk.window.findChildren(TapCard) if c.isVisible()]

    qtbot.waitUntil(lambda: bool(cards()), timeout=3000)
    qtbot.mouseClick(cards()[0], Qt.MouseButton.LeftButton)


def test_insert_pin_notices_detail_feedback_goodbye_remove(
    qtbot: QtBot, kiosk: KioskApp, backend: DemoBackend, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    emulator = card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: screen_is(kiosk, Screen.NOTICES)() and not kiosk.window.view.personal_loading, timeout=5000)
    view = kiosk.window.view
    assert view.greeting == ("王", "male") and view.notices[0].priority == "urgent"
    tap_first_notice(qtbot, kiosk)
    qtbot.waitUntil(screen_is(kiosk, Screen.DETAIL), timeout=3000)
    urgent = kiosk.window.view.detail
    tap_text(qtbot, kiosk, "已读")
    qtbot.waitUntil(screen_is(kiosk, Screen.NOTICES), timeout=3000)
    tap_text(qtbot, kiosk, "办完了，退卡")
    qtbot.waitUntil(screen_is(kiosk, Screen.GOODBYE), timeout=3000)
    tap_text(qtbot, kiosk, "满意")
    qtbot.waitUntil(lambda: kiosk.window.view.rated, timeout=3000)
    emulator.remove()
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    assert kiosk.window.view.notices == ()
    kiosk.sync.kick()
    qtbot.waitUntil(lambda: len(backend.receipts()) == 2, timeout=10000)
    receipts = {(r[1], r[3], r[4]) for r in backend.receipts()}
    assert (urgent.id, "read", None) in receipts and (None, "rating", "good") in receipts


def test_wrong_pin_then_blocked(qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming", tries_left=2)
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "000000":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: kiosk.window.view.tries_left == 1, timeout=5000)
    assert kiosk.window.view.pin_wrong
    for digit in "999999":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN_BLOCKED), timeout=5000)


def test_a_foreign_card_gets_its_calm_screen(qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming", faults=["foreign_card"])
    qtbot.waitUntil(screen_is(kiosk, Screen.CARD_PROBLEM), timeout=5000)
    assert kiosk.window.view.card_fault is CardFault.NOT_SOCIAL_SECURITY_CARD


def test_backend_down_still_shows_broadcast_notices(
    qtbot: QtBot, kiosk: KioskApp, backend: DemoBackend, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=5000)  # the first sync came in
    from kiosk.demo_backend import fail_with

    backend.faults["/notices/personal"] = fail_with(503)
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: kiosk.window.view.personal_unavailable, timeout=5000)
    assert kiosk.window.view.notices and not any(n.personal for n in kiosk.window.view.notices)
