"""Typing on Qt Virtual Keyboard as a finger does: find the key on the wizard's keyboard and touch it.

Used by the wizard test (tests/wizard_by_touch.py); the keyboard is a widget of the wizard's window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPointingDevice
from PySide6.QtQuick import QQuickItem
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ui.keyboard import OnScreenKeyboard

SHIFT = int(Qt.Key.Key_Shift.value)
LAYOUT_KEYS = ("&123", "?123", "ABC", "abc", "1/2", "2/2")  # switch letters ⇄ symbols, symbol pages


TOUCHSCREEN: list[QPointingDevice] = []


def keyboard() -> OnScreenKeyboard | None:
    for widget in QApplication.allWidgets():
        if isinstance(widget, OnScreenKeyboard) and widget.isVisible():
            return widget
    return None


def _keys(item: QQuickItem, found: list[QQuickItem]) -> list[QQuickItem]:
    for child in item.childItems():
        # Ask only items that have a "key": PySide's property() on a missing one drops a reference to None,
        # and thousands of those abort the interpreter (none_dealloc).
        is_key = child.metaObject().indexOfProperty("key") >= 0
        if is_key and child.isVisible() and child.width() > 0:
            found.append(child)
        _keys(child, found)
    return found


def visible_keys() -> list[QQuickItem]:
    widget = keyboard()
    return _keys(widget.quickWindow().contentItem(), []) if widget else []


def tap_key(item: QQuickItem) -> None:
    """A finger on the touch screen, down and up on the key's centre (the keyboard's scene fills its widget)."""
    widget = keyboard()
    assert widget is not None, "the keyboard is not showing"
    if not TOUCHSCREEN:
        TOUCHSCREEN.append(QTest.createTouchDevice())
    centre = item.mapToScene(item.boundingRect().center())
    point = QPoint(round(centre.x()), round(centre.y()))
    QTest.touchEvent(widget, TOUCHSCREEN[0]).press(0, point, widget).commit()
    QTest.qWait(20)
    QTest.touchEvent(widget, TOUCHSCREEN[0]).release(0, point, widget).commit()
    QTest.qWait(60)


def key_named(words: str) -> QQuickItem | None:
    for item in visible_keys():
        if words in (item.property("text"), item.property("displayText")):
            return item
    return None


def key_words() -> list[str]:
    return [str(item.property("text")) for item in visible_keys()]


def type_text(text: str) -> None:
    """Tap each character's key, with shift for a capital and the symbol pages as a person would."""
    for ch in text:
        target = ch.lower()
        for attempt in range(8):
            key = key_named(target)
            if key is not None and (ch != " " or key.property("key") == int(Qt.Key.Key_Space.value)):
                if ch.isupper():
                    tap_key(next(k for k in visible_keys() if k.property("key") == SHIFT))  # one letter, then off
                    key = key_named(target)
                tap_key(key)
                break
            switches = [key for words in LAYOUT_KEYS if (key := key_named(words)) is not None]
            if not switches:
                raise AssertionError(f"no key for {ch!r} on the keyboard")
            before = key_words()
            tap_key(switches[attempt % len(switches)])
            # The next page is drawn when QML gets to it: on a busy machine later than the tap's 60 ms.
            for _ in range(50):
                if key_words() != before:
                    break
                QTest.qWait(20)
        else:
            raise AssertionError(f"no key for {ch!r} on the keyboard (its keys: {' '.join(key_words())})")


def hide_keyboard() -> None:
    """The keyboard's own ⌨ key, as a person does to see what the keyboard covers."""
    tap_key(next(k for k in visible_keys() if k.metaObject().className().startswith("HideKeyboardKey")))
    QTest.qWait(400)  # it slides away
