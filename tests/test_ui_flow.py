"""The whole kiosk as a citizen meets it: real window, real pcscd with the emulated card, the reference backend."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from kiosk.card import CardFault
from kiosk.config import from_text
from kiosk.hall.server import HallServer
from kiosk.session import Screen
from tests.conftest import kiosk_toml, running_kiosk
from ui.app import KioskApp
from ui.texts import spoken
from ui.widgets import TapCard

SINK = [sys.executable, str(Path(__file__).resolve().parent / "paced_sink.py")]


@pytest.fixture
def kiosk(tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication) -> Iterator[KioskApp]:
    config = from_text(kiosk_toml(backend, tmp_path / "data"), tmp_path / "kiosk.toml")
    with running_kiosk(config, player=SINK) as app:  # a paced stand-in for the sound card this machine lacks
        yield app


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


WORDS = {
    "zh_CN": {"read": "已读", "finish": "办完了，退卡", "happy": "满意"},
    "en": {"read": "Mark as read", "finish": "Done, return my card", "happy": "Happy"},
}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_insert_pin_notices_detail_feedback_goodbye_remove(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer, card_slot: Callable[..., object], language: str
) -> None:
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    words = WORDS[language]
    if language == "en":
        tap_text(qtbot, kiosk, "English")
        qtbot.waitUntil(lambda: kiosk.window.view.prefs.language == "en", timeout=3000)
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
    tap_text(qtbot, kiosk, words["read"])
    qtbot.waitUntil(screen_is(kiosk, Screen.NOTICES), timeout=3000)
    tap_text(qtbot, kiosk, words["finish"])
    qtbot.waitUntil(screen_is(kiosk, Screen.GOODBYE), timeout=3000)
    tap_text(qtbot, kiosk, words["happy"])
    qtbot.waitUntil(lambda: kiosk.window.view.rated, timeout=3000)
    emulator.remove()
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    assert kiosk.window.view.notices == () and kiosk.window.view.prefs.language == "zh_CN", "back to the hall's"
    kiosk.network.sync_now()
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


def shown_words(kiosk: KioskApp) -> list[str]:
    return [line.text() for line in kiosk.window.findChildren(QLabel) if line.isVisible()]


def test_the_pin_screen_shows_each_digit_the_warning_and_starts_clean_for_the_next_card(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    emulator = card_slot("wang-ming", tries_left=2)
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    assert "○○○○○○" in shown_words(kiosk) and "请输入社保卡密码" in shown_words(kiosk)
    for digit in "123":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: "●●●○○○" in shown_words(kiosk), timeout=3000)
    for digit in "000":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: "再输错一次，社保卡将被锁定" in shown_words(kiosk), timeout=5000)
    assert "还可以试1次" in shown_words(kiosk) and "○○○○○○" in shown_words(kiosk)
    emulator.remove()  # type: ignore[attr-defined]
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    tap_text(qtbot, kiosk, "4")
    qtbot.waitUntil(lambda: "●○○○○○" in shown_words(kiosk), timeout=3000)
    assert "请输入社保卡密码" in shown_words(kiosk) and "再输错一次，社保卡将被锁定" not in shown_words(kiosk)


def test_a_foreign_card_gets_its_calm_screen(qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming", faults=["foreign_card"])
    qtbot.waitUntil(screen_is(kiosk, Screen.CARD_PROBLEM), timeout=5000)
    assert kiosk.window.view.card_fault is CardFault.NOT_SOCIAL_SECURITY_CARD


def test_backend_down_still_shows_broadcast_notices(
    qtbot: QtBot, kiosk: KioskApp, backend: HallServer, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=5000)  # the first sync came in
    from kiosk.hall.api import fail_with

    backend.faults["/notices/personal"] = fail_with(503)
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: kiosk.window.view.personal_unavailable, timeout=5000)
    assert kiosk.window.view.notices and not any(n.personal for n in kiosk.window.view.notices)


def test_the_more_button_says_how_many_are_left_as_the_list_shrinks(qapp: QApplication) -> None:
    """The bar's buttons are kept and their words put in place: the count must follow the list."""
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    listed = dict(scenes())["05-notices"]
    window = KioskWindow(post=lambda touch: None)
    window.setFixedSize(1920, 1080)
    window.show()
    try:
        for extra in (3, 2, 1):
            view = replace(listed, notices=listed.notices + listed.notices[:extra])
            window.render(view)
            qapp.processEvents()
            shown = [b.text() for b in window.findChildren(QPushButton) if b.isVisible()]
            assert f"还有{view.more_count}条消息" in shown, shown
    finally:
        window.close()


