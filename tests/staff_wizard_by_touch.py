"""An admin changes a running kiosk's set-up by touch alone: the corner held 5 s, the PIN on the staff pad,
the set-up wizard, the kiosk id typed on Qt Virtual Keyboard, saved and checked.

Run by tests/test_ui_wizard.py in a process of its own (the input method is chosen before Qt starts):
    python -m tests.staff_wizard_by_touch CONFIG_PATH ADMIN_PIN
Once the staff panel is open it says so on stdout and waits for a line on stdin: the test puts the card in
then (while staff are at the kiosk a card starts no citizen's session). At the end it prints one JSON line:
the staff panel's buttons, the live check's findings, the restarts asked for.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ui.input_method import enable_virtual_keyboard

assert enable_virtual_keyboard(), "Qt Virtual Keyboard (PySide6-Addons) is missing"

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton  # noqa: E402

from kiosk.cli import devices  # noqa: E402
from kiosk.config import load  # noqa: E402
from tests.touch_keyboard import hide_keyboard, type_text  # noqa: E402
from tests.wizard_by_touch import WIZARD, erase, tap, tap_field, wait_for  # noqa: E402
from ui import app as ui_app  # noqa: E402
from ui.app import KioskApp  # noqa: E402
from ui.staff import HOLD_MS  # noqa: E402

CLERK_PIN = "135792"


def shown_button(parent: object, words: str) -> QPushButton:
    found = [b for b in parent.findChildren(QPushButton) if b.text() == words and b.isVisible()]  # type: ignore[attr-defined]
    assert found, f"no {words!r} button on the screen"
    return found[0]


def main(config_path: Path, admin_pin: str) -> None:
    application = QApplication(sys.argv)  # noqa: F841 (kept alive for the run)
    restarts: list[int] = []
    ui_app.start_over = lambda: restarts.append(1)  # the kiosk would start over with the saved file
    kiosk = KioskApp(load(config_path), devices())
    kiosk.window.resize(1920, 1080)  # the hall's screen: the citizen's screens are laid out for 1920×1080 and 1080×1920
    kiosk.window.bridge.first_painted.connect(kiosk.start, Qt.ConnectionType.QueuedConnection)
    kiosk.window.show()
    kiosk.window.activateWindow()
    QTest.qWaitForWindowActive(kiosk.window)
    wait_for(lambda: kiosk.core is not None and kiosk.staff is not None, 10_000)  # started after the first paint
    handle = kiosk.window.windowHandle()
    QTest.mousePress(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(8, 8))
    QTest.qWait(HOLD_MS + 300)  # a finger held on the corner
    QTest.mouseRelease(handle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(8, 8))
    wait_for(lambda: kiosk.staff.isVisible(), 3000)
    for key in [*admin_pin, "OK"]:
        tap(shown_button(kiosk.staff, key))
    staff_buttons = sorted(b.text() for b in kiosk.staff.findChildren(QPushButton) if b.isVisible())
    print("staff panel open", flush=True)
    sys.stdin.readline()  # the card is in the reader
    tap(shown_button(kiosk.staff, "设置向导 · setup wizard"))
    wait_for(lambda: kiosk.wizard is not None and kiosk.wizard.isVisible(), 3000)
    wizard = kiosk.wizard
    WIZARD.append(wizard)
    tap_field(wizard, "kiosk_id")
    erase(len(wizard.form.kiosk_id))
    type_text("Hall-8\n")  # ↵: on to the location field
    hide_keyboard()
    tap(wizard.next)
    wait_for(lambda: wizard.page == "backend", 3000)
    tap(wizard.next)  # the backend as it was
    wait_for(lambda: wizard.page == "staff", 3000)
    tap_field(wizard, "clerk_pin")  # the admin PIN left empty: kept; this kiosk had no clerk PIN yet
    type_text(f"{CLERK_PIN}\n{CLERK_PIN}\n")  # the last ↵ goes to the next page
    wait_for(lambda: wizard.page == "check", 3000)
    tap(wizard.check_button)
    wait_for(lambda: wizard.next.isEnabled(), 60_000)
    findings = [(f.check, f.status, f.message) for f in wizard.checks_shown]
    tap(wizard.next)  # finish
    screen = kiosk.core.session.view.screen.name if kiosk.core else None
    kiosk.stop()
    print(json.dumps({"staff_buttons": staff_buttons, "findings": findings, "restarts": len(restarts),
                      "citizen_screen": screen}, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
    sys.stdout.flush()
    os._exit(0)  # as tests/wizard_by_touch.py: PySide's teardown of the keyboard's QML objects can abort at exit
