"""The kiosk's few building blocks: big buttons, plain-text labels, pictures, the QR code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QLayout, QPushButton, QSizePolicy, QWidget

from kiosk.session import Touch, View
from ui.theme import GAP_PX, TOUCH_PX, Theme

PICTURES = Path(__file__).resolve().parent.parent / "assets" / "pictures"
ICON_INK = "#1A1A1A"  # the one colour of the category icons, replaced by the theme's text colour


Matrix = list[list[bool]]  # a QR code's modules, dark or not, quiet zone included


class QrMatrices:
    """The QR codes of the notices on the citizen's list, made ahead, one per turn of the event loop, while the
    list is read: qrcode tries all eight masks in pure Python (5 ms a code, 15-30 ms on a busy kiosk), and
    opening a notice then makes none. Forgotten once the list is left (the window): a personal notice's URL
    may name its person."""

    def __init__(self) -> None:
        self.made: dict[str, Matrix] = {}
        self._waiting: list[str] = []

    def ahead(self, urls: list[str]) -> None:
        idle = not self._waiting  # else a turn is already coming
        self._waiting = [url for url in urls if url not in self.made]
        if idle and self._waiting:
            QTimer.singleShot(0, self._make_next)

    def _make_next(self) -> None:
        if self._waiting:
            self.matrix(self._waiting.pop(0))
        if self._waiting:
            QTimer.singleShot(0, self._make_next)

    def matrix(self, url: str) -> Matrix:
        if url not in self.made:
            import qrcode  # only a notice's detail needs it: not on the start-up path

            code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
            code.add_data(url)
            code.make(fit=True)
            self.made[url] = code.get_matrix()
        return self.made[url]

    def forget(self) -> None:
        self.made.clear()
        self._waiting.clear()


@dataclass
class Context:
    """What every screen needs: the theme, the layout direction, a way to report touches, the visit's QR codes."""

    theme: Theme
    scale: float
    landscape: bool
    post: Callable[[Touch], None]
    qr_codes: QrMatrices = field(default_factory=QrMatrices, compare=False)


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
        self.renderer = QSvgRenderer()
        self.drawing: QPixmap | None = None  # the SVG drawn at this size, copied on each repaint
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.set_picture(name, ink)

    def set_picture(self, name: str, ink: str | None = None) -> None:
        self.renderer.load(_svg(name, ink))
        self.setFixedSize(QSize(self.width_px, round(self.width_px * self._aspect())))
        self.drawing = None
        self.update()

    def _aspect(self) -> float:
        box = self.renderer.viewBoxF()
        return box.height() / box.width() if self.renderer.isValid() and box.width() else 1.0

    def paintEvent(self, event: object) -> None:
        if not self.renderer.isValid():
            return
        ratio = self.devicePixelRatioF()
        if self.drawing is None or self.drawing.devicePixelRatio() != ratio:
            self.drawing = drawn(self.renderer, self.width(), self.height(), ratio)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self.drawing)
        painter.end()


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

    def actions(self, view: View) -> list[QPushButton]:
        """The page's buttons for the bottom bar, the main action last (bottom right on every screen)."""
        return []
