"""Attract: how to insert the card, the latest broadcast headlines."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QVBoxLayout

from kiosk.session import View
from ui.screens.notices import notice_button, stale_line
from ui.texts import text
from ui.theme import GAP_PX
from ui.widgets import Page, Picture, label

HEADLINES = 3


class AttractPage(Page):
    def build(self, view: View) -> None:
        direction = QBoxLayout.Direction.LeftToRight if self.ctx.landscape else QBoxLayout.Direction.TopToBottom
        columns = QBoxLayout(direction)
        columns.setSpacing(GAP_PX * 2)
        how = QVBoxLayout()
        how.setSpacing(GAP_PX)
        title = label(text("attract.title"), "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        how.addStretch(1)
        how.addWidget(title)
        # Portrait: the picture gives up the height of the third row of toggles (大声 and 小声 made it three).
        how.addWidget(Picture("insert-card", 440 if self.ctx.landscape else 300), 0, Qt.AlignmentFlag.AlignHCenter)
        hint = label(text("attract.hint"), "subtitle")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        how.addWidget(hint)
        how.addStretch(1)
        columns.addLayout(how, 1)
        if view.headlines:
            news = QVBoxLayout()
            news.setSpacing(GAP_PX)
            news.addStretch(1)
            news.addWidget(label(text("attract.headlines"), "subtitle"))
            for notice in view.headlines[:HEADLINES]:
                news.addWidget(notice_button(self.ctx, notice, view, compact=True))
            if stale := stale_line(view):
                news.addWidget(stale)
            news.addStretch(1)
            columns.addLayout(news, 1)
        self.box.addLayout(columns, 1)
