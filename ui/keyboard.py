"""The on-screen keyboard staff type the set-up with: Qt Virtual Keyboard (PySide6-Addons, pinyin included).

It is drawn inside the wizard's own window, at the bottom of its layout, not as a window of its own: a
keyboard window is "not supported at client-side" under Wayland (cage), and a window of its own would
cover the fields it types into. The page above it shrinks while it shows, so no field is ever under it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QObject, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QWidget

QML = Path(__file__).with_name("keyboard.qml")
MAX_HEIGHT_SHARE = 0.40  # of the window: the field being typed and the page's buttons stay in sight


def virtual_keyboard_available() -> bool:
    """Qt Virtual Keyboard comes with PySide6-Addons: its input plugin and its QML must both be there."""
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    qml = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.QmlImportsPath))
    plugin = plugins / "platforminputcontexts" / "libqtvirtualkeyboardplugin.so"
    return plugin.exists() and (qml / "QtQuick" / "VirtualKeyboard" / "qmldir").exists()


def enable_virtual_keyboard() -> bool:
    """Before the QApplication exists: Qt Virtual Keyboard as the input method, drawn only where a window
    holds an OnScreenKeyboard (no desktop keyboard window popping up over the citizen's screens)."""
    if QCoreApplication.instance() is not None:  # too late: Qt chose its input method as it started
        return virtual_keyboard_enabled()
    if os.environ.get("QT_IM_MODULE") or not virtual_keyboard_available():
        return virtual_keyboard_enabled()
    os.environ["QT_IM_MODULE"] = "qtvirtualkeyboard"
    os.environ["QT_VIRTUALKEYBOARD_DESKTOP_DISABLE"] = "1"
    return True


def virtual_keyboard_enabled() -> bool:
    return os.environ.get("QT_IM_MODULE") == "qtvirtualkeyboard"


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

    def fit(self, width: int, height: int) -> None:
        """As wide as the window allows, but no taller than MAX_HEIGHT_SHARE of it (keys keep their shape)."""
        panel = self.rootObject()
        panel.setWidth(width)
        tall = panel.implicitHeight()
        if tall > MAX_HEIGHT_SHARE * height:
            panel.setWidth(width * MAX_HEIGHT_SHARE * height / tall)
        self.setFixedSize(round(panel.width()), round(panel.implicitHeight()))

    def _follow_panel_height(self) -> None:
        self.setFixedHeight(round(self.rootObject().implicitHeight()))

    def _follow_input_method(self) -> None:
        self.setVisible(QGuiApplication.inputMethod().isVisible())
