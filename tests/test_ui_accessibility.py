"""Every citizen screen × theme × text scale × orientation, measured on the rendered window (DESIGN §9).

Fails on a touch target under 96 × 96 px or closer than 16 px to another, text under the
scale's minimum size, a text colour under its theme's contrast ratio against the pixels
actually behind it, text cut off, or anything outside the screen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QApplication, QLabel, QWidget

from kiosk.session import Screen, View
from ui.screenshots import SIZES, scenes
from ui.theme import BODY_PX, DEFAULT, HIGH_CONTRAST, SCALES, SMALL_PX, TOUCH_PX, contrast, text_pairs
from ui.widgets import TapCard
from ui.window import KioskWindow

MIN_GAP_PX = 16
SCENES = list(scenes())


def visible(window: QWidget, kind: type) -> list:
    return [w for w in window.findChildren(kind) if w.isVisibleTo(window) and w.window() is window]


def rect_in(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def in_scroll_area(widget: QWidget) -> bool:
    """Text inside the detail's scroll area is reached with the page buttons, so it may run past the view."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def gap(a: QRect, b: QRect) -> int:
    dx = max(b.left() - a.right() - 1, a.left() - b.right() - 1, 0)
    dy = max(b.top() - a.bottom() - 1, a.top() - b.bottom() - 1, 0)
    return max(dx, dy)


def hex_colour(colour: object) -> str:
    return colour.name()  # type: ignore[attr-defined]


def background_behind(image: QImage, area: QRect) -> str:
    """The commonest pixel colour in the label's area: what the text is read against."""
    counts: Counter[str] = Counter()
    step = max(1, min(area.width(), area.height()) // 12)
    for x in range(area.left(), area.right(), step):
        for y in range(area.top(), area.bottom(), step):
            counts[image.pixelColor(x, y).name()] += 1
    return counts.most_common(1)[0][0]


def check(window: KioskWindow, view: View, scale: float) -> list[str]:
    problems: list[str] = []
    screen = window.rect()
    image = window.grab().toImage()
    theme = HIGH_CONTRAST if view.prefs.high_contrast else DEFAULT
    buttons = visible(window, QAbstractButton) + visible(window, TapCard)
    assert buttons, "every screen has at least repeat and help"

    def name_of(widget: QWidget) -> str:
        return widget.text() if isinstance(widget, QAbstractButton) else "notice card"

    for button in buttons:
        area = rect_in(window, button)
        name = name_of(button) or "picture button"
        if area.width() < TOUCH_PX or area.height() < TOUCH_PX:
            problems.append(f"button {name!r} is {area.width()}×{area.height()} px")
        if not screen.contains(area):
            problems.append(f"button {name!r} is off the screen at {area}")
        if isinstance(button, QAbstractButton) and button.text() and button.width() < button.sizeHint().width() - 1:
            problems.append(f"button {name!r} cuts its text")
    overlay = window.overlay if window.overlay.isVisible() else None

    def under_overlay(widget: QWidget) -> bool:
        """Hidden by the idle warning (which is not under itself): not meant to be read until "continue"."""
        if overlay is None or overlay.isAncestorOf(widget):
            return False
        return rect_in(window, widget).intersects(rect_in(window, overlay))

    buttons = [b for b in buttons if not under_overlay(b)]
    for first, second in ((a, b) for i, a in enumerate(buttons) for b in buttons[i + 1 :]):
        if first.isAncestorOf(second) or second.isAncestorOf(first):
            continue
        a, b = rect_in(window, first), rect_in(window, second)
        if not a.intersects(b) and gap(a, b) < MIN_GAP_PX:
            problems.append(f"buttons {name_of(first)!r} and {name_of(second)!r} are {gap(a, b)} px apart")
    minimum_px = round(min(BODY_PX, SMALL_PX) * scale)
    for label in visible(window, QLabel):
        if not label.text() or under_overlay(label):
            continue
        area = rect_in(window, label)
        words = label.text()[:20]
        size = label.font().pixelSize()
        if size < minimum_px:
            problems.append(f"text {words!r} is {size} px, under {minimum_px}")
        if in_scroll_area(label):
            continue
        if not screen.contains(area):
            problems.append(f"text {words!r} is off the screen at {area}")
        needed = label.heightForWidth(label.width()) if label.wordWrap() else label.sizeHint().height()
        if label.height() < needed - 1 or (not label.wordWrap() and label.width() < label.sizeHint().width() - 1):
            problems.append(f"text {words!r} is cut off ({label.width()}×{label.height()} for {needed})")
        ink = hex_colour(label.palette().color(QPalette.ColorRole.WindowText))
        behind = background_behind(image, area)
        ratio = contrast(ink, behind)
        if ratio < theme.minimum_contrast:
            problems.append(f"text {words!r}: {ink} on {behind} is {ratio:.2f}:1")
    return problems


def test_the_themes_meet_their_contrast_ratios() -> None:
    for theme in (DEFAULT, HIGH_CONTRAST):
        for what, ink, paper in text_pairs(theme):
            assert contrast(ink, paper) >= theme.minimum_contrast, f"{theme.name}: {what}"
    assert HIGH_CONTRAST.minimum_contrast == 7.0 and DEFAULT.minimum_contrast == 4.5


@pytest.mark.parametrize("orientation", list(SIZES))
@pytest.mark.parametrize("high_contrast", [False, True], ids=["default", "high-contrast"])
@pytest.mark.parametrize("scale", SCALES, ids=[f"x{s:g}" for s in SCALES])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_screen_is_usable(qapp: QApplication, orientation: str, high_contrast: bool, scale: float,
                                language: str) -> None:  # fmt: skip
    width, height = SIZES[orientation]
    window = KioskWindow(post=lambda touch: None, hall_scale=scale)
    window.setFixedSize(width, height)
    window.show()
    problems = []
    seen = set()
    try:
        for name, view in SCENES:
            shown = replace(view, prefs=replace(view.prefs, high_contrast=high_contrast, language=language))
            window.render(shown)
            qapp.processEvents()
            seen.add(view.screen)
            problems += [f"{name}: {p}" for p in check(window, shown, scale)]
    finally:
        window.close()
        window.deleteLater()
    assert seen == set(Screen), f"screens never checked: {set(Screen) - seen}"
    assert not problems, "\n".join(problems[:25])
