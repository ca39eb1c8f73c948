"""The kiosk's few building blocks: big buttons, plain-text labels, pictures, the QR code."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QCoreApplication, QObject, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QLayout, QPushButton, QSizePolicy, QWidget

from kiosk.session import Touch, View
from ui.theme import GAP_PX, TOUCH_PX, Theme

if TYPE_CHECKING:
    from kiosk.qr import Matrix

log = logging.getLogger(__name__)
PICTURES = Path(__file__).resolve().parent.parent / "assets" / "pictures"
ICON_INK = "#1A1A1A"  # the one colour of the category icons, replaced by the theme's text colour


class QrMatrices(QObject):
    """The QR codes of the notices on the citizen's list, made in the QR process (kiosk.qr) while the list is
    read and only painted on the GUI thread (`ready` says when one is there). Forgotten once the list is left (the
    window): a personal notice's URL may name its person, and a code still being made for the visit before is
    dropped."""

    ready = Signal(str)  # a URL whose matrix is now in `made`
    _arrived = Signal(int, str, object)  # (visit, url, matrix) from the process's thread; kept on the GUI thread

    def __init__(self, wait_for_screen: Callable[[], object] = lambda: None) -> None:
        super().__init__()
        self.wait_for_screen = wait_for_screen  # each code is made once the screen asking for it is drawn
        self.made: dict[str, Matrix] = {}
        self._asked: dict[str, Future[None]] = {}
        self._visit = 0
        self._arrived.connect(self._keep)

    def prepare(self) -> None:
        """At start-up: the QR process starts and makes one code, so that no citizen's first code waits for it."""
        from kiosk.qr import qr_process  # here, not at the top: off the way to the first screen (cold start)

        qr_process().submit("https://example.cn/")

    def ahead(self, urls: list[str]) -> None:
        for url in urls:
            self._ask(url)

    def matrix(self, url: str) -> Matrix | None:
        """The code if it is made; else None, and `ready` follows once it is."""
        if url in self.made:
            return self.made[url]
        self._ask(url)
        return None

    def _ask(self, url: str) -> None:
        if url in self.made or url in self._asked:
            return
        from kiosk.qr import qr_process

        made = self._asked[url] = qr_process().submit(url, self.wait_for_screen)
        visit = self._visit
        made.add_done_callback(lambda done: self._made(visit, url, done))

    def _made(self, visit: int, url: str, done: Future[Matrix]) -> None:  # on the process pool's thread
        if done.cancelled():
            return
        try:
            matrix = done.result()
        except Exception:  # e.g. a URL too long for any QR code, or the process gone: the page shows none
            log.warning("no QR code for a URL of %d bytes", len(url.encode()))
            matrix = []
        self._arrived.emit(visit, url, matrix)

    def _keep(self, visit: int, url: str, matrix: Matrix) -> None:
        if visit != self._visit:
            return  # made for a visit that has ended
        self._asked.pop(url, None)
        self.made[url] = matrix
        self.ready.emit(url)

    def settle(self, timeout: float = 10.0) -> None:
        """Until every code asked for is made and kept (for the screenshot tool, which grabs at once)."""
        deadline = time.monotonic() + timeout
        while self._asked and time.monotonic() < deadline:
            QCoreApplication.sendPostedEvents(self)
            time.sleep(0.005)

    def forget(self) -> None:
        self._visit += 1
        for future in self._asked.values():
            future.cancel()
        self._asked.clear()
        self.made.clear()


@dataclass
class Context:
    """What every screen needs: the theme, the layout direction, a way to report touches, the visit's QR codes."""

    theme: Theme
    scale: float
    landscape: bool
    post: Callable[[Touch], None]
    qr_codes: QrMatrices = field(default_factory=QrMatrices, compare=False)


@dataclass(frozen=True)
class Action:
    """A button of a page's bottom bar: its words, the touch it posts, and "primary" for the main action."""

    words: str
    touch: str
    role: str = ""


def label(text: str, role: str = "", wrap: bool = True) -> QLabel:
    widget = QLabel()
    widget.setTextFormat(Qt.TextFormat.PlainText)  # backend text is shown as written, never as rich text
    widget.setText(text)
    widget.setWordWrap(wrap)
    if role:
        widget.setProperty("role", role)
    return widget


def button(text: str, on_tap: Callable[[], None], role: str = "") -> QPushButton:
    widget = QPushButton(text)
    if role:
        widget.setProperty("role", role)
    widget.setMinimumSize(TOUCH_PX, TOUCH_PX)
    widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    widget.clicked.connect(on_tap)
    return widget


def tap(ctx: Context, action: str, arg: str = "") -> Callable[[], None]:
    return lambda: ctx.post(Touch(action, arg))


def row(*widgets: QWidget, stretch_first: bool = False) -> QHBoxLayout:
    layout = QHBoxLayout()
    layout.setSpacing(GAP_PX)
    for position, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if stretch_first and position == 0 else 0)
    return layout


def clear(layout: QLayout) -> None:
    while (item := layout.takeAt(0)) is not None:
        if (widget := item.widget()) is not None:
            widget.hide()
            widget.deleteLater()
        elif (child := item.layout()) is not None:
            clear(child)


