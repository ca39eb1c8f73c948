"""Attract: how to insert the card, the latest broadcast headlines."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QVBoxLayout, QWidget

from kiosk.session import View
from ui.screens.notices import NoticeCard, show_cards, show_stale
from ui.texts import text
from ui.theme import GAP_PX
from ui.widgets import Page, Picture, label

HEADLINES = 3


class AttractPage(Page):
    """Built once; new headlines (each sync) are filled into the cards it has: rebuilding the page took the GUI
    thread's longest turn of a first sync on a slow terminal (13 ms of processor in a 50 ms stall)."""

    def build(self, view: View) -> None:
        direction = QBoxLayout.Direction.LeftToRight if self.ctx.landscape else QBoxLayout.Direction.TopToBottom
        columns = QBoxLayout(direction)
        columns.setSpacing(GAP_PX * 2)
        how = QVBoxLayout()
        how.setSpacing(GAP_PX)
        self.title = label("", "title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        how.addStretch(1)
        how.addWidget(self.title)
        # Portrait: the picture gives up the height of the third row of toggles (大声 and 小声 made it three).
        how.addWidget(Picture("insert-card", 440 if self.ctx.landscape else 300), 0, Qt.AlignmentFlag.AlignHCenter)
        self.hint = label("", "subtitle")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        how.addWidget(self.hint)
        how.addStretch(1)
        columns.addLayout(how, 1)
        self.news = QWidget()  # hidden with no headlines: the how-to then has the whole width
        news = QVBoxLayout(self.news)
        news.setContentsMargins(0, 0, 0, 0)
        news.setSpacing(GAP_PX)
        news.addStretch(1)
        self.headlines_title = label("", "subtitle")
        news.addWidget(self.headlines_title)
        self.cards = [NoticeCard(self.ctx, compact=True) for _ in range(HEADLINES)]
        for card in self.cards:
            news.addWidget(card)
        self.stale = label("", "muted")
        news.addWidget(self.stale)
        news.addStretch(1)
        columns.addWidget(self.news, 1)
        self.box.addLayout(columns, 1)
        self.fill(view)

    def fill(self, view: View) -> bool:
        self.title.setText(text("attract.title"))
        self.hint.setText(text("attract.hint"))
        self.headlines_title.setText(text("attract.headlines"))
        show_cards(self.cards, view.headlines[:HEADLINES], view)
        show_stale(self.stale, view)
        self.news.setVisible(bool(view.headlines))
        self.view = view
        return True
