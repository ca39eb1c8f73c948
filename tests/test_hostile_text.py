"""Hostile notice text is shown as written, as plain text, inside its card and the screen, in no pathological time.

Markup, towers of accents, direction overrides, control characters, an endless word, emoji: each
goes through the notice validator as the backend would send it, then onto the real screens a notice
appears on (attract headlines, the notice list, the detail), landscape and portrait, at ×1 and ×1.5.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QWidget

from kiosk.notices import InvalidNotice, Notice, parse_notice
from kiosk.session import Screen, View
from ui.screens.detail import DetailPage
from ui.screens.notices import wrappable
from ui.screenshots import SIZES
from ui.widgets import TapCard
from ui.window import KioskWindow

CHINA = timezone(timedelta(hours=8))
NOW = datetime(2025, 6, 1, 10, tzinfo=CHINA)
RED = QColor(255, 0, 0)
ZWSP = "\u200b"  # the screens may add it where an endless word has to wrap; it shows nothing
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # Unicode Bidi_Control
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
RENDER_BUDGET_S = 2.0  # construct and paint one screen; a hang or a quadratic layout blows it


# (title, body) as a backend could send them, each within the API's limits (title ≤ 60, body ≤ 2,000).
HOSTILE = {
    "markup": (
        '<b>养老金</b><a href="https://evil.example">点此</a><i>x</i>',
        '<img src="red.png" width="400" height="400"><a href="https://evil.example">领取</a><h1>大</h1>',
    ),
    "script": ("<script>alert('社保')</script>", "<script>location='https://evil.example'</script>" * 30),
    "accents": ("a" + "\u0301" * 59, "社" + "\u0301" * 1999),
    "marks_of_class_0": ("ก" + "\u0e31" * 59, "a" + "\u20dd" * 1999),
    "direction": ("\u202e社保卡到期\u202c \u2067abc\u2069\u061c12\u200f", "\u202eabc 社保 \u2066123\u2069\u061c" * 90),
    "controls": (
        "\x00\x07\x1b[31m红\x7f\x85\t" + "\n" * 20 + "\u2028" * 20 + "标题",
        "\x00\x08\x1b[2J" + "第一行\r\n" * 300 + "\u2029",
    ),
    "endless_word": ("W" * 60, "W" * 2000),
    "longest_title": ("社会保险待遇资格认证" * 6, "请携带身份证到窗口办理。" * 160),  # not hostile: just the limits
    "emoji": ("👴🏻👵🏽🎉❤️1️⃣👨‍👩‍👧‍👦" * 3, "🎉👴🏻❤️" * 390),
}
BEYOND_LIMITS = ("tower_of_10000_accents", "word_of_5000")


def notice_json(title: str, body: str) -> dict:
    return {
        "id": "hostile",
        "version": 1,
        "category": "policy_update",
        "priority": "urgent",
        "title": title,
        "body": body,
        "valid_from": (NOW - timedelta(days=1)).isoformat(),
        "valid_until": (NOW + timedelta(days=30)).isoformat(),
        "deadline": "2025-06-30",
        "action_url": "https://si.12333.gov.cn/certification",  # the QR beside the text leaves it less width
    }


def notices() -> dict[str, Notice]:
    """The hostile notices as the kiosk holds them, and two beyond the validator's limits (given straight
    to the screens: nothing a backend sends can reach them, but the screens must hold all the same)."""
    out = {name: parse_notice(notice_json(title, body)) for name, (title, body) in HOSTILE.items()}
    ordinary = out["markup"]
    out["tower_of_10000_accents"] = replace(ordinary, title="a" + "\u0301" * 10_000, body="a" + "\u0301" * 10_000)
    out["word_of_5000"] = replace(ordinary, title="社保", body="x" * 5000)
    return out


# -- the validator ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text_comes_through_the_validator_as_plain_text(name: str) -> None:
    title, body = HOSTILE[name]
    notice = parse_notice(notice_json(title, body))
    for field, text in (("title", notice.title), ("body", notice.body)):
        assert text.strip(), f"{field}: nothing left to show"
        assert not set(text) & set(BIDI_CONTROLS), f"{field}: a direction control is left"
        controls = {ch for ch in text if unicodedata.category(ch) == "Cc"} - {"\n"}
        assert not controls, f"{field}: control characters {controls} are left"
        marks = 0
        for ch in text:
            marks = marks + 1 if unicodedata.category(ch).startswith("M") else 0
            assert marks <= 2, f"{field}: a tower of {marks} marks on one letter"
    assert not set(notice.title) & set(LINE_BREAKS), "a title is one line of words, however the backend broke it"
    if name == "markup":
        assert notice.title.startswith("<b>") and "<img src=" in notice.body, "markup is shown as written"


def test_text_beyond_the_limits_is_refused_not_cut() -> None:
    with pytest.raises(InvalidNotice, match="title"):
        parse_notice(notice_json("a" + "\u0301" * 10_000, "正文"))
    with pytest.raises(InvalidNotice, match="title"):
        parse_notice(notice_json("x" * 5000, "正文"))
    with pytest.raises(InvalidNotice, match="body"):
        parse_notice(notice_json("标题", "x" * 5000))


def test_a_title_of_nothing_but_controls_is_refused_not_shown_empty() -> None:
    with pytest.raises(InvalidNotice, match="title"):
        parse_notice(notice_json("\u202e\x00\n\u2028\u200f", "正文"))


# -- the screens -----------------------------------------------------------------------------------
def test_only_a_run_longer_than_any_word_may_wrap_anywhere() -> None:
    ordinary = "Your reimbursement and certification: call 12333. 请尽快做养老金资格认证，截止日期见上方。"
    assert wrappable(ordinary) == ordinary, "words and Chinese text wrap where they always did"
    assert wrappable("x" * 21) == ZWSP.join("x" * 21)
    assert wrappable("a" + "\u0301" * 30) == "a" + "\u0301" * 30, "accents stay on their letter"


def rect_in(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def shown(label: QLabel) -> str:
    return label.text().replace(ZWSP, "")


def layout_problems(window: KioskWindow, notice: Notice) -> list[str]:
    """What a citizen would see go wrong: markup, text cut off or off the screen, a card past the screen's edge."""
    problems: list[str] = []
    screen = window.rect()
    labels = [w for w in window.findChildren(QLabel) if w.isVisibleTo(window) and w.window() is window]
    for label in labels:
        area, words, needed = rect_in(window, label), shown(label)[:20], label.minimumSizeHint().width()
        if label.textFormat() != Qt.TextFormat.PlainText:
            problems.append(f"text {words!r} may be read as markup ({label.textFormat()})")
        if label.width() > screen.width():
            problems.append(f"text {words!r} is {label.width()} px wide, wider than the screen")
        if needed > label.width():  # the widest piece it cannot wrap
            problems.append(f"text {words!r} runs past its right edge ({needed} px in {label.width()})")
        scroll = scroll_area_of(label)
        if scroll is not None:  # the detail's text: as long as it likes, never wider than its view
            if label.width() > scroll.viewport().width():
                problems.append(f"text {words!r} is wider than its view ({label.width()} px)")
            continue
        if not screen.contains(area):
            problems.append(f"text {words!r} is off the screen at {area}")
        if label.wordWrap() and label.height() < label.heightForWidth(label.width()) - 1:
            problems.append(f"text {words!r} is cut off at the bottom")
    for card in (w for w in window.findChildren(TapCard) if w.isVisibleTo(window)):
        if not screen.contains(rect_in(window, card)):
            problems.append(f"a notice card is off the screen at {rect_in(window, card)}")
        for label in (w for w in card.findChildren(QLabel) if w.isVisibleTo(card)):  # a word it lacks is hidden
            if not rect_in(window, card).contains(rect_in(window, label)):
                problems.append(f"text {shown(label)[:20]!r} leaves its card")
    texts = {shown(label) for label in labels}
    if notice.title.replace(ZWSP, "") not in texts:
        problems.append("the title is not shown as it is")
    if window.view.screen == Screen.DETAIL and notice.body.replace(ZWSP, "") not in texts:
        problems.append("the text is not shown as it is")
    return problems


