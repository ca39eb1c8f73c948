"""The printed slip, as a citizen takes it home: made from a notice, sent over a real TCP socket to the emulated
ESC/POS printer, drawn as the paper looks, and read back by OCR (tesseract) and a QR reader (zbar)."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from hardware import escpos
from hardware.printer import EscposDriver, PrinterThread, link_to
from hardware.printer_emulator import PrinterEmulator, printed, render
from kiosk.events import PrinterChanged, SlipPrinted
from kiosk.hall.api import load_data
from kiosk.notices import Notice, parse_notices
from kiosk.slip import CLOSING, Place, cells, lines, slip_for, wrap

ROOT = Path(__file__).resolve().parent.parent
CHINA = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 7, 14, 5, tzinfo=CHINA)
HALL = Place(name="朝阳区社会保障服务大厅", address="朝阳路12号一层", counter="3号综合窗口")


def sample_notices() -> tuple[list[Notice], dict[str, list[Notice]]]:
    broadcast, personal = load_data()
    return (
        [n for n, _ in parse_notices(broadcast)[0]],
        {ssn: [n for n, _ in parse_notices(items, personal=True)[0]] for ssn, items in personal.items()},
    )


def certification() -> Notice:
    _, personal = sample_notices()
    return next(n for n in personal["110105194803151234"] if n.category == "certification_due")


class Printer:
    """The printer thread on the emulated printer, its events in a queue."""

    def __init__(self, emulator: PrinterEmulator) -> None:
        self.emulator = emulator
        self.events: queue.Queue[PrinterChanged | SlipPrinted] = queue.Queue()
        self.thread = PrinterThread(self.events.put, EscposDriver(link_to("escpos-network", emulator.address)))
        self.thread.start()

    def next(self, kind: type, timeout: float = 10.0) -> object:
        while True:
            event = self.events.get(timeout=timeout)
            if isinstance(event, kind):
                return event


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    printer = PrinterEmulator()
    yield printer
    printer.close()


@pytest.fixture
def printer(emulator: PrinterEmulator) -> Iterator[Printer]:
    running = Printer(emulator)
    assert running.next(PrinterChanged) == PrinterChanged("ready")
    yield running
    running.thread.stop()


def ocr(png: Path) -> str:
    tesseract = shutil.which("tesseract")
    assert tesseract, "tesseract-ocr with chi_sim is part of the test set-up (./bootstrap installs it)"
    done = subprocess.run([tesseract, str(png), "-", "-l", "chi_sim", "--psm", "4"], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return "".join(done.stdout.split())  # tesseract puts spaces between Chinese characters


def qr_of(png: Path) -> list[str]:
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbar-tools is part of the test set-up (./bootstrap installs it)"
    done = subprocess.run([zbarimg, "--raw", "-q", str(png)], capture_output=True, text=True, timeout=30)
    return done.stdout.split()


# ---------------------------------------------------------------------------------------------
# What is on the slip
# ---------------------------------------------------------------------------------------------
def test_the_slip_says_what_by_when_and_where_and_nothing_of_the_card() -> None:
    notice = certification()
    slip = slip_for(notice, HALL, "hall-3", NOW, greeting=("王", "male"))
    assert slip.title == "请尽快做养老金认证"
    assert slip.deadline == f"请在{notice.deadline.year}年{notice.deadline.month}月{notice.deadline.day}日前办好"
    assert slip.where == ("到哪里办：朝阳路12号一层", "窗口：3号综合窗口")
    assert slip.qr_url == notice.action_url and slip.printed == "2026年12月7日 14:05  自助机 hall-3"
    assert slip.greeting == "", "a hall that has not allowed it prints no greeting"
    allowed = Place(**{**HALL.__dict__, "print_greeting": True})
    assert slip_for(notice, allowed, "hall-3", NOW, greeting=("王", "male")).greeting == "王先生，您好："


def test_no_line_of_a_slip_runs_past_the_paper_and_none_starts_with_a_closing_mark() -> None:
    broadcast, personal = sample_notices()
    for notice in broadcast + [n for items in personal.values() for n in items]:
        for paper_mm, width in escpos.PAPER_CELLS.items():
            for line in lines(slip_for(notice, HALL, "hall-3", NOW), width):
                room = width // 2 if line.style in ("title", "deadline") else width
                assert line.style == "qr" or cells(line.text) <= room, (notice.id, paper_mm, line)
                assert not line.text or line.text[0] not in CLOSING, (notice.id, line)
    assert wrap("一二三四五，六", 10) == ["一二三四", "五，六"]  # the comma takes 五 with it
    # An English word goes to the next line whole; Chinese before a space is not pulled down with it.
    assert wrap("the QR scans, the cut clean", 16) == ["the QR scans,", "the cut clean"]
    assert wrap("请 带身份证ABCDEFGH", 12) == ["请 带身份证A", "BCDEFGH"]


# ---------------------------------------------------------------------------------------------
# Printed, and read back as a person would
# ---------------------------------------------------------------------------------------------
def test_a_printed_slip_reads_back_by_ocr_and_its_qr_opens_the_notice(
    printer: Printer, emulator: PrinterEmulator, qapp: QApplication, tmp_path: Path
) -> None:
    notice = certification()
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=True, state="ready")
    [paper] = emulator.slips
    assert paper.cut and paper.qr_codes() == [notice.action_url]
    assert "请尽快做养老金认证" in paper.text()
    bring = next(row for row in paper.rows if row.text.startswith("请带上"))
    assert bring.text == "请带上：身份证、社保卡" and bring.bold, "what to bring, in bold, from the notice's bring"
    png = render(paper, tmp_path / "slip.png")
    read = ocr(png)
    assert "养老金认证" in read and "请带上" in read and "身份证、社保卡" in read, read  # OCR reads ： as :
    assert f"{notice.deadline.month}月{notice.deadline.day}日前" in read, read
    assert qr_of(png) == [notice.action_url]


def test_the_slips_of_one_job_come_out_each_cut_off_the_roll_in_order(
    printer: Printer, emulator: PrinterEmulator
) -> None:
    broadcast, personal = sample_notices()
    due = [n for n in broadcast + [n for items in personal.values() for n in items] if n.deadline][:3]
    printer.thread.print_slips("due", tuple(slip_for(n, HALL, "hall-3", NOW) for n in due))
    assert printer.next(SlipPrinted) == SlipPrinted("due", ok=True, state="ready")
    assert [paper.cut for paper in emulator.slips] == [True] * len(due)
    assert [paper.qr_codes() for paper in emulator.slips] == [[n.action_url] if n.action_url else [] for n in due]


def test_the_slip_goes_to_the_printer_in_gb18030_with_the_printers_own_qr_and_a_cut(
    printer: Printer, emulator: PrinterEmulator
) -> None:
    notice = certification()
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
    printer.next(SlipPrinted)
    sent = bytes(emulator.received)
    assert escpos.CHINESE_ON in sent and "请尽快做养老金认证".encode("gb18030") in sent
    assert b"\x1d(k" + bytes([len(notice.action_url) + 3, 0]) + b"1P0" + notice.action_url.encode() in sent
    assert escpos.FEED_AND_CUT in sent


def test_no_slip_of_a_sample_person_carries_their_name_ssn_or_card_number(
    printer: Printer, emulator: PrinterEmulator
) -> None:
    _, personal = sample_notices()
    persons = [json.loads(p.read_text(encoding="utf-8"))["card"] for p in (ROOT / "assets/persons").glob("*.json")]
    by_ssn = {person["ssn"]: person for person in persons}
    allowed = Place(**{**HALL.__dict__, "print_greeting": True})
    for ssn, notices in personal.items():
        person = by_ssn[ssn]
        for notice in notices:
            slip = slip_for(notice, allowed, "hall-3", NOW, (person["name"][0], "male"))
            printer.thread.print_slips(notice.id, (slip,))
            assert printer.next(SlipPrinted).ok
        sent = bytes(emulator.received).decode("gb18030", errors="replace")
        for field in ("name", "ssn", "card_no", "card_id"):
            assert person[field] not in sent, (ssn[:6], field)
        assert person["name"][0] + "先生" in sent  # the greeting the hall allowed, and no more


# ---------------------------------------------------------------------------------------------
# Printer faults
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "cutter_jam", "offline"])
def test_a_printer_that_cannot_print_says_why_and_prints_nothing(
    printer: Printer, emulator: PrinterEmulator, fault: str
) -> None:
    emulator.set_faults([fault])
    notice = certification()
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=False, state=fault)
    assert emulator.slips == [] and "养老金".encode("gb18030") not in bytes(emulator.received)


def test_paper_near_its_end_still_prints_and_says_so(printer: Printer, emulator: PrinterEmulator) -> None:
    emulator.set_faults(["paper_low"])
    notice = certification()
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
    assert printer.next(PrinterChanged) == PrinterChanged("paper_low")
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=True, state="paper_low")
    assert len(emulator.slips) == 1 and emulator.slips[0].cut


def test_a_slip_cut_off_half_way_is_printed_again_from_the_start_once_never_twice(
    printer: Printer, emulator: PrinterEmulator
) -> None:
    notice = certification()
    emulator.set_faults(["paper_ends_after:4"])
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=False, state="paper_out")
    [half] = emulator.slips
    assert not half.cut and len(half.rows) == 4
    emulator.set_faults(["paper_ends_after:6"])  # a new roll, which runs out again in the reprint
    printer.thread.look_now()
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=False, state="paper_out", again=True)
    emulator.set_faults([])  # a full roll at last: nothing more is printed by itself
    printer.thread.look_now()
    assert printer.next(PrinterChanged) == PrinterChanged("ready")
    assert len(emulator.slips) == 2 and not any(paper.cut for paper in emulator.slips)
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))  # the citizen asks again
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=True, state="ready")
    assert emulator.slips[-1].cut and emulator.slips[-1].rows[0].text == HALL.name


def test_a_reprint_after_the_fault_is_cleared_is_whole(printer: Printer, emulator: PrinterEmulator) -> None:
    notice = certification()
    emulator.set_faults(["paper_ends_after:3"])
    printer.thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
    assert not printer.next(SlipPrinted).ok
    emulator.set_faults([])  # staff put a new roll in; what was left of the job was dropped, not printed
    assert emulator.slips[-1].rows and not emulator.slips[-1].cut
    printer.thread.look_now()
    assert printer.next(SlipPrinted) == SlipPrinted(notice.id, ok=True, state="ready", again=True)
    whole = emulator.slips[-1]
    assert whole.cut and whole.rows[0].text == HALL.name and whole.qr_codes() == [notice.action_url]
    assert len(emulator.slips) == 2


@pytest.mark.parametrize("where", ["closed port", "silent"])
def test_a_printer_that_is_not_there_is_absent(where: str) -> None:
    emulator = PrinterEmulator(faults=["silent"] if where == "silent" else [])
    if where == "closed port":
        emulator.close()
    try:
        printer = Printer(emulator)
        changed = printer.next(PrinterChanged)
        assert changed.state == "absent" and changed.detail
        printer.thread.print_slips("n1", (slip_for(certification(), HALL, "hall-3", NOW),))
        assert printer.next(SlipPrinted) == SlipPrinted("n1", ok=False, state="absent")
        printer.thread.stop()
    finally:
        emulator.close()


def test_the_deadline_is_written_out_as_a_citizen_writes_it() -> None:
    from kiosk.slip import written_out

    assert written_out(date(2026, 12, 25)) == "2026年12月25日"
    assert written_out(date(2027, 1, 5)) == "2027年1月5日"


def test_a_usb_or_serial_printer_is_driven_through_its_device_file(tmp_path: Path, qapp: QApplication) -> None:
    """/dev/usb/lp0 or /dev/ttyS0, here a pseudo-terminal standing for it: the same job, status and faults."""
    emulator = PrinterEmulator(listen=False)
    device = emulator.pty()
    events: queue.Queue = queue.Queue()
    thread = PrinterThread(events.put, EscposDriver(link_to("escpos-device", device)))
    thread.start()
    try:
        assert events.get(timeout=5) == PrinterChanged("ready")
        notice = certification()
        thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
        assert events.get(timeout=10) == SlipPrinted(notice.id, ok=True, state="ready")
        [paper] = emulator.slips
        assert paper.cut and paper.qr_codes() == [notice.action_url]
        assert "养老金认证" in ocr(render(paper, tmp_path / "slip.png"))
        emulator.set_faults(["cover_open"])
        thread.look_now()
        assert events.get(timeout=5) == PrinterChanged("cover_open")
    finally:
        thread.stop()
        emulator.close()
    gone = EscposDriver(link_to("escpos-device", str(tmp_path / "lp0"))).state()
    assert gone.state == "absent" and "No such file" in gone.detail, gone


def test_a_job_of_several_slips_cut_off_reprints_only_the_slips_that_did_not_come_out(
    printer: Printer, emulator: PrinterEmulator
) -> None:
    broadcast, personal = sample_notices()
    due = [n for n in broadcast + [n for items in personal.values() for n in items] if n.deadline][:3]
    slips = tuple(slip_for(n, HALL, "hall-3", NOW) for n in due)
    first_rows = len(printed(escpos.slip_bytes(lines(slips[0], 48), 80))[0].rows)
    emulator.set_faults([f"paper_ends_after:{first_rows + 3}"])  # the roll ends in the second slip
    printer.thread.print_slips("7:due", slips)
    assert printer.next(SlipPrinted) == SlipPrinted("7:due", ok=False, state="paper_out")
    emulator.set_faults([])  # a new roll
    printer.thread.look_now()
    assert printer.next(SlipPrinted) == SlipPrinted("7:due", ok=True, state="ready", again=True)
    came_out = [next(n.id for n in due if n.title.startswith(paper.rows[2].text)) if paper.cut else "(cut off)"
                for paper in emulator.slips]  # fmt: skip  # rows[2]: the title's first line, under hall and rule
    assert came_out == [due[0].id, "(cut off)", due[1].id, due[2].id], "the first slip is not printed twice"


def test_a_printer_that_takes_no_bytes_does_not_hold_the_printer_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """usblp blocks a write while the paper is out: here a device nobody reads, whose buffer fills up."""
    import os
    import pty

    from hardware import printer as printer_module

    monkeypatch.setattr(printer_module, "JOB_WAIT_S", 0.5)
    master, slave = pty.openpty()
    try:
        link = printer_module.DeviceLink(os.ttyname(slave))
        started = time.monotonic()
        with pytest.raises(printer_module.PrinterGone, match="took no bytes"):
            link.write(b"x" * 1_000_000)
        assert time.monotonic() - started < 3
        link.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_driver_that_breaks_leaves_the_printer_out_of_use_and_the_thread_alive() -> None:
    class Broken:
        wait_s = 1.0

        def state(self) -> PrinterChanged:
            raise RuntimeError("lpstat printed something odd")

        def send(self, slips: tuple) -> object:
            raise AssertionError("never sent: the printer is not fine")

    events: queue.Queue = queue.Queue()
    thread = PrinterThread(events.put, Broken())  # type: ignore[arg-type]
    thread.start()
    try:
        assert events.get(timeout=5) == PrinterChanged("absent", "RuntimeError: lpstat printed something odd")
        thread.print_slips("1:n1", (slip_for(certification(), HALL, "hall-3", NOW),))
        assert events.get(timeout=5) == SlipPrinted("1:n1", ok=False, state="absent")
        assert thread.is_alive()
    finally:
        thread.stop()
