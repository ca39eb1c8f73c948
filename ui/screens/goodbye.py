"""Goodbye: take the card back; a one-tap rating with three faces."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QToolButton

from kiosk.session import View
from ui.texts import text
from ui.theme import GAP_PX
from ui.widgets import Context, Page, Picture, label, picture_pixmap, tap

FACE_PX = 120


def face(ctx: Context, rating: str) -> QToolButton:
    """A face with its word under it: one big touch target."""
    widget = QToolButton()
    widget.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
    widget.setIcon(QIcon(picture_pixmap(f"rating-{rating}", FACE_PX)))
    widget.setIconSize(QSize(FACE_PX, FACE_PX))
    widget.setText(text(f"goodbye.{rating}"))
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    widget.clicked.connect(tap(ctx, "rating", rating))
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