def render(qapp: QApplication, window: KioskWindow, view: View) -> float:
    """Seconds to build the screen, lay it out and paint it."""
    started = time.perf_counter()
    window.render(view)
    qapp.processEvents()
    window.grab()
    return time.perf_counter() - started


def page_through(qapp: QApplication, page: DetailPage) -> list[str]:
    """Page down to the end of the text: each tap moves on, the end is reached, the way back is open."""
    bar = page.scroll.verticalScrollBar()
    if bar.maximum() == 0:
        return []
    if not (page.page_down.isVisible() and page.page_down.isEnabled()):
        return ["a text longer than its view but no way to page down"]
    for _ in range(200):
        before = bar.value()
        page.page_down.click()
        qapp.processEvents()
        if bar.value() <= before:
            return [f"page down did not move on (at {before} of {bar.maximum()})"]
        if not page.page_down.isEnabled():
            break
    else:
        return ["200 pages and the text never ends"]
    if bar.value() != bar.maximum() or not page.page_up.isEnabled():
        return [f"paging stopped at {bar.value()} of {bar.maximum()}, or there is no way back"]
    return []


@pytest.mark.parametrize("scale", [1.0, 1.5], ids=["x1", "x1.5"])
@pytest.mark.parametrize("orientation", list(SIZES))
@pytest.mark.parametrize("name", [*HOSTILE, *BEYOND_LIMITS])
def test_hostile_notice_keeps_every_screen_whole(qapp: QApplication, name: str, orientation: str, scale: float) -> None:
    notice = notices()[name]
    window = KioskWindow(post=lambda touch: None, hall_scale=scale)
    window.setFixedSize(*SIZES[orientation])
    window.show()
    problems: list[str] = []
    try:
        for view in (
            View(screen=Screen.ATTRACT, headlines=(notice,)),
            View(screen=Screen.NOTICES, notices=(notice,), in_session=True),
            View(screen=Screen.DETAIL, detail=notice, in_session=True),
        ):
            seconds = render(qapp, window, view)
            if seconds > RENDER_BUDGET_S:
                problems.append(f"{view.screen.value}: {seconds:.1f} s to build and paint")
            problems += [f"{view.screen.value}: {p}" for p in layout_problems(window, notice)]
        page = window.pages.currentWidget()
        assert isinstance(page, DetailPage)
        problems += [f"detail: {p}" for p in page_through(qapp, page)]
    finally:
        window.close()
        window.deleteLater()
    assert not problems, "\n".join(problems[:20])


def test_markup_loads_nothing(qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An <img> in a notice stays words on the screen: the picture it names is never loaded or painted."""
    picture = QImage(400, 400, QImage.Format.Format_RGB32)
    picture.fill(RED)
    assert picture.save(str(tmp_path / "red.png"))
    monkeypatch.chdir(tmp_path)  # where rich text would look for the notice's <img src="red.png">
    notice = notices()["markup"]
    window = KioskWindow(post=lambda touch: None)
    window.setFixedSize(*SIZES["landscape"])
    window.show()
    try:
        render(qapp, window, View(screen=Screen.DETAIL, detail=notice, in_session=True))
        screen = window.grab().toImage()
        red = [
            (x, y)
            for x in range(0, screen.width(), 8)
            for y in range(0, screen.height(), 8)
            if screen.pixelColor(x, y) == RED
        ]
        bodies = [w for w in window.findChildren(QLabel) if shown(w) == notice.body]
    finally:
        window.close()
        window.deleteLater()
    assert not red, f"the <img> was loaded: red at {red[:3]}"
    assert bodies and '<img src="red.png"' in shown(bodies[0]), "the markup is not shown as written"
