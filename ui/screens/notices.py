"""The greeting and the ranked notices: big cards, most urgent first, five at a time."""

from __future__ import annotations

import itertools
import time
import unicodedata

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout

from kiosk.notices import CATEGORIES, SHOWN_FIRST, Notice
from kiosk.session import Touch, View
from ui.texts import short_date, text
from ui.theme import GAP_PX
from ui.widgets import Action, Context, Page, Picture, TapCard, button, frame, label, tap

NO_BREAK_RUN = 20  # characters: longer than any word of a notice; a longer run is a URL, a number or junk
ZERO_WIDTH_SPACE = "\u200b"


def wrappable(value: str) -> str:
    """Backend text made to wrap within its label: a run of narrow characters with no space, longer than
    NO_BREAK_RUN, may break between any two of its letters (Qt wraps plain text at word boundaries only,
    so such a run would make its label, the notice card and the screen wider than the window)."""
    out: list[str] = []
    for narrow, run in itertools.groupby(value, _narrow):
        letters = list(run)
        if narrow and len(letters) > NO_BREAK_RUN:
            letters = [ZERO_WIDTH_SPACE + ch if i and not _mark(ch) else ch for i, ch in enumerate(letters)]
        out += letters
    return "".join(out)


def _narrow(ch: str) -> bool:
    """Neither a space nor a wide (CJK) character: a line can always wrap at those."""
    return not ch.isspace() and unicodedata.east_asian_width(ch) not in ("W", "F")


def _mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")  # an accent stays on its letter


class NoticeCard(TapCard):
    """A notice as one big touch target: icon, category word, title, deadline, urgency, read mark. Its widgets
    are made once; show_notice() puts a notice in them, blank() takes it out."""

    def __init__(self, ctx: Context, compact: bool = False) -> None:
        super().__init__()
        self.ctx, self.compact = ctx, compact
        self.notice_id = ""
        self.setProperty("urgent", False)
        self.clicked.connect(self._open)
        inner = QHBoxLayout(self)
        inner.setSpacing(16)
        inner.setContentsMargins(16, 12, 16, 12)
        self.icon = Picture(f"category-{CATEGORIES[0]}", round(56 * ctx.scale), ink=ctx.theme.text)
        inner.addWidget(self.icon)
        words = QVBoxLayout()
        words.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(12)
        # Each word in its place, hidden when the notice has none: a hidden label takes no room in a row.
        self.category = _passive(label("", "muted", wrap=False))
        self.badge = _passive(label("", "badge", wrap=False))
        self.due = _passive(label("", "muted", wrap=False))
        self.read = _passive(label("", "muted", wrap=False))
        for word in (self.category, self.badge, self.due, self.read):
            top.addWidget(word)
        top.addStretch(1)
        words.addLayout(top)
        self.title = _passive(label(""))
        words.addWidget(self.title)
        inner.addLayout(words, 1)

    def show_notice(self, notice: Notice, view: View) -> None:
        urgent = notice.priority == "urgent"
        if self.property("urgent") != urgent:
            self.setProperty("urgent", urgent)
            if self.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):  # styled already: again, for the border
                self.style().unpolish(self)
                self.style().polish(self)
                QApplication.sendEvent(self, QEvent(QEvent.Type.StyleChange))  # the frame's width follows
        self.notice_id = notice.id
        self.icon.set_picture(f"category-{notice.category}", self.ctx.theme.text)
        self.category.setText(text(f"category.{notice.category}"))
        badge = text(f"priority.{notice.priority}")
        self.badge.setText(badge)
        self.badge.setVisible(bool(badge))
        due = notice.deadline and not self.compact
        self.due.setText(text("notices.deadline", date=short_date(notice.deadline, view.prefs.language)) if due else "")
        self.due.setVisible(bool(due))
        self.read.setText(text("notices.read_mark"))
        self.read.setVisible(notice.id in view.read_ids)
        self.title.setText(wrappable(notice.title))

    def blank(self) -> None:
        """No notice: hidden, and nothing of the last one kept."""
        self.hide()
        self.notice_id = ""
        for word in (self.category, self.badge, self.due, self.read, self.title):
            word.setText("")

    def _open(self) -> None:
        self.ctx.post(Touch("open_notice", self.notice_id))