def test_the_qr_code_on_the_detail_screen_scans_to_the_notice_url(qapp: QApplication, tmp_path: Path) -> None:
    """Decoded by zbar, as a phone would: the painted matrix, not the library's idea of it. The detail page is
    kept and filled with each notice opened: the second notice shows its own code, one without a URL none, and
    once the visit is over the kept page holds nothing of it."""
    import shutil
    import subprocess

    from PySide6.QtWidgets import QLabel

    from kiosk.notices import QR_URL_BYTES
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbar-tools is part of the test set-up (./bootstrap installs it)"
    view = dict(scenes())["07-detail-qr"]
    with_url = [n for n in view.notices if n.action_url]
    without_url = next(n for n in view.notices if not n.action_url)
    assert len({n.action_url for n in with_url}) > 1
    window = KioskWindow(post=lambda touch: None)
    window.setFixedSize(1920, 1080)
    window.show()

    def scanned(notice: object) -> str:
        window.render(replace(view, detail=notice))
        window.qr_codes.settle()  # made on the QR worker, painted once it is back
        qapp.processEvents()
        shot = tmp_path / "detail.png"
        window.grab().save(str(shot))
        done = subprocess.run([zbarimg, "--raw", "-q", str(shot)], capture_output=True, text=True, timeout=30)
        return done.stdout.strip()

    try:
        longest = replace(with_url[1], action_url="https://si.example.cn/" + "a" * 178)
        assert len(longest.action_url.encode()) == QR_URL_BYTES
        for notice in (with_url[0], with_url[1], without_url, longest, with_url[0]):
            assert scanned(notice) == (notice.action_url or "")
        page = window.pages.currentWidget()
        window.render(dict(scenes())["01-attract"])
        qapp.processEvents()
        left = [label.text() for label in page.findChildren(QLabel) if label.text()]
        assert not any(with_url[0].title in words or with_url[0].body[:20] in words for words in left)
        assert page.qr.modules.isNull() and not window.qr_codes.made
    finally:
        window.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_every_screen_shows_its_own_buttons_and_only_the_attract_screen_its_toggles(
    qapp: QApplication, size: tuple[int, int]
) -> None:
    """The way on from each screen (查看我的消息 on an expired card, 已读 on a notice) is on the glass; the
    large-text, contrast, voice and language toggles only on the attract screen, where a visit starts."""
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    window = KioskWindow(post=lambda touch: None)
    window.setFixedSize(*size)
    window.show()
    missing = []
    try:
        for name, view in scenes():
            window.render(view)
            qapp.processEvents()
            shown = {b.text() for b in window.findChildren(QAbstractButton) if b.isVisible()}
            wanted = {a.words for a in window.pages.currentWidget().actions(view)}
            missing += [f"{name}: no {words}" for words in wanted - shown]
            if ("大字" in shown) != (view.screen == Screen.ATTRACT):
                missing.append(f"{name}: toggles {'missing' if view.screen == Screen.ATTRACT else 'shown'}")
    finally:
        window.close()
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("after", [Screen.GOODBYE, Screen.NO_SERVICE, Screen.NO_READER, Screen.READING, Screen.ATTRACT])
def test_the_visits_qr_codes_are_forgotten_however_it_ends(qtbot: QtBot, after: Screen) -> None:
    """A personal notice's URL may name its person: its QR code goes when the list is left, even when the view
    that ends the visit (the card out) is merged with the next (pcscd gone) and never drawn."""
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    view = dict(scenes())["07-detail-qr"]
    window = KioskWindow(post=lambda touch: None)
    window.setFixedSize(1920, 1080)
    window.show()
    try:
        window.bridge.changed.emit(view)
        qtbot.waitUntil(lambda: view.detail.action_url in window.qr_codes.made, timeout=3000)
        window.bridge.changed.emit(replace(view, screen=Screen.ATTRACT, detail=None, notices=()))  # the card out
        window.bridge.changed.emit(replace(view, screen=after, detail=None, notices=()))  # in the same turn
        qtbot.waitUntil(lambda: window.view.screen == after, timeout=3000)
        assert not window.qr_codes.made
    finally:
        window.close()


