"""A hall's CUPS printer: the slip as an A4 page through a real cupsd and cups-pdf, read back from the PDF by OCR
and zbar; a paused queue, a missing queue and a job that never comes out, as staff and citizens meet them."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from hardware import cups
from hardware.cups import CupsDriver, state_of
from hardware.printer import PrinterThread
from kiosk.events import PrinterChanged, SlipPrinted
from kiosk.slip import slip_for
from tests.cups_server import CupsServer, pages
from tests.test_printer import HALL, NOW, certification, ocr, qr_of


@pytest.fixture
def cupsd(monkeypatch: pytest.MonkeyPatch) -> Iterator[CupsServer]:
    server = CupsServer()
    monkeypatch.setenv("CUPS_SERVER", str(server.socket))
    yield server
    server.stop()


def next_printed(events: queue.Queue, timeout: float = 30) -> SlipPrinted:
    while True:
        event = events.get(timeout=timeout)
        if isinstance(event, SlipPrinted):
            return event


def test_a_slip_through_cups_comes_out_as_an_a4_page_that_reads_back(
    cupsd: CupsServer, qapp: QApplication, tmp_path: Path
) -> None:
    events: queue.Queue = queue.Queue()
    thread = PrinterThread(events.put, CupsDriver(cupsd.queue))
    thread.start()
    try:
        notice = certification()
        thread.print_slips(notice.id, (slip_for(notice, HALL, "hall-3", NOW),))
        assert next_printed(events) == SlipPrinted(notice.id, ok=True, state="ready"), cupsd.log()
    finally:
        thread.stop()
    [pdf] = cupsd.pdfs()  # read before the server and its folder go
    [page] = pages(pdf, tmp_path)
    read = ocr(page)
    assert "养老金认证" in read and f"{notice.deadline.month}月{notice.deadline.day}日前" in read, read
    assert qr_of(page) == [notice.action_url]
    assert cupsd.lp("lpstat", "-o", cupsd.queue) == "", "nothing left in the queue"


def test_a_paused_queue_prints_nothing_and_says_offline_with_its_cause(cupsd: CupsServer, qapp: QApplication) -> None:
    cupsd.lp("cupsdisable", cupsd.queue)
    driver = CupsDriver(cupsd.queue)
    assert driver.state() == PrinterChanged("offline", "CUPS: paused")
    events: queue.Queue = queue.Queue()
    thread = PrinterThread(events.put, driver)
    thread.start()
    try:
        thread.print_slips("n1", (slip_for(certification(), HALL, "hall-3", NOW),))
        assert next_printed(events) == SlipPrinted("n1", ok=False, state="offline")
        cupsd.lp("cupsenable", cupsd.queue)  # staff resume the queue: nothing was sent, so nothing comes out
        thread.look_now()
        assert events.get(timeout=10) == PrinterChanged("ready")
    finally:
        thread.stop()
    time.sleep(2)  # cups-pdf would have written it by now
    assert cupsd.pdfs() == [] and cupsd.lp("lpstat", "-o", cupsd.queue) == ""


def test_a_job_that_does_not_come_out_is_cancelled_and_not_printed_again_by_itself(
    cupsd: CupsServer, qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cups, "CUPS_JOB_WAIT_S", 1.0)  # a minute, shortened for the test
    driver = CupsDriver(cupsd.queue)
    cupsd.lp("cupsdisable", cupsd.queue)  # the queue stops while the job is on its way
    sent = driver.send((slip_for(certification(), HALL, "hall-3", NOW), slip_for(certification(), HALL, "h", NOW)))
    assert sent.after.state == "offline" and sent.through == 0
    assert not sent.resumable, "a printer that took it may still print it: the kiosk does not send it again"
    assert cupsd.lp("lpstat", "-o", cupsd.queue) == "", "cancelled: it must not come out by itself later"
    cupsd.lp("cupsenable", cupsd.queue)
    time.sleep(2)  # cups-pdf would have written it by now
    assert cupsd.pdfs() == []


def test_each_slip_of_a_job_is_a_page_of_its_own_job(cupsd: CupsServer, qapp: QApplication) -> None:
    sent = CupsDriver(cupsd.queue).send(tuple(slip_for(certification(), HALL, f"hall-{n}", NOW) for n in (1, 2)))
    assert sent.through == 2 and sent.after == PrinterChanged("ready")
    assert len(cupsd.pdfs()) == 2


def test_a_queue_that_does_not_exist_is_absent_and_says_so(cupsd: CupsServer, qapp: QApplication) -> None:
    now = CupsDriver("no-such-queue").state()
    assert now.state == "absent" and "no-such-queue" in now.detail and "Invalid destination" in now.detail


@pytest.mark.parametrize(
    ("alerts", "state"),
    [("none", "ready"), ("media-empty-error", "paper_out"), ("media-needed-warning media-low-report", "paper_out"),
     ("door-open-error", "cover_open"), ("media-jam-error", "cutter_jam"), ("offline-report", "offline"),
     ("media-low-warning", "paper_low"), ("marker-supply-low-warning", "ready")],
)  # fmt: skip
def test_what_a_printer_driver_reports_to_cups_is_said_in_the_kiosks_words(alerts: str, state: str) -> None:
    lpstat = f"printer hall-a4 is idle.  enabled since Tue Dec  8 00:08:47 2026\n\tAlerts: {alerts}\n"
    assert state_of(lpstat)[0] == state
    assert state_of("printer hall-a4 disabled since Tue Dec  8 00:09:25 2026 -\n\tPaused\n\tAlerts: paused\n") == (
        "offline",
        "CUPS: paused",
    )
