"""The card PIN: a big 3×4 keypad, digits shown as dots, tries left, a plain warning before the last try."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QVBoxLayout, QWidget

from kiosk.session import PIN_DIGITS, View
from ui.texts import text
from ui.theme import GAP_PX
from ui.widgets import Page, button, label, tap

KEY_PX = 140  # far bigger than the 96 px minimum: shaky fingers


class PinPage(Page):
    def build(self, view: View) -> None:
        if view.pin_checking:
            title = text("pin.checking_title")
        elif view.pin_wrong and view.tries_left == 1:
            title = text("pin.last_try_title")
        elif view.pin_wrong:
            title = text("pin.wrong_title")
        else:
            title = text("pin.title")
        direction = QBoxLayout.Direction.LeftToRight if self.ctx.landscape else QBoxLayout.Direction.TopToBottom
        columns = QBoxLayout(direction)
        columns.setSpacing(GAP_PX * 2)
        words = QVBoxLayout()
        words.setSpacing(GAP_PX)
        words.addStretch(1)
        heading = label(title, "title")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        words.addWidget(heading)
        hint = text("pin.tries", tries=view.tries_left) if view.tries_left is not None else text("pin.hint")
        sub = label(hint, "subtitle")
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        words.addWidget(sub)
        dots = label("●" * view.pin_length + "○" * (PIN_DIGITS - view.pin_length), "dots")
        dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dots.setAccessibleName(f"{view.pin_length}/{PIN_DIGITS}")
        words.addWidget(dots)
        words.addStretch(1)
        columns.addLayout(words, 1)
        keypad = QWidget()
        grid = QGridLayout(keypad)
        grid.setSpacing(GAP_PX)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", "⌫"]
        for position, key in enumerate(keys):
            if not key:
                continue
            if key == "⌫":
                widget = button(text("pin.delete"), tap(self.ctx, "pin_delete"))
            else:
                widget = button(key, tap(self.ctx, "pin_digit", key), "key")
            widget.setFixedSize(round(KEY_PX * 1.6), KEY_PX)
            widget.setEnabled(not view.pin_checking)
            grid.addWidget(widget, position // 3, position % 3)
        columns.addWidget(keypad, 0, Qt.AlignmentFlag.AlignCenter)
        self.box.addLayout(columns, 1)
