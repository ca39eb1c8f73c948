"""A field engineer sets a new kiosk up by touch alone: every character through Qt Virtual Keyboard.

Run by tests/test_ui_wizard.py in a process of its own (the input method is chosen before Qt starts):
    python -m tests.wizard_by_touch CONFIG_PATH BACKEND_URL TOKEN SETUP_CODE
As `ss-kiosk run` on a new kiosk (ui.app.first_run), the wizard asks first for the setup code the installer printed.
Prints one JSON line: what each field held, and the live check's findings.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ui.input_method import enable_virtual_keyboard

assert enable_virtual_keyboard(), "Qt Virtual Keyboard (PySide6-Addons) is missing"

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton, QScrollArea, QWidget  # noqa: E402

from kiosk.config import default_data_dir  # noqa: E402
from kiosk.doctor import setup_checks  # noqa: E402
from kiosk.setup import SetupCode  # noqa: E402
from tests.touch_keyboard import hide_keyboard, keyboard, tap_key, type_text, visible_keys  # noqa: E402
from ui.theme import DEFAULT, stylesheet  # noqa: E402
from ui.wizard import SetupWizard  # noqa: E402

BACKSPACE = int(Qt.Key.Key_Backspace.value)
WIZARD: list[SetupWizard] = []


def wait_for(condition: Callable[[], bool], timeout_ms: int) -> None:
    for _ in range(timeout_ms // 50):
        if condition():
            return
        QTest.qWait(50)
    said = f"; the wizard says: {WIZARD[0].problem.text()!r} on {WIZARD[0].page}" if WIZARD else ""
    raise AssertionError(f"waited in vain{said}")


def tap(widget: QWidget) -> None:
    """A finger on a widget, scrolled into view first as a person would."""
    scroll = widget.parentWidget()
    while scroll is not None and not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    if scroll is not None:
        scroll.ensureWidgetVisible(widget)
        QTest.qWait(150)
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
    QTest.qWait(150)


def tap_field(wizard: SetupWizard, name: str) -> None:
    tap(wizard.fields[name])
    wait_for(lambda: keyboard() is not None, 5000)
    QTest.qWait(300)  # the keyboard slides in


def erase(count: int) -> None:
    for _ in range(count):
        tap_key(next(k for k in visible_keys() if k.property("key") == BACKSPACE))


def shot(name: str) -> None:
    """With WIZARD_SHOTS=DIR, the wizard's window, keyboard included, for docs/deploy.md."""
    if folder := os.environ.get("WIZARD_SHOTS"):
        WIZARD[0].grab().save(str(Path(folder) / f"wizard-touch-{name}.png"))


def main(config_path: Path, backend_url: str, token: str, setup_code: str) -> None:
    application = QApplication(sys.argv)  # noqa: F841 (kept alive for the run)
    wizard = SetupWizard(config_path, checks=setup_checks, setup_code=SetupCode(config_path, default_data_dir()))
    WIZARD.append(wizard)
    wizard.setStyleSheet(stylesheet(DEFAULT, 1.0))
    wizard.resize(1280, 800)
    wizard.show()
    wizard.activateWindow()
    QTest.qWaitForWindowActive(wizard)
    by_text = {b.text(): b for b in wizard.findChildren(QPushButton)}

    tap_field(wizard, "setup_code")
    type_text(f"{setup_code}\n")  # the number pad; ↵ goes on to the kiosk id
    erase(len(wizard.form.kiosk_id))
    type_text("Hall-7\n")  # ↵ goes to the next field, as on a phone
    QTest.qWait(300)  # the keyboard changes to pinyin: the location field takes Chinese
    type_text("ni")
    QTest.qWait(300)  # the candidates come up
    shot("1-pinyin")
    type_text(" ")  # pinyin: n, i, then space takes the first candidate
    location = wizard.form.location
    hide_keyboard()  # the choices were under it
    tap(by_text["竖屏 portrait"])
    tap(wizard.next)
    wait_for(lambda: wizard.page == "backend", 3000)

    tap_field(wizard, "backend_url")
    type_text(backend_url.removeprefix("https://") + "\n")  # the field starts with https://; ↵ goes on
    type_text(token)
    shot("2-backend")
    type_text("\n")
    tap(wizard.findChild(QPushButton, f"pick:ca_file:{config_path.parent.joinpath('ca.pem').name}"))
    tap(wizard.next)
    wait_for(lambda: wizard.page == "staff", 3000)

    tap_field(wizard, "admin_pin")
    type_text("246813\n246813\n1357")
    shot("3-pins")
    type_text("92\n135792\n")  # the last ↵ goes to the next page
    wait_for(lambda: wizard.page == "check", 3000)
    tap(wizard.check_button)
    wait_for(lambda: wizard.next.isEnabled(), 60_000)
    findings = [(f.check, f.status, f.message) for f in wizard.checks_shown]
    shot("4-checked")
    finished: list[object] = []
    wizard.finished.connect(finished.append)
    tap(wizard.next)
    form = wizard.form
    typed = {"kiosk_id": form.kiosk_id, "url": form.backend_url, "token": form.token, "ca_file": form.ca_file,
             "orientation": form.orientation}  # fmt: skip
    print(json.dumps({"location": location, "form": typed, "findings": findings, "finished": len(finished)},
                     ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
    sys.stdout.flush()
    os._exit(0)  # PySide's teardown of the keyboard's QML objects can abort at exit; the answer is printed
