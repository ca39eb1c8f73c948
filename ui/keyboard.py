"""The on-screen keyboard staff type the set-up with: Qt Virtual Keyboard (PySide6-Addons, pinyin included).

It is drawn inside the wizard's own window, at the bottom of its layout, not as a window of its own: a
keyboard window is "not supported at client-side" under Wayland (cage), and a window of its own would
cover the fields it types into. The page above it shrinks while it shows, so no field is ever under it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QWidget

QML = Path(__file__).with_name("keyboard.qml")
KEYS_ASPECT = 800 / 2560  # height to width of the default style's keys (keyboardDesignHeight / Width)
CANDIDATE_ROW_PX = 48  # pinyin's row of candidates above the keys (~40 px), kept free within the height given


class OnScreenKeyboard(QQuickWidget):
    """Qt Virtual Keyboard's input panel as a widget: shown while a field wants typing, hidden by its ⌨ key."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a tap on a key must leave the field focused
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setSource(QUrl.fromLocalFile(str(QML)))
        if self.status() != QQuickWidget.Status.Ready:
            raise RuntimeError("Qt Virtual Keyboard: " + "; ".join(e.toString() for e in self.errors()))
        self.hide()
        QGuiApplication.inputMethod().visibleChanged.connect(self._follow_input_method)
        self.rootObject().implicitHeightChanged.connect(self._follow_panel_height)  # pinyin adds a candidate row

    def settings(self) -> QObject:
        """VirtualKeyboardSettings (a QML singleton): the keyboard's language, per field."""
        return self.engine().singletonInstance("QtQuick.VirtualKeyboard.Settings", "VirtualKeyboardSettings")

    def fit(self, width: int, max_height: int) -> None:
        """As wide as `width`, narrower if it would be taller than `max_height` (the keys keep their shape).
        The panel follows the widget (SizeRootObjectToView): its width is never set here, or the two disagree and
        the keys are drawn cut. Pinyin's candidate row adds CANDIDATE_ROW_PX on top while it shows."""
        keys_width = min(width, (max_height - CANDIDATE_ROW_PX) / KEYS_ASPECT)
        self.setFixedSize(round(keys_width), round(keys_width * KEYS_ASPECT))

    def _follow_panel_height(self) -> None:
        self.setFixedHeight(round(self.rootObject().implicitHeight()))

    def _follow_input_method(self) -> None:
        self.setVisible(QGuiApplication.inputMethod().isVisible())
