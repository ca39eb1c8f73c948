"""Which input method Qt uses: Qt Virtual Keyboard, for staff typing the set-up on a terminal without keys.

Apart from ui.keyboard (the keyboard widget) so that the kiosk's start does not load QtQuick: only the set-up
wizard draws the keyboard.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo


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
    if not os.environ.get("QT_IM_MODULE") and virtual_keyboard_available():
        os.environ["QT_IM_MODULE"] = "qtvirtualkeyboard"
    if virtual_keyboard_enabled():  # chosen here or by whoever started us: never a keyboard window of its own
        os.environ["QT_VIRTUALKEYBOARD_DESKTOP_DISABLE"] = "1"
    return virtual_keyboard_enabled()


def virtual_keyboard_enabled() -> bool:
    return os.environ.get("QT_IM_MODULE") == "qtvirtualkeyboard"
