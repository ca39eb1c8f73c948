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
        self.title = label("", "title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(Picture("take-card", 400 if self.ctx.landscape else 520), 0, Qt.AlignmentFlag.AlignHCenter)
        self.box.addStretch(1)
        self.thanks, self.question = label("", "subtitle"), label("", "subtitle")
        for line in (self.thanks, self.question):
            line.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.box.addWidget(line)
        faces = QHBoxLayout()
        faces.setSpacing(GAP_PX * 2)
        faces.addStretch(1)
        self.faces = {rating: face(self.ctx, rating) for rating in ("good", "ok", "bad")}
        for widget in self.faces.values():
            faces.addWidget(widget)
        faces.addStretch(1)
        self.box.addLayout(faces)
        self.box.addStretch(1)
        self.fill(view)

    def fill(self, view: View) -> bool:
        """Asked, then thanked: the same page (it was built three times a goodbye)."""
        self.title.setText(text("goodbye.title"))
        self.thanks.setText(text("goodbye.thanks"))
        self.question.setText(text("goodbye.rating"))
        self.thanks.setVisible(view.rated)
        self.question.setVisible(not view.rated)
        for rating, widget in self.faces.items():
            widget.setText(text(f"goodbye.{rating}"))
            widget.setVisible(not view.rated)
        self.view = view
        return True