def test_opening_a_notice_makes_no_qr_code_in_the_kiosks_process(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """qrcode is pure Python, 5-30 ms a code: on the GUI thread, or on a thread holding the GIL it needs, a finger
    on a slow terminal would feel it. The codes still come, from the QR process."""
    import qrcode.main

    from ui.screenshots import scenes
    from ui.window import KioskWindow

    made_here: list[str] = []
    make = qrcode.main.QRCode.make

    def recorded(self: qrcode.main.QRCode, fit: bool = True) -> None:
        made_here.append(threading.current_thread().name)
        make(self, fit)

    monkeypatch.setattr(qrcode.main.QRCode, "make", recorded)
    listed = dict(scenes())["05-notices"]
    with_url = [n for n in listed.shown_notices if n.action_url]
    window = KioskWindow(post=lambda touch: None)
    window.setFixedSize(1920, 1080)
    window.show()
    try:
        window.render(listed)
        qtbot.waitUntil(lambda: len(window.qr_codes.made) == len({n.action_url for n in with_url}), timeout=10000)
        assert all(window.qr_codes.made.values())
        window.qr_codes.forget()  # now the page opens with its code still to make: made in the process too
        window.render(replace(dict(scenes())["07-detail-qr"], detail=with_url[0]))
        page = window.pages.currentWidget()
        qtbot.waitUntil(lambda: not page.qr.modules.isNull(), timeout=10000)
    finally:
        window.close()
    assert made_here == []


def test_while_staff_are_called_every_screen_shows_the_banner_and_none_after(qtbot: QtBot, qapp: QApplication) -> None:
    """The banner across every screen (an old person who asked for help looks for a person, not at the bottom bar):
    what was asked and how long ago, gone when staff have resolved it or the visit ends. Its minutes going by do not
    draw the page again (a long notice would jump back to its top)."""
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    window = KioskWindow(post=lambda touch: None)
    window.resize(1080, 1920)
    window.show()
    try:
        for name, view in scenes():
            window.render(replace(view, help_requested=True, help_coming=False, help_minutes=0))
            qapp.processEvents()
            shown = [w.text() for w in window.help_banner.findChildren(QLabel) if w.isVisibleTo(window)]
            assert window.help_banner.isVisible() and shown == [spoken("help.requested", "zh_CN"), "刚刚已通知"], name
            top = window.help_banner.mapTo(window, window.help_banner.rect().topLeft()).y()
            assert top < window.pages.mapTo(window, window.pages.rect().topLeft()).y(), f"{name}: above the page"
            window.render(replace(view, help_requested=True, help_coming=True, help_minutes=4))
            assert window.help_banner.called.text() == spoken("help.coming", "zh_CN"), name
            assert window.help_banner.when.text() == "4分钟前已通知", name
            window.render(replace(view, help_requested=False, help_coming=False))  # resolved, or the visit over
            qapp.processEvents()
            assert not window.help_banner.isVisible(), f"{name}: gone after"
        detail = dict(scenes())["06-detail"]
        detail = replace(detail, prefs=replace(detail.prefs, large_text=True))  # longer than the screen
        window.render(replace(detail, help_requested=True, help_minutes=1))
        qapp.processEvents()
        page = window.pages.currentWidget()
        page.scroll.verticalScrollBar().setValue(page.scroll.verticalScrollBar().maximum())
        read_to = page.scroll.verticalScrollBar().value()
        window.render(replace(detail, help_requested=True, help_minutes=2))
        qapp.processEvents()
        assert window.pages.currentWidget() is page and page.scroll.verticalScrollBar().value() == read_to > 0
    finally:
        window.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_every_screen_fits_the_halls_screen(qapp: QApplication, size: tuple[int, int]) -> None:
    """No screen, at either text size or contrast, makes the window want more than the glass: a window that grows
    past it puts its bottom row of buttons (办完了, the keyboard's) under the edge of the screen. The kept pages
    count too: a stack is as tall as its tallest page."""
    from ui.screenshots import scenes, variants
    from ui.window import KioskWindow

    window = KioskWindow(post=lambda touch: None)
    window.resize(*size)
    window.show()
    window.build_ahead()
    too_big = []
    try:
        for name, view in scenes():
            for variant, adjust in variants():
                for help_banner in (False, True):  # staff called: the banner takes its height from every screen
                    window.render(adjust(replace(view, help_requested=help_banner, help_minutes=12)))
                    qapp.processEvents()
                    least = window.minimumSize()
                    if least.width() > size[0] or least.height() > size[1] or window.size().toTuple() != size:
                        too_big.append(f"{name} {variant} help={help_banner}: needs {least.toTuple()}, "
                                       f"is {window.size().toTuple()}")  # fmt: skip
    finally:
        window.close()
    assert not too_big, "\n".join(too_big[:40])


def test_a_finger_on_the_glass_works_like_a_click(qtbot: QtBot, qapp: QApplication) -> None:
    """Touch events, not only mouse clicks: the kiosk has a touch screen and no mouse."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPointingDevice
    from PySide6.QtTest import QTest

    from kiosk.session import Touch
    from ui.screenshots import scenes
    from ui.window import KioskWindow

    touches: list[Touch] = []
    window = KioskWindow(post=touches.append)
    window.setFixedSize(1920, 1080)
    window.show()
    window.render(dict(scenes())["05-notices"])
    qtbot.waitExposed(window)
    device = QTest.createTouchDevice(QPointingDevice.DeviceType.TouchScreen)

    def finish_button() -> QAbstractButton | None:
        buttons = window.findChildren(QAbstractButton)
        return next((b for b in buttons if b.isVisible() and b.text() == "办完了，退卡"), None)

    qtbot.waitUntil(lambda: finish_button() is not None, timeout=3000)
    targets = [c for c in window.findChildren(TapCard) if c.isVisible()]
    finish = finish_button()
    for target in (targets[0], finish):
        centre = target.mapTo(window, target.rect().center())
        QTest.touchEvent(window, device).press(0, QPoint(centre)).commit()
        QTest.touchEvent(window, device).release(0, QPoint(centre)).commit()
        qapp.processEvents()
    window.close()
    assert [t.action for t in touches] == ["open_notice", "finish"]


def test_each_screen_speaks_its_prompt_and_the_greeting_uses_the_surname_only(
    qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]
) -> None:
    qtbot.waitUntil(lambda: kiosk.speech is not None and kiosk.speech.state.status == "ready", timeout=5000)
    speech = kiosk.speech
    said: list[str] = []
    real_say = speech.say

    def spy(text: str, *args: object, **kwargs: object) -> None:
        said.append(text)
        real_say(text, *args, **kwargs)  # type: ignore[arg-type]

    speech.say = spy  # type: ignore[method-assign]
    card_slot("wang-ming")
    qtbot.waitUntil(lambda: spoken("pin.prompt", "zh_CN") in said, timeout=5000)
    assert spoken("reading.prompt", "zh_CN") in said
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: screen_is(kiosk, Screen.NOTICES)() and not kiosk.window.view.personal_loading, timeout=5000)
    urgent = kiosk.window.view.notices[0]
    qtbot.waitUntil(lambda: (urgent.speak or urgent.title) in said, timeout=5000)
    assert urgent.bring == ("身份证", "社保卡")
    qtbot.waitUntil(lambda: "请带上：身份证、社保卡" in said, timeout=5000)  # what to take along, said after it
    assert "王先生，您好！" in said, "greeted with the surname and an honorific"
    assert not [t for t in said if "王明" in t or "110105" in t or "A1000" in t], "nothing personal said"
    assert speech.secrets[0] == "110105194803151234", "the guard knows this session's numbers"
    qtbot.waitUntil(lambda: speech.state.spoken >= 1, timeout=5000)  # audio reached the (stand-in) sound card
    assert speech.state.refused == 0


def test_a_hall_with_cantonese_offers_mandarin_and_cantonese_and_the_choice_holds_for_the_visit(
    qtbot: QtBot, tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication,
    card_slot: Callable[..., object],
) -> None:  # fmt: skip
    """[voice] languages = ["zh_CN", "yue"]: 普通话 and 粤语 on the attract screen; a tap says the welcome in Cantonese,
    the visit's prompts follow (the screen stays Simplified Chinese); the next citizen starts in Mandarin."""
    extra = '\n[voice]\nlanguages = ["zh_CN", "yue"]\n'
    config = from_text(kiosk_toml(backend, tmp_path / "data", extra), tmp_path / "kiosk.toml")
    with running_kiosk(config, player=SINK) as kiosk:
        qtbot.waitUntil(lambda: kiosk.speech is not None and kiosk.speech.state.status == "ready", timeout=5000)
        speech = kiosk.speech
        said: list[tuple[str, str]] = []
        real_say = speech.say

        def spy(text: str, language: str = "zh_CN", *args: object, **kwargs: object) -> bool:
            said.append((text, language))
            return real_say(text, language, *args, **kwargs)  # type: ignore[arg-type]

        speech.say = spy  # type: ignore[method-assign]
        heard = speech.state.spoken

        def lit() -> set[str]:
            return {b.text() for b in kiosk.window.findChildren(QPushButton) if b.isVisible() and b.property("chosen")}

        assert lit() == {"普通话"}, "the hall's first voice is the one lit"
        tap_text(qtbot, kiosk, "粤语")
        qtbot.waitUntil(lambda: (spoken("attract.prompt", "yue"), "yue") in said, timeout=3000)
        qtbot.waitUntil(lambda: speech.state.spoken > heard, timeout=5000)  # sit/yue audio reached the sound card
        assert kiosk.window.view.prefs.language == "zh_CN" and kiosk.window.view.prefs.chinese_voice == "yue"
        qtbot.waitUntil(lambda: lit() == {"粤语"}, timeout=2000)  # the chosen voice is lit, the other not
        tap_text(qtbot, kiosk, "普通话")
        qtbot.waitUntil(lambda: said[-1] == (spoken("attract.prompt", "zh_CN"), "zh_CN"), timeout=3000)
        tap_text(qtbot, kiosk, "粤语")
        emulator = card_slot("wang-ming")
        qtbot.waitUntil(lambda: (spoken("pin.prompt", "yue"), "yue") in said, timeout=5000)
        shown = lambda: {w.text() for w in kiosk.window.findChildren(QLabel) if w.isVisible()}  # noqa: E731
        qtbot.waitUntil(lambda: "请输入社保卡密码" in shown(), timeout=3000)  # the screen stays Simplified Chinese
        emulator.remove()
        qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
        assert kiosk.window.view.prefs.chinese_voice == "zh_CN", "the next citizen hears the hall's Mandarin"
        qtbot.waitUntil(lambda: lit() == {"普通话"}, timeout=2000)  # and sees it lit


def test_a_hall_without_cantonese_shows_no_such_toggle(qtbot: QtBot, kiosk: KioskApp) -> None:
    qtbot.waitUntil(screen_is(kiosk, Screen.ATTRACT), timeout=5000)
    qtbot.waitUntil(lambda: any(b.text() == "大字" for b in kiosk.window.findChildren(QAbstractButton)), timeout=3000)
    assert not [b.text() for b in kiosk.window.findChildren(QAbstractButton) if "粤语" in b.text()]
