"""Goodbye: take the card back; a one-tap rating with three faces."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout

from kiosk.session import View
from ui.texts import text
from ui.theme import GAP_PX
from ui.widgets import Context, Page, Picture, label, tap

FACE_PX = 120


def face(ctx: Context, rating: str) -> QPushButton:
    widget = QPushButton()
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    widget.clicked.connect(tap(ctx, "rating", rating))
    inner = QVBoxLayout(widget)
    inner.setContentsMargins(16, 16, 16, 16)
    inner.addWidget(Picture(f"rating-{rating}", FACE_PX), 0, Qt.AlignmentFlag.AlignHCenter)
    word = label(text(f"goodbye.{rating}"), wrap=False)
    word.setAlignment(Qt.AlignmentFlag.AlignCenter)
    word.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    inner.addWidget(word)
    widget.setMinimumSize(FACE_PX + 120, FACE_PX + 120)
    return widget


class GoodbyePage(Page):
    def build(self, view: View) -> None:
        title = label(text("goodbye.title"), "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.box.addWidget(title)
        self.box.addWidget(Picture("take-card", 400 if self.ctx.landscape else 520), 0, Qt.AlignmentFlag.AlignHCenter)
        self.box.addStretch(1)
        if view.rated:
            thanks = label(text("goodbye.thanks"), "subtitle")
            thanks.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.box.addWidget(thanks)
        else:
            question = label(text("goodbye.rating"), "subtitle")
            question.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.box.addWidget(question)
            faces = QHBoxLayout()
            faces.setSpacing(GAP_PX * 2)
            faces.addStretch(1)
            for rating in ("good", "ok", "bad"):
                faces.addWidget(face(self.ctx, rating))
            faces.addStretch(1)
            self.box.addLayout(faces)
        self.box.addStretch(1)
