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
        title = label(text("reading.title"), "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.box.addWidget(title)
        self.box.addStretch(1)
