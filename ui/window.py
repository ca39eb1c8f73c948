"""The kiosk window: the page for the session's screen, the bars every screen has, the idle warning on top.

It renders the View it is given and turns taps into Touch events; no business rules here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from kiosk.notices import SHOWN_FIRST
from kiosk.priority import ScreenFirst
from kiosk.session import Screen, Touch, View
from ui.screens.attract import AttractPage
from ui.screens.detail import DetailPage
from ui.screens.goodbye import GoodbyePage
from ui.screens.message import MessagePage
from ui.screens.notices import NoticesPage
from ui.screens.pin import PinPage
from ui.screens.reading import ReadingPage
from ui.texts import Languages, text
from ui.theme import BUTTON_PX, DEFAULT, FONT_FAMILY, GAP_PX, HELP_SCALE, HIGH_CONTRAST, SCREEN, stylesheet
from ui.widgets import Action, Context, Page, Picture, QrMatrices, button, frame, label, tap

PAGES: dict[Screen, type[Page]] = {
    Screen.ATTRACT: AttractPage,
    Screen.READING: ReadingPage,
    Screen.PIN: PinPage,
    Screen.NOTICES: NoticesPage,
    Screen.DETAIL: DetailPage,
    Screen.GOODBYE: GoodbyePage,
    Screen.CARD_EXPIRED: MessagePage,
    Screen.NO_SERVICE: MessagePage,
    Screen.NO_READER: MessagePage,
    Screen.CARD_PROBLEM: MessagePage,
    Screen.PIN_BLOCKED: MessagePage,
}
TOGGLES = ("large_text", "high_contrast", "voice", "slower")
# Every visit passes through these: their pages are kept for the next time rather than built and deleted again.
KEPT = (Screen.ATTRACT, Screen.READING, Screen.PIN, Screen.NOTICES, Screen.DETAIL, Screen.GOODBYE)
DRAWN = QEvent.Type(QEvent.registerEventType())  # to the window, after what a render asked Qt to lay out and paint
AFTER_THE_PAINT = Qt.EventPriority.LowEventPriority.value - 1
NOT_ON_THE_PAGE = {"idle_seconds_left": None, "help_requested": False, "help_id": "", "help_coming": False,
                   "help_minutes": 0, "printer": "not_configured", "printing": ""}  # fmt: skip
BARS_KEPT = 16  # a visit shows about 8 sets (the list with and without 更多 and 上一页, the detail, the PIN …)
AHEAD = (Screen.READING, Screen.PIN, Screen.NOTICES, Screen.DETAIL)  # built before the first card comes


class ViewBridge(QObject):
    """Views from the core thread, delivered on the GUI thread (a queued signal); the first paint, once."""

    changed = Signal(object)
    first_painted = Signal()


class BarSet:
    """The top and bottom bars of one screen, each a widget of rows of buttons."""

    def __init__(self) -> None:
        self.actions: list[QPushButton] = []  # the page's, in its order: their words are put in place
        self.top, self.bottom = QWidget(), QWidget()
        self.top_rows, self.bottom_rows = QVBoxLayout(self.top), QVBoxLayout(self.bottom)
        for rows in (self.top_rows, self.bottom_rows):
            rows.setContentsMargins(0, 0, 0, 0)
            rows.setSpacing(GAP_PX)

    def show(self, on: bool) -> None:
        """Shown now, in this turn (an empty bar stays hidden: it would add a gap)."""
        for bar in (self.top, self.bottom):
            bar.setVisible(on and bar.layout().count() > 0)

    def drop(self) -> None:
        for bar in (self.top, self.bottom):
            bar.hide()
            bar.deleteLater()


class HelpBanner(QFrame):
    """While staff are called, across the top of every screen: a person, "已经通知工作人员" (or "马上就到") in large
    type, and how long ago it was asked. An old person who has asked for help looks for a person, not at a bar."""

    ICON_PX = 72  # a line of its title high

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "help")
        row = QHBoxLayout(self)
        row.setContentsMargins(32, 8, 32, 8)
        row.setSpacing(GAP_PX)
        self.icon = Picture("staff", self.ICON_PX)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        self.words = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.words.setSpacing(GAP_PX)
        self.called = label("", "title")
        self.when = label("")
        self.words.addWidget(self.called, 1)
        self.words.addWidget(self.when, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addLayout(self.words, 1)
        self.drawn_for = ("", 0.0)  # the icon's (ink, scale)
        self.hide()

    def show_help(self, view: View, ctx: Context) -> None:
        if not view.help_requested:
            self.hide()
            return
        if self.drawn_for != (ctx.theme.on_primary, ctx.scale):  # the icon in the banner's text colour and scale
            self.drawn_for = (ctx.theme.on_primary, ctx.scale)
            self.icon.width_px = round(self.ICON_PX * min(ctx.scale, HELP_SCALE))
            self.icon.set_picture("staff", ctx.theme.on_primary)
        # One line on a landscape screen, where the pages have no height to give; two on a portrait one.
        across = QBoxLayout.Direction.LeftToRight if ctx.landscape else QBoxLayout.Direction.TopToBottom
        if self.words.direction() != across:
            self.words.setDirection(across)
        self.called.setText(text("help.coming" if view.help_coming else "help.requested"))
        minutes = view.help_minutes
        self.when.setText(text("help.asked_ago", minutes=minutes) if minutes else text("help.asked_now"))
        self.show()


class KioskWindow(QWidget):
    def __init__(self, post: Callable[[Touch], None], hall_scale: float = 1.0, orientation: str = "auto") -> None:
        super().__init__()
        self.setObjectName(SCREEN)  # the stylesheet's background
        self.post = post
        self.hall_scale = hall_scale
        self.orientation = orientation
        self.languages = Languages()
        self.view = View()
        self.rendered: tuple | None = None
        self._bar_sets: dict[tuple, BarSet] = {}  # the last BARS_KEPT made, by what they show (see _bars)
        self._painted = False
        self.setWindowTitle("社保自助终端")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.top = QVBoxLayout()
        self.top.setContentsMargins(48, 24, 48, 0)
        self.top.setSpacing(GAP_PX)
        outer.addLayout(self.top)
        self.help_banner = HelpBanner()
        outer.addWidget(self.help_banner)
        self.pages = QStackedWidget()
        outer.addWidget(self.pages, 1)
        self.bottom = QVBoxLayout()
        self.bottom.setContentsMargins(48, 0, 48, 24)
        self.bottom.setSpacing(GAP_PX)
        outer.addLayout(self.bottom)
        self.overlay = QWidget(self)
        self.overlay.hide()
        self.bridge = ViewBridge()
        self.bridge.changed.connect(self._latest, Qt.ConnectionType.QueuedConnection)
        self._pending: View | None = None
        self._kept: dict[Screen, Page] = {}
        self.screen_first = ScreenFirst()
        self.qr_codes = QrMatrices(self.screen_first.wait)

    # -- rendering ---------------------------------------------------------------------------
    @property
    def landscape(self) -> bool:
        if self.orientation != "auto":
            return self.orientation == "landscape"
        return self.width() >= self.height()

    def context(self) -> Context:
        prefs = self.view.prefs
        scale = 1.5 if prefs.large_text else self.hall_scale
        theme = HIGH_CONTRAST if prefs.high_contrast else DEFAULT
        return Context(theme=theme, scale=scale, landscape=self.landscape, post=self.post, qr_codes=self.qr_codes)

    def show_view(self, view: View) -> None:
        """A view from the core (its thread): drawn on the GUI thread before the helpers start on its effects."""
        self.screen_first.drawing()
        self.bridge.changed.emit(view)

    def customEvent(self, event: QEvent) -> None:
        if event.type() == DRAWN:
            self.screen_first.drawn()

    def _after_drawing(self) -> None:
        """`drawn` once the layout and the paint this render asked for are done: a posted event below their
        priority (Qt posts the paint at LowEventPriority) comes after them."""
        QCoreApplication.postEvent(self, QEvent(DRAWN), AFTER_THE_PAINT)

    def _latest(self, view: View) -> None:
        """A view from the core, drawn on a turn of the event loop of its own unless a newer one comes first:
        the greeting and the personal notices a few ms later were built one after the other in one turn."""
        if self._pending is None:
            QTimer.singleShot(0, self._render_pending)
        self._pending = view

    def _render_pending(self) -> None:
        view, self._pending = self._pending, None
        if view is not None:
            self.render(view)
        self._after_drawing()

    def render(self, view: View) -> None:
        self.view = view
        if view.screen not in (Screen.NOTICES, Screen.DETAIL):  # the list left: goodbye, card out, reader gone
            self.qr_codes.forget()
        ctx = self.context()
        self.languages.use(view.prefs.language)
        # The idle countdown changes every second, the help banner's minutes each minute: update the warning and
        # the banner only, never rebuild the page under them (a rebuilt notice would jump back to its first page).
        shown = replace(view, **NOT_ON_THE_PAGE)
        self.help_banner.show_help(view, ctx)
        key = (shown, ctx.theme.name, ctx.scale, ctx.landscape)
        if key == self.rendered:
            self._printer(view)
            self._overlay(view)
            return
        self.rendered = key
        sheet = stylesheet(ctx.theme, ctx.scale)
        if sheet != self.styleSheet():  # restyling the whole window costs more than building the page
            self.setStyleSheet(sheet)
        page = self._page(shown, ctx)
        old = self.pages.currentWidget()
        if page is not old:
            if self.pages.indexOf(page) < 0:
                self.pages.addWidget(page)
            self.pages.setCurrentWidget(page)
            if isinstance(old, Page):
                self._leave(old)
        self._bars(view, ctx, page.actions(view))
        self._printer(view)
        self._overlay(view)

    def _printer(self, view: View) -> None:
        """打印 and the printer's line, updated in place: a slip asked for never moves the text."""
        page = self.pages.currentWidget()
        if isinstance(page, Page):
            page.show_printer(view)

    def build_ahead(self) -> None:
        """The pages of a visit and their bars, built as the kiosk starts, while the attract screen waits for the
        first card: its greeting would otherwise build its page on the spot (20-30 ms), and its bars (10-30 ms on
        a slowed terminal). They show nothing until filled."""
        ctx = self.context()
        for screen in AHEAD:
            kept = self._kept.get(screen)
            if kept is None or kept.ctx != ctx:
                kept = PAGES[screen](ctx)
                kept.render(View(screen=screen, prefs=self.view.prefs))
                kept.ensurePolished()  # styled now, not when first shown
                self.pages.addWidget(kept)
                self._keep(screen, kept)
            visit = replace(self.view, screen=screen, in_session=True, idle_seconds_left=None)
            for count in (0, SHOWN_FIRST + 1):  # a list with and without 更多
                view = replace(visit, notice_count=count)
                self._bar_set(view, ctx, kept.actions(view)).show(False)

    def _page(self, view: View, ctx: Context) -> Page:
        """The page for `view`: the kept one when it shows this view already or can be filled with it, else a new
        one, kept for next time when its screen is one of KEPT."""
        kept = self._kept.get(view.screen)
        if kept is not None and kept.ctx == ctx and (kept.view == view or kept.fill(view)):
            return kept
        page = PAGES[view.screen](ctx)
        page.render(view)
        if view.screen in KEPT:
            self._keep(view.screen, page)
        return page

    def _keep(self, screen: Screen, page: Page) -> None:
        """`page` is the one kept for `screen`; the one kept before goes (once it is not shown, see _leave)."""
        before = self._kept.get(screen)
        self._kept[screen] = page
        if before is not None and before is not self.pages.currentWidget():
            self._drop(before)

    def _leave(self, page: Page) -> None:
        """A page no longer shown: kept (emptied of the citizen's data, see Page.leave) or deleted."""
        if page in self._kept.values():
            page.leave()
        else:
            self._drop(page)

    def _drop(self, page: Page) -> None:
        self.pages.removeWidget(page)
        page.deleteLater()

    def _bars(self, view: View, ctx: Context, page_actions: list[Action]) -> None:
        """Repeat and help on every screen; the attract screen's toggles; the page's actions bottom right.

        The last BARS_KEPT sets of bars are kept, hidden while another shows, by the buttons they hold; new words on
        the same buttons (还有3条 → 还有2条) are put in place. Ten new buttons a screen were a quarter of a screen
        change, and a button added to a shown window appears a turn later (Qt shows it on a queued call), painting
        the whole window a second time. Kept by buttons, not one set per screen: a visit's list shows without
        更多 while the personal notices load and with it after, and each visit made both again (3 of a 19 ms turn)."""
        bars = self._bar_set(view, ctx, page_actions)
        for action_button, action in zip(bars.actions, page_actions, strict=True):
            action_button.setText(action.words)
        for other in self._bar_sets.values():
            if other is not bars:
                other.show(False)
        bars.show(True)

    def _bar_set(self, view: View, ctx: Context, page_actions: list[Action]) -> BarSet:
        """The kept bars with these buttons, else new ones (kept, the oldest dropped past BARS_KEPT)."""
        words = [text("common.repeat"), text("help.button"), *(a.words for a in page_actions)]
        one_row = view.screen != Screen.ATTRACT and ctx.landscape and self._fits(words, ctx)
        buttons = tuple((a.touch, a.role) for a in page_actions)
        shown = (view.screen, view.prefs, view.chinese_voices, ctx.theme.name, ctx.scale, ctx.landscape, self.width(),
                 buttons, one_row)  # fmt: skip
        bars = self._bar_sets.pop(shown, None)
        if bars is None:
            bars = BarSet()
            self._fill_bars(bars, view, ctx, page_actions, one_row)
            self.top.addWidget(bars.top)
            self.bottom.addWidget(bars.bottom)
        self._bar_sets[shown] = bars  # the newest last
        while len(self._bar_sets) > BARS_KEPT:
            self._bar_sets.pop(next(iter(self._bar_sets))).drop()
        return bars

    def _fill_bars(self, bars: BarSet, view: View, ctx: Context, page_actions: list[Action], one_row: bool) -> None:
        top, bottom = bars.top_rows, bars.bottom_rows
        actions = bars.actions = [button(a.words, tap(ctx, a.touch), a.role) for a in page_actions]
        repeat = button(text("common.repeat"), tap(ctx, "repeat"))
        help_button = button(text("help.button"), tap(ctx, "help"))
        if view.screen == Screen.ATTRACT:
            toggles: list[QWidget] = []
            for name in TOGGLES:
                toggle = button(text(f"toggle.{name}"), tap(ctx, name))
                toggle.setCheckable(True)
                toggle.setChecked(getattr(view.prefs, name))
                toggles.append(toggle)
            for name, direction in (("quieter", -1), ("louder", +1)):  # lit while the citizen's level leans that way
                step = button(text(f"toggle.{name}"), tap(ctx, name))
                step.setCheckable(True)
                step.setChecked(view.prefs.loudness * direction > 0)
                toggles.append(step)
            toggles.append(button(text("toggle.language"), tap(ctx, "language")))
            if len(view.chinese_voices) > 1 and view.prefs.language != "en":  # the voice's Chinese: 普通话 | 粤语
                for voice in view.chinese_voices:  # the chosen one lit, as 大字 is when on; not checkable: a tap on
                    choice = button(text(f"voice.{voice}"), tap(ctx, "chinese_voice", voice))  # it says it again
                    choice.setProperty("chosen", voice == view.prefs.chinese_voice)
                    toggles.append(choice)
            self._rows(top, toggles, per_row=len(toggles) if ctx.landscape else 3, align="left")
            self._rows(bottom, [repeat, help_button], per_row=3, align="spread")
        elif one_row:
            # One bar at the bottom: the screen's height goes to the content (five notices at ×1.5).
            self._rows(bottom, [repeat, help_button, *actions], per_row=99, align="split", split=2)
        elif ctx.landscape:
            self._rows(top, [repeat, help_button], per_row=3, align="spread")
            self._rows(bottom, actions, per_row=99, align="right")
        else:
            self._rows(top, [repeat, help_button], per_row=3, align="spread")
            self._rows(bottom, actions, per_row=2, align="right")

    def _fits(self, words: list[str], ctx: Context) -> bool:
        """Whether the bar's words fit one row across the window, in the font the stylesheet gives them."""
        font = QFont(FONT_FAMILY)
        font.setPixelSize(round(BUTTON_PX * ctx.scale))
        metrics = QFontMetrics(font)
        needed = sum(metrics.horizontalAdvance(t) + 60 for t in words) + GAP_PX * (len(words) + 1) + 96
        return needed <= self.width()

    @staticmethod
    def _rows(bar: QVBoxLayout, widgets: list[QWidget], per_row: int, align: str, split: int = 0) -> None:
        """Widgets in rows of `per_row`: left- or right-aligned (main action last), spread apart (first
        and last), or split (the first `split` on the left, the rest on the right)."""
        for start in range(0, len(widgets), max(per_row, 1)):
            line = QHBoxLayout()
            line.setSpacing(GAP_PX)
            chunk = widgets[start : start + per_row]
            if align == "right":
                line.addStretch(1)
            for position, widget in enumerate(chunk):
                if align == "spread" and position == len(chunk) - 1 and len(chunk) > 1:
                    line.addStretch(1)
                if align == "split" and position == split:
                    line.addStretch(1)
                line.addWidget(widget)
            if align == "split" and len(chunk) <= split:
                line.insertStretch(1, 1)  # nothing on the right: keep the first and the last apart
            if align == "left":
                line.addStretch(1)
            bar.addLayout(line)

    def _overlay(self, view: View) -> None:
        """The idle warning: big, on top, with its countdown and one button."""
        self.overlay.hide()
        if view.idle_seconds_left is None:
            return
        self.overlay.deleteLater()
        box = QVBoxLayout()
        box.setContentsMargins(48, 48, 48, 48)
        box.setSpacing(GAP_PX)
        title = label(text("idle.title"), "title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        count = label(text("idle.countdown", seconds=view.idle_seconds_left), "subtitle")
        count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(count)
        go_on: QPushButton = button(text("idle.continue"), tap(self.context(), "continue"), "primary")
        box.addWidget(go_on)
        self.overlay = frame("overlay", box)
        self.overlay.setParent(self)
        width = min(self.width() - 96, 900)
        self.overlay.setFixedWidth(width)
        self.overlay.adjustSize()
        self.overlay.move((self.width() - width) // 2, (self.height() - self.overlay.height()) // 2)
        self.overlay.show()
        self.overlay.raise_()

    def paintEvent(self, event: object) -> None:
        super().paintEvent(event)  # type: ignore[arg-type]
        if not self._painted:
            self._painted = True
            self.bridge.first_painted.emit()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.rendered = None
        self.render(self.view)