@functools.cache
def _svg(name: str, ink: str | None) -> QByteArray:
    """A picture's SVG, read once: reading it for each picture of each screen change took four system calls,
    and the GUI thread waited for the GIL after each while another thread ran Python."""
    path = PICTURES / f"{name}.svg"
    data = path.read_bytes() if path.exists() else b""
    if ink:
        data = data.replace(ICON_INK.encode(), ink.encode())
    return QByteArray(data)


class Picture(QWidget):
    """An SVG from assets/pictures, drawn to fit; icons take the theme's text colour."""

    def __init__(self, name: str, size: int, ink: str | None = None) -> None:
        super().__init__()
        self.width_px = size
        self.name, self.ink = name, ink
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.set_picture(name, ink)

    def set_picture(self, name: str, ink: str | None = None) -> None:
        self.name, self.ink = name, ink
        self.setFixedSize(QSize(self.width_px, round(self.width_px * _aspect(name, ink))))
        self.update()

    def draw_ahead(self, names: list[str]) -> None:
        """The pictures this one may show, drawn now at its size (the first of each cost 5-10 ms of a screen change
        on a slowed terminal)."""
        for name in names:
            height = round(self.width_px * _aspect(name, self.ink))
            _drawing(name, self.ink, self.width_px, height, self.devicePixelRatioF())

    def paintEvent(self, event: object) -> None:
        drawing = _drawing(self.name, self.ink, self.width(), self.height(), self.devicePixelRatioF())
        if drawing is None:
            return
        painter = QPainter(self)
        painter.drawPixmap(0, 0, drawing)
        painter.end()


@functools.cache
def _aspect(name: str, ink: str | None) -> float:
    renderer = QSvgRenderer(_svg(name, ink))
    box = renderer.viewBoxF()
    return box.height() / box.width() if renderer.isValid() and box.width() else 1.0


@functools.lru_cache(maxsize=64)
def _drawing(name: str, ink: str | None, width: int, height: int, ratio: float) -> QPixmap | None:
    """Each picture drawn once at each size for the kiosk's life: drawing the SVG again for each session's screen
    was a 30-60 ms turn of the GUI thread on a terminal 3x slower (bench/ui.py --slow 3)."""
    renderer = QSvgRenderer(_svg(name, ink))
    return drawn(renderer, width, height, ratio) if renderer.isValid() else None


def drawn(renderer: QSvgRenderer, width: int, height: int, ratio: float = 1.0) -> QPixmap:
    """An SVG drawn once into a pixmap: a repaint copies it (rendering the SVG on every paint was a long turn
    of the GUI thread in the soak)."""
    pixmap = QPixmap(round(width * ratio), round(height * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, width, height))
    painter.end()
    return pixmap


def picture_pixmap(name: str, size: int) -> QPixmap:
    """An SVG from assets/pictures drawn into a square pixmap (for icons of buttons)."""
    return drawn(QSvgRenderer(_svg(name, None)), size, size)


class QrCode(QWidget):
    """A QR code, one pixel per module scaled up without smoothing (no Pillow needed): dark on light whatever
    the theme, as phones need it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.modules = QImage()
        self.setFixedSize(size, size)

    def show_matrix(self, matrix: Matrix) -> None:
        """The code to show; an empty matrix shows none."""
        count = len(matrix)
        pixels = bytes(0 if dark else 255 for line in matrix for dark in line)
        self.modules = QImage(pixels, count, count, count, QImage.Format.Format_Grayscale8).copy()  # owns its bytes
        self.update()

    def paintEvent(self, event: object) -> None:
        if not self.modules.isNull():
            QPainter(self).drawImage(self.rect(), self.modules)


class TapCard(QFrame):
    """A card that is one big touch target; unlike a button it grows with the text inside it."""

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("role", "card")
        self.setMinimumHeight(TOUCH_PX)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setProperty("pressed", True)
        self.style().polish(self)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.setProperty("pressed", False)
        self.style().polish(self)
        if self.rect().contains(event.position().toPoint()):
            self.clicked.emit()


def frame(role: str, layout: QBoxLayout, **properties: object) -> QFrame:
    widget = QFrame()
    widget.setProperty("role", role)
    for key, value in properties.items():
        widget.setProperty(key, value)
    widget.setLayout(layout)
    return widget


class Page(QWidget):
    """A screen: built from the View. One that can show another View with the widgets it has says so in fill()."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.view = View()  # what it shows
        self.box = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self.box.setSpacing(GAP_PX)
        self.box.setContentsMargins(48, 32, 48, 32)

    def render(self, view: View) -> None:
        clear(self.box)
        self.build(view)
        self.view = view

    def build(self, view: View) -> None:
        raise NotImplementedError

    def fill(self, view: View) -> bool:
        """Show `view` in the widgets built before, if it can: a screen change then makes and deletes no widgets
        (each new widget costs the GUI thread the GIL again and again while another thread runs Python)."""
        return False

    def leave(self) -> None:
        """The page is kept, hidden, for the next time: a page that shows personal data forgets it here (it lives
        for one session only)."""

    def actions(self, view: View) -> list[Action]:
        """The page's buttons for the bottom bar, the main action last (bottom right on every screen)."""
        return []

    def show_printer(self, view: View) -> None:
        """The page's 打印 and the printer's line, put in place (the window calls it on every view, the page's
        text never moves): for the pages that print."""