def show_cards(cards: list[NoticeCard], notices: tuple[Notice, ...], view: View) -> None:
    """The notices in the cards, in order; the cards left over blanked (the list and the attract headlines)."""
    for position, card in enumerate(cards):
        if position < len(notices):
            card.show_notice(notices[position], view)
            card.show()
        else:
            card.blank()


def show_stale(line: QLabel, view: View) -> None:
    """ "信息更新于 …" in its line, shown only when the broadcast notices are stale."""
    words = stale_words(view)
    line.setText(words)
    line.setVisible(bool(words))


def stale_words(view: View) -> str:
    if not (view.broadcast_stale and view.broadcast_updated):
        return ""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(view.broadcast_updated))
    return text("notices.stale", when=when)


def _passive(widget: label) -> label:  # type: ignore[valid-type]
    widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # the whole card is the button
    return widget


class NoticesPage(Page):
    """Built once for the first citizen, then filled in place for each next one; emptied when left."""

    def build(self, view: View) -> None:
        self.greeting = label("", "title")
        self.box.addWidget(self.greeting)
        self.subtitle: QLabel | None = None
        if self.ctx.scale == 1.0:  # at larger text the height goes to the five notices; the voice says it
            self.subtitle = label("", "subtitle")
            self.box.addWidget(self.subtitle)
        self.loading = label("", "muted")
        self.box.addWidget(self.loading)
        banner = QVBoxLayout()
        banner.setContentsMargins(16, 4, 16, 4)
        self.unavailable = label("")
        banner.addWidget(self.unavailable)
        self.banner = frame("banner", banner)
        self.box.addWidget(self.banner)
        cards = QGridLayout()
        cards.setSpacing(GAP_PX)
        columns = 2 if self.ctx.landscape else 1
        self.cards = [NoticeCard(self.ctx) for _ in range(SHOWN_FIRST)]
        self.cards[0].icon.draw_ahead([f"category-{category}" for category in CATEGORIES])
        for position, card in enumerate(self.cards):
            cards.addWidget(card, position // columns, position % columns)
        self.print_due = button("", tap(self.ctx, "print_due"))  # each notice with a deadline on its own slip
        self.print_due.hide()  # until the window says the printer can print (show_printer)
        # Beside the fifth card on a wide screen (a cell left empty, no height taken from the cards), else below.
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        cards.addWidget(self.print_due, SHOWN_FIRST // columns, SHOWN_FIRST % columns, alignment=left)
        self.box.addLayout(cards)
        self.empty = label("", "subtitle")
        self.box.addWidget(self.empty)
        self.stale = label("", "muted")
        self.box.addWidget(self.stale)
        self.box.addStretch(1)
        self.fill(view)

    def fill(self, view: View) -> bool:
        surname, gender = view.greeting
        if surname:
            greeting = text("notices.greeting_named", surname=surname, honorific=text(f"honorific.{gender}"))
        else:
            greeting = text("notices.greeting")
        self.greeting.setText(greeting)
        self.ctx.qr_codes.ahead([notice.action_url for notice in view.shown_notices if notice.action_url])
        if self.subtitle is not None:
            self.subtitle.setText(text("notices.subtitle"))
        self.loading.setText(text("notices.loading"))
        self.loading.setVisible(view.personal_loading)
        self.unavailable.setText(text("notices.personal_unavailable"))
        self.banner.setVisible(view.personal_unavailable)
        show_cards(self.cards, view.shown_notices, view)
        self.empty.setText(text("notices.empty"))
        self.empty.setVisible(not view.notices and not view.personal_loading)
        show_stale(self.stale, view)
        self.view = view
        return True

    def leave(self) -> None:
        self.fill(View())

    def show_printer(self, view: View) -> None:
        busy = view.printing == "printing"
        words = {"printing": text("detail.print_busy"), "printed": text("notices.printed")}
        self.print_due.setText(words.get(view.printing) or text("notices.print_due", count=len(view.due)))
        self.print_due.setEnabled(not busy)
        self.print_due.setVisible(view.can_print and bool(view.due))

    def actions(self, view: View) -> list[Action]:
        buttons = []
        if view.page > 0:
            buttons.append(Action(text("detail.page_up"), "back"))
        if view.more_count:
            buttons.append(Action(text("notices.more", count=view.more_count), "more"))
        buttons.append(Action(text("notices.finish"), "finish", "primary"))
        return buttons
