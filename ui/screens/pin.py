"""The card PIN: a big 3×4 keypad, digits shown as dots, tries left, a plain warning before the last try."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QPushButton, QVBoxLayout, QWidget

from kiosk.session import PIN_DIGITS, View
from ui.texts import text
from ui.theme import GAP_PX
from ui.widgets import Page, button, label, tap

KEY_PX = 140  # far bigger than the 96 px minimum: shaky fingers


class PinPage(Page):
    def build(self, view: View) -> None:
        direction = QBoxLayout.Direction.LeftToRight if self.ctx.landscape else QBoxLayout.Direction.TopToBottom
        columns = QBoxLayout(direction)
        columns.setSpacing(GAP_PX * 2)
        words = QVBoxLayout()
        words.setSpacing(GAP_PX)
        words.addStretch(1)
        self.heading, self.hint, self.dots = label("", "title"), label("", "subtitle"), label("", "dots")
        for line in (self.heading, self.hint, self.dots):
            line.setAlignment(Qt.AlignmentFlag.AlignCenter)
            words.addWidget(line)
        words.addStretch(1)
        columns.addLayout(words, 1)
        keypad = QWidget()
        grid = QGridLayout(keypad)
        grid.setSpacing(GAP_PX)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", "⌫"]
        self.keys: list[QPushButton] = []
        for position, key in enumerate(keys):
            if not key:
                continue
            if key == "⌫":
                widget = self.delete = button(text("pin.delete"), tap(self.ctx, "pin_delete"))
            else:
                widget = button(key, tap(self.ctx, "pin_digit", key), "key")
            widget.setFixedSize(round(KEY_PX * 1.6), KEY_PX)
            grid.addWidget(widget, position // 3, position % 3)
            self.keys.append(widget)
        columns.addWidget(keypad, 0, Qt.AlignmentFlag.AlignCenter)
        self.box.addLayout(columns, 1)
        self.fill(view)

    def fill(self, view: View) -> bool:
        """A digit typed, a wrong PIN, the check running: the same page with new words (a key press answers at
        once, instead of a new page of twelve keys)."""
        if view.pin_checking:
            title = text("pin.checking_title")
        elif view.pin_wrong and view.tries_left == 1:
            title = text("pin.last_try_title")
        elif view.pin_wrong:
            title = text("pin.wrong_title")
        else:
            title = text("pin.title")
        self.heading.setText(title)
        self.hint.setText(text("pin.tries", tries=view.tries_left) if view.tries_left is not None else text("pin.hint"))
        self.dots.setText("●" * view.pin_length + "○" * (PIN_DIGITS - view.pin_length))
        self.dots.setAccessibleName(f"{view.pin_length}/{PIN_DIGITS}")
        self.delete.setText(text("pin.delete"))  # in the citizen's language
        for key in self.keys:
            key.setEnabled(not view.pin_checking)
        self.view = view
        return True

    def leave(self) -> None:
        self.fill(View(screen=self.view.screen, prefs=self.view.prefs))  # no count of the digits typed stays
