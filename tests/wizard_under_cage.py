"""The set-up wizard typed by touch under cage, as deploy/ss-kiosk.service runs it: Qt a native Wayland client.

Run by tests/test_ui_wizard.py inside `cage` with a headless output:
    cage -d -- python -m tests.wizard_under_cage SHOT_PATH
Prints one JSON line: the platform, what the fields hold, where the keyboard is.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from ui.input_method import enable_virtual_keyboard

assert enable_virtual_keyboard(), "Qt Virtual Keyboard (PySide6-Addons) is missing"

from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from kiosk.doctor import setup_checks  # noqa: E402
from tests.touch_keyboard import keyboard, type_text  # noqa: E402
from tests.wizard_by_touch import WIZARD, erase, tap, tap_field, wait_for  # noqa: E402
from ui.theme import DEFAULT, stylesheet  # noqa: E402
from ui.wizard import SetupWizard  # noqa: E402


def main(shot: Path) -> None:
    application = QApplication(sys.argv)
    wizard = SetupWizard(Path(tempfile.mkdtemp()) / "config.toml", checks=setup_checks)
    WIZARD.append(wizard)
    wizard.setStyleSheet(stylesheet(DEFAULT, 1.0))
    wizard.showFullScreen()
    QTest.qWaitForWindowExposed(wizard)
    tap_field(wizard, "kiosk_id")
    erase(len(wizard.form.kiosk_id))
    type_text("Hall-7\n")
    QTest.qWait(300)  # pinyin for the location
    type_text("ni")
    QTest.qWait(300)
    wizard.grab().save(str(shot))
    type_text(" ")
    shown = keyboard()
    typed = {"platform": application.platformName(), "kiosk_id": wizard.form.kiosk_id,
             "location": wizard.form.location, "window": wizard.geometry().getRect(),
             "keyboard": shown.geometry().getRect() if shown else None}  # fmt: skip
    # A crowded page on this short screen: five problems listed while the keyboard is up.
    tap(wizard.next)
    wait_for(lambda: wizard.page == "backend", 3000)
    for name, value in (("backend_url", "ftp://x"), ("ca_file", "/no.pem"), ("client_cert", "/no.crt"),
                        ("client_key", "/no.key")):  # fmt: skip
        wizard.fields[name].setText(value)
    tap_field(wizard, "token")
    tap(wizard.next)
    shown = keyboard()
    typed["crowded"] = {"problems": wizard.said.count("\n") + 1, "window": wizard.geometry().getRect(),
                        "keyboard": shown.geometry().getRect() if shown else None}  # fmt: skip
    print(json.dumps(typed, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    sys.stdout.flush()
    os._exit(0)  # as tests/wizard_by_touch.py: PySide's teardown of the keyboard's QML objects can abort at exit
