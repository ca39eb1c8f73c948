"""The greeting and the ranked notices: big cards, most urgent first, five at a time."""

from __future__ import annotations

import itertools
import time
import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from kiosk.notices import Notice
from kiosk.session import View
from ui.texts import short_date, text
from ui.theme import GAP_PX
from ui.widgets import Context, Page, Picture, TapCard, button, frame, label, tap

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


def notice_button(ctx: Context, notice: Notice, view: View, compact: bool = False) -> TapCard:
    """A notice as one big touch target: icon, category word, title, deadline, urgency, read mark."""
    card = TapCard()
    card.setProperty("urgent", notice.priority == "urgent")
    card.clicked.connect(tap(ctx, "open_notice", notice.id))
    inner = QHBoxLayout(card)
    inner.setSpacing(16)
    inner.setContentsMargins(16, 12, 16, 12)
    inner.addWidget(Picture(f"category-{notice.category}", round(56 * ctx.scale), ink=ctx.theme.text))
    words = QVBoxLayout()
    words.setSpacing(4)
    top = QHBoxLayout()
    top.setSpacing(12)
    top.addWidget(_passive(label(text(f"category.{notice.category}"), "muted", wrap=False)))
    badge = text(f"priority.{notice.priority}")
    if badge:
        top.addWidget(_passive(label(badge, "badge", wrap=False)))
    if notice.deadline and not compact:
        due = text("notices.deadline", date=short_date(notice.deadline, view.prefs.language))
        top.addWidget(_passive(label(due, "muted", wrap=False)))
    if notice.id in view.read_ids:
        top.addWidget(_passive(label(text("notices.read_mark"), "muted", wrap=False)))
    top.addStretch(1)
    words.addLayout(top)
    words.addWidget(_passive(label(wrappable(notice.title))))
    inner.addLayout(words, 1)
    return card


def stale_line(view: View) -> QLabel | None:
    """ "信息更新于 …" under broadcast notices not refreshed for 24 h (DESIGN §6)."""
    if not (view.broadcast_stale and view.broadcast_updated):
        return None
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(view.broadcast_updated))
    return label(text("notices.stale", when=when), "muted")


def _passive(widget: label) -> label:  # type: ignore[valid-type]
    widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # the whole card is the button
    return widget


class NoticesPage(Page):
    def build(self, view: View) -> None:
        surname, gender = view.greeting
        if surname:
            greeting = text("notices.greeting_named", surname=surname, honorific=text(f"honorific.{gender}"))
        else:
            greeting = text("notices.greeting")
        self.box.addWidget(label(greeting, "title"))
        if self.ctx.scale == 1.0:  # at larger text the height goes to the five notices; the voice says it
            self.box.addWidget(label(text("notices.subtitle"), "subtitle"))
        if view.personal_loading:
            self.box.addWidget(label(text("notices.loading"), "muted"))
        if view.personal_unavailable:
            banner = QVBoxLayout()
            banner.setContentsMargins(16, 4, 16, 4)
            banner.addWidget(label(text("notices.personal_unavailable")))
            self.box.addWidget(frame("banner", banner))
        cards = QGridLayout()
        cards.setSpacing(GAP_PX)
        columns = 2 if self.ctx.landscape else 1
        for position, notice in enumerate(view.shown_notices):
            cards.addWidget(notice_button(self.ctx, notice, view), position // columns, position % columns)
        self.box.addLayout(cards)
        if not view.notices and not view.personal_loading:
            self.box.addWidget(label(text("notices.empty"), "subtitle"))
        if stale := stale_line(view):
            self.box.addWidget(stale)
        self.box.addStretch(1)

    def actions(self, view: View) -> list[QPushButton]:
        buttons = []
        if view.page > 0:
            buttons.append(button(text("detail.page_up"), tap(self.ctx, "back")))
        if view.more_count:
            buttons.append(button(text("notices.more", count=view.more_count), tap(self.ctx, "more")))
        buttons.append(button(text("notices.finish"), tap(self.ctx, "finish"), "primary"))
        return buttons
