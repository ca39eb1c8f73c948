"""Reading: the card is being read; it must stay in."""

from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.session import View
from ui.texts import text
from ui.widgets import Page, Picture, label


class ReadingPage(Page):
    def build(self, view: View) -> None:
        self.box.addStretch(1)
        self.box.addWidget(Picture("insert-card", 320), 0, Qt.AlignmentFlag.AlignHCenter)
        self.title = label(text("reading.title"), "title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addStretch(1)

    def fill(self, view: View) -> bool:
        self.title.setText(text("reading.title"))  # in the citizen's language
        self.view = view
        return True
