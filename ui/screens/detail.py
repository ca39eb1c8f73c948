"""One notice in full: text, deadline, read aloud, QR to the phone, and the citizen's feedback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.session import Touch, View
from ui.screens.notices import wrappable
from ui.texts import show_date, text
from ui.theme import GAP_PX
from ui.widgets import Action, Page, QrCode, button, label, tap

QR_PX = 260  # scans from a phone held at arm's length


class DetailPage(Page):
    """Kept between visits and filled with each notice opened: the widgets are made once (a new page cost the GUI
    thread 10-25 ms, the longest turn of a session)."""

    def build(self, view: View) -> None:
        heading = QHBoxLayout()
        heading.setSpacing(GAP_PX)
        self.category = label("", "muted", wrap=False)
        heading.addWidget(self.category)
        self.badge = label("", "badge", wrap=False)
        heading.addWidget(self.badge)
        self.deadline = label("")
        if self.ctx.landscape:  # on the same line: the height goes to the text
            heading.addWidget(self.deadline, 1)
        heading.addStretch(1)
        self.box.addLayout(heading)
        if not self.ctx.landscape:
            self.box.addWidget(self.deadline)

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
        self.title = label("", "title")
        column.addWidget(self.title)
        self.bring = label("", "subtitle")  # what to take to the counter, before the text that explains it
        column.addWidget(self.bring)
        self.body = label("")
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.body, 1)
        self.scroll.setWidget(words)
        body_and_side.addWidget(self.scroll, 1)

        # Landscape: the QR beside the text, its caption under it; portrait: under the text, caption beside.
        self.side = QWidget()
        side = QBoxLayout(
            QBoxLayout.Direction.TopToBottom if self.ctx.landscape else QBoxLayout.Direction.LeftToRight, self.side
        )
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(GAP_PX)
        self.qr = QrCode(QR_PX)
        self.ctx.qr_codes.ready.connect(self._qr_made)
        side.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignCenter)
        self.caption = label("", "muted")
        self.caption.setFixedWidth(QR_PX + 120)
        side.addWidget(self.caption, 0, Qt.AlignmentFlag.AlignCenter)
        side.addStretch(1)
        body_and_side.addWidget(self.side)
        self.box.addLayout(body_and_side, 1)

        pages = QHBoxLayout()
        pages.setSpacing(GAP_PX)
        self.page_up = button("", lambda: self.turn(-1))
        self.page_down = button("", lambda: self.turn(1))
        pages.addWidget(self.page_up)
        pages.addWidget(self.page_down)
        pages.addStretch(1)
        self.print = button("", tap(self.ctx, "print"))  # take it home on paper, when the hall has a printer
        self.print.hide()
        pages.addWidget(self.print)
        self.read_aloud = button("", tap(self.ctx, "read_aloud"))
        pages.addWidget(self.read_aloud)
        # While the printer cannot print: one calm line on why, above the buttons, instead of 打印.
        self.printer_down = label("", "muted")
        self.printer_down.hide()  # until the window says the printer's state (show_printer)
        self.box.addWidget(self.printer_down)
        self.box.addLayout(pages)
        # The text's length is known once it is laid out: the page buttons follow it.
        self.scroll.verticalScrollBar().rangeChanged.connect(self._update_page_buttons)
        self.fill(view)

    def fill(self, view: View) -> bool:
        notice = view.detail
        self.view = view
        if notice is None:  # left: nothing of the citizen's notice stays on the kept page
            for words in (self.category, self.badge, self.deadline, self.title, self.bring, self.body):
                words.clear()
            self.qr.show_matrix([])
            return True
        self.category.setText(text(f"category.{notice.category}"))
        self.badge.setText(text(f"priority.{notice.priority}"))
        self.badge.setVisible(bool(self.badge.text()))
        if notice.deadline:
            self.deadline.setText(text("detail.deadline", date=show_date(notice.deadline, view.prefs.language)))
        self.deadline.setVisible(bool(notice.deadline))
        self.title.setText(wrappable(notice.title))
        self.bring.setText(wrappable(text("detail.bring", things=notice.things_to_bring)) if notice.bring else "")
        self.bring.setVisible(bool(notice.bring))
        self.body.setText(wrappable(notice.body))
        self.scroll.verticalScrollBar().setValue(0)  # a notice opens at its start
        self.qr.show_matrix((self.ctx.qr_codes.matrix(notice.action_url) if notice.action_url else None) or [])
        self.caption.setText(text("detail.qr"))
        self.side.setVisible(bool(notice.action_url))
        self.page_up.setText(text("detail.page_up"))
        self.page_down.setText(text("detail.page_down"))
        self.read_aloud.setText(text("detail.read_aloud"))
        self._update_page_buttons()
        return True

    def show_printer(self, view: View) -> None:
        # Said, and shown in the button for whoever does not hear it (a line would move the text).
        words = {"printing": "detail.print_busy", "printed": "detail.print_done"}
        self.print.setText(text(words.get(view.printing, "detail.print")))
        self.print.setEnabled(view.printing != "printing")
        self.print.setVisible(view.can_print)
        down = view.printer != "not_configured" and not view.can_print
        self.printer_down.setText(text(f"printer.{view.printer}") if down else "")
        self.printer_down.setVisible(down)

    def _qr_made(self, url: str) -> None:
        notice = self.view.detail
        if notice is not None and notice.action_url == url:  # made on the worker after the page opened
            self.qr.show_matrix(self.ctx.qr_codes.made[url])

    def leave(self) -> None:
        self.fill(View())

    def actions(self, view: View) -> list[Action]:
        if not view.in_session:
            return [Action(text("detail.back"), "back", "primary")]
        return [
            Action(text("detail.back"), "back"),
            Action(text("detail.remind_later"), "remind_later"),
            Action(text("detail.mute_category"), "mute_category"),
            Action(text("detail.mark_read"), "mark_read", "primary"),
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
        if hasattr(self, "scroll"):  # built
            self._update_page_buttons()
