"""A citizen takes a notice home on paper: the whole kiosk (real window, real pcscd with the emulated card, the
reference backend) and the emulated ESC/POS printer on a TCP port, or a CUPS queue through cups-pdf; the slip
read back by OCR and zbar."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel
from pytestqt.qtbot import QtBot

from hardware.printer_emulator import PrinterEmulator, render
from kiosk.config import from_text
from kiosk.hall.server import HallServer
from kiosk.session import Screen
from kiosk.staff import hash_pin
from tests.conftest import kiosk_toml, person_fields, running_kiosk
from tests.cups_server import CupsServer, pages
from tests.test_printer import ocr, qr_of
from tests.test_ui_flow import screen_is, tap_first_notice, tap_text
from tests.test_ui_staff import CLERK_PIN, press, type_pin
from ui.app import KioskApp

HALL = '[hall]\nname = "朝阳区社会保障服务大厅"\naddress = "朝阳路12号一层"\ncounter = "3号综合窗口"\n'


@pytest.fixture
def printer() -> Iterator[PrinterEmulator]:
    emulator = PrinterEmulator()
    yield emulator
    emulator.close()


@pytest.fixture
def kiosk(
    tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication, printer: PrinterEmulator
) -> Iterator[KioskApp]:
    extra = f'{HALL}[printer]\nkind = "escpos-network"\ndevice = "{printer.address}"\n[voice]\nenabled = false\n'
    extra += f'[staff]\nclerk_pin_hash = "{hash_pin(CLERK_PIN)}"\n'
    config = from_text(kiosk_toml(backend, tmp_path / "data", extra), tmp_path / "kiosk.toml")
    with running_kiosk(config) as app:
        yield app


@pytest.fixture
def cups_kiosk(
    tmp_path: Path, backend: HallServer, pcscd: None, qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[KioskApp, CupsServer]]:
    cupsd = CupsServer()
    monkeypatch.setenv("CUPS_SERVER", str(cupsd.socket))
    extra = f'{HALL}[printer]\nkind = "cups"\ndevice = "{cupsd.queue}"\n[voice]\nenabled = false\n'
    try:
        with running_kiosk(from_text(kiosk_toml(backend, tmp_path / "data", extra), tmp_path / "kiosk.toml")) as app:
            yield app, cupsd
    finally:
        cupsd.stop()


def visible_texts(kiosk: KioskApp) -> str:
    return " ".join(t.text() for t in kiosk.window.findChildren(QLabel) if t.isVisible())


def print_button(kiosk: KioskApp) -> QAbstractButton | None:
    return next((b for b in kiosk.window.findChildren(QAbstractButton) if b.isVisible() and b.text() == "打印"), None)


def open_most_urgent(qtbot: QtBot, kiosk: KioskApp, card_slot: Callable[..., object]) -> None:
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: screen_is(kiosk, Screen.NOTICES)() and not kiosk.window.view.personal_loading, timeout=5000)
    tap_first_notice(qtbot, kiosk)
    qtbot.waitUntil(screen_is(kiosk, Screen.DETAIL), timeout=3000)


def test_a_citizen_prints_the_most_urgent_notice_and_takes_it_home(
    qtbot: QtBot, kiosk: KioskApp, printer: PrinterEmulator, card_slot: Callable[..., object], tmp_path: Path
) -> None:
    qtbot.waitUntil(lambda: kiosk.printer_state.state == "ready", timeout=5000)
    assert any("打印机 printer: 正常 ready" in line for line in kiosk.staff_status())
    open_most_urgent(qtbot, kiosk, card_slot)
    notice = kiosk.window.view.detail
    assert notice is not None and notice.priority == "urgent" and notice.deadline
    assert "请带上：身份证、社保卡" in visible_texts(kiosk), "what to bring, under the title"
    tap_text(qtbot, kiosk, "打印")
    qtbot.waitUntil(lambda: kiosk.window.view.printing == "printed", timeout=10000)
    assert kiosk.window.view.screen == Screen.DETAIL and kiosk.window.view.detail == notice
    [slip] = printer.slips
    assert slip.cut
    png = render(slip, tmp_path / "slip.png")
    read = ocr(png)
    assert notice.title in read, read
    assert f"{notice.deadline.year}年{notice.deadline.month}月{notice.deadline.day}日前" in read, read
    assert qr_of(png) == [notice.action_url]
    assert "请带上" in read and "身份证、社保卡" in read, read
    person = person_fields("wang-ming")
    sent = bytes(printer.received).decode("gb18030", errors="replace")
    for field in ("name", "ssn", "card_no", "card_id"):
        assert person[field] not in sent, field
    assert "王先生" not in sent, "this hall has not allowed the greeting on paper"


def test_a_citizen_prints_the_most_urgent_notice_on_the_halls_cups_printer(
    qtbot: QtBot, cups_kiosk: tuple[KioskApp, CupsServer], card_slot: Callable[..., object], tmp_path: Path
) -> None:
    kiosk, cupsd = cups_kiosk
    qtbot.waitUntil(lambda: kiosk.printer_state.state == "ready", timeout=5000)
    open_most_urgent(qtbot, kiosk, card_slot)
    notice = kiosk.window.view.detail
    assert notice is not None and notice.deadline
    tap_text(qtbot, kiosk, "打印")
    qtbot.waitUntil(lambda: kiosk.window.view.printing == "printed", timeout=30000)
    [pdf] = cupsd.pdfs()
    [page] = pages(pdf, tmp_path)
    read = ocr(page)
    assert notice.title in read and f"{notice.deadline.month}月{notice.deadline.day}日前" in read, read
    assert qr_of(page) == [notice.action_url]
    person = person_fields("wang-ming")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=30).stdout
    read_all = text + read
    for field in ("name", "ssn", "card_no", "card_id"):
        assert person[field] not in read_all, field


def test_a_printer_out_of_paper_shows_one_calm_line_instead_of_the_button(
    qtbot: QtBot, kiosk: KioskApp, printer: PrinterEmulator, card_slot: Callable[..., object], backend: HallServer
) -> None:
    qtbot.waitUntil(lambda: kiosk.printer_state.state == "ready", timeout=5000)
    open_most_urgent(qtbot, kiosk, card_slot)
    assert print_button(kiosk) is not None
    printer.set_faults(["paper_out"])
    tap_text(qtbot, kiosk, "打印")
    qtbot.waitUntil(lambda: "打印纸用完了，工作人员会来换。" in visible_texts(kiosk), timeout=10000)
    assert print_button(kiosk) is None and printer.slips == []
    assert kiosk.window.view.screen == Screen.DETAIL
    assert any("打印机 printer: 没纸了 out of paper" in line for line in kiosk.staff_status())
    assert kiosk.worker_state()["printer"] == "paper_out"
    # The hall's console sees it too: the kiosk's next heartbeat carries the printer's state.
    for _ in range(10):  # the state reaches the network worker within half a second; kick a round until it has
        kiosk.network.sync_now()
        if any(b.get("printer") == "paper_out" for b in backend.heartbeats()):
            break
        qtbot.wait(1000)
    assert any(b.get("printer") == "paper_out" for b in backend.heartbeats())


def test_staff_print_a_test_slip_from_the_panel_and_see_why_it_did_not_come_out(
    qtbot: QtBot, kiosk: KioskApp, printer: PrinterEmulator, tmp_path: Path
) -> None:
    qtbot.waitUntil(lambda: kiosk.printer_state.state == "ready", timeout=5000)
    printer.set_faults(["cover_open"])
    kiosk.staff.open()
    type_pin(qtbot, kiosk, CLERK_PIN)
    press(qtbot, kiosk, "试打印 · test print")
    qtbot.waitUntil(lambda: "没打出来" in kiosk.staff.result, timeout=10000)
    assert "盖子开着 cover open" in kiosk.staff.result and printer.slips == []
    printer.set_faults([])  # staff close the cover and try again
    press(qtbot, kiosk, "试打印 · test print")
    qtbot.waitUntil(lambda: "打好了" in kiosk.staff.result, timeout=10000)
    [slip] = printer.slips
    read = ocr(render(slip, tmp_path / "test-slip.png"))
    assert "打印测试" in read and "朝阳区社会保障服务大厅" in read, read


def test_a_citizen_prints_all_that_is_due_from_the_list_each_on_its_own_slip(
    qtbot: QtBot, kiosk: KioskApp, printer: PrinterEmulator, card_slot: Callable[..., object], tmp_path: Path
) -> None:
    qtbot.waitUntil(lambda: kiosk.printer_state.state == "ready", timeout=5000)
    qtbot.waitUntil(lambda: bool(kiosk.window.view.headlines), timeout=10000)  # the hall's dated notices too
    card_slot("wang-ming")
    qtbot.waitUntil(screen_is(kiosk, Screen.PIN), timeout=5000)
    for digit in "123456":
        tap_text(qtbot, kiosk, digit)
    qtbot.waitUntil(lambda: screen_is(kiosk, Screen.NOTICES)() and not kiosk.window.view.personal_loading, timeout=5000)
    due = kiosk.window.view.due
    assert len(due) >= 2, "wang-ming has more than one thing to do by a date"
    tap_text(qtbot, kiosk, f"打印要办的事（{len(due)}件）")
    qtbot.waitUntil(lambda: kiosk.window.view.printing == "printed", timeout=15000)
    assert len(printer.slips) == len(due) and all(slip.cut for slip in printer.slips)
    first = ocr(render(printer.slips[0], tmp_path / "first.png"))
    assert due[0].title in first, first  # the most urgent first
    assert [slip.qr_codes() for slip in printer.slips] == [[n.action_url] if n.action_url else [] for n in due]
