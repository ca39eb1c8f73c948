"""One notice in full: text, deadline, read aloud, QR to the phone, and the citizen's feedback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from kiosk.session import Touch, View
from ui.screens.notices import wrappable
from ui.texts import show_date, text
from ui.theme import GAP_PX
from ui.widgets import Page, QrCode, button, label, tap

QR_PX = 260  # scans from a phone held at arm's length


class DetailPage(Page):
    def build(self, view: View) -> None:
        notice = view.detail
        if notice is None:
            return
        heading = QHBoxLayout()
        heading.setSpacing(GAP_PX)
        heading.addWidget(label(text(f"category.{notice.category}"), "muted", wrap=False))
        if badge := text(f"priority.{notice.priority}"):
            heading.addWidget(label(badge, "badge", wrap=False))
        deadline = None
        if notice.deadline:
            deadline = label(text("detail.deadline", date=show_date(notice.deadline, view.prefs.language)))
            if self.ctx.landscape:  # on the same line: the height goes to the text
                heading.addWidget(deadline, 1)
        heading.addStretch(1)
        self.box.addLayout(heading)
        if deadline is not None and not self.ctx.landscape:
            self.box.addWidget(deadline)

        body_and_side = QBoxLayout(
            QBoxLayout.Direction.LeftToRight if self.ctx.landscape else QBoxLayout.Direction.TopToBottom
        )
        body_and_side.setSpacing(GAP_PX * 2)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pages turn by tapping
        # The title pages with the text: a long one at large text would leave no room for either.
        words = QWidget()
        column = QVBoxLayout(words)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(GAP_PX)
        column.addWidget(label(wrappable(notice.title), "title"))
        body = label(wrappable(notice.body))
        body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        column.addWidget(body, 1)
        self.scroll.setWidget(words)
        body_and_side.addWidget(self.scroll, 1)

        if notice.action_url:
            # Landscape: the QR beside the text, its caption under it; portrait: under the text, caption beside.
            side = QBoxLayout(
                QBoxLayout.Direction.TopToBottom if self.ctx.landscape else QBoxLayout.Direction.LeftToRight
            )
            side.setSpacing(GAP_PX)
            side.addWidget(QrCode(notice.action_url, QR_PX), 0, Qt.AlignmentFlag.AlignCenter)
            caption = label(text("detail.qr"), "muted")
            caption.setFixedWidth(QR_PX + 120)
            side.addWidget(caption, 0, Qt.AlignmentFlag.AlignCenter)
            side.addStretch(1)
            body_and_side.addLayout(side)
        self.box.addLayout(body_and_side, 1)

        pages = QHBoxLayout()
        pages.setSpacing(GAP_PX)
        self.page_up = button(text("detail.page_up"), lambda: self.turn(-1))
        self.page_down = button(text("detail.page_down"), lambda: self.turn(1))
        pages.addWidget(self.page_up)
        pages.addWidget(self.page_down)
        pages.addStretch(1)
        pages.addWidget(button(text("detail.read_aloud"), tap(self.ctx, "read_aloud")))
        self.box.addLayout(pages)

        self._update_page_buttons()

    def actions(self, view: View) -> list[QPushButton]:
        if not view.in_session:
            return [button(text("detail.back"), tap(self.ctx, "back"), "primary")]
        return [
            button(text("detail.back"), tap(self.ctx, "back")),
            button(text("detail.remind_later"), tap(self.ctx, "remind_later")),
            button(text("detail.mute_category"), tap(self.ctx, "mute_category")),
            button(text("detail.mark_read"), tap(self.ctx, "mark_read"), "primary"),
        ]

    def turn(self, direction: int) -> None:
        self.ctx.post(Touch("page"))  # reading on: not idle
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.value() + direction * max(1, self.scroll.viewport().height() - 40))
        self._update_page_buttons()

    def _update_page_buttons(self) -> None:
        bar = self.scroll.verticalScrollBar()
        self.page_up.setVisible(bar.maximum() > 0)
        self.page_down.setVisible(bar.maximum() > 0)
        self.page_up.setEnabled(bar.value() > 0)
        self.page_down.setEnabled(bar.value() < bar.maximum())

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if hasattr(self, "scroll"):
            self._update_page_buttons()
