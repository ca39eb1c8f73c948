"""A CUPS printer (an A4 office printer the hall already has): the slip as a PDF page, through `lp`.

The page is the receipt slip itself, as an 80 mm ESC/POS printer prints it (`printer_emulator.printed` reads the
same bytes the thermal printer gets, `printer_emulator.draw` draws them), twice its size on A4 for old eyes, one
slip to a page and one job a slip. The PDF goes to `lp` on its standard input: no copy of it is left on the
kiosk's disk. The printer's state is CUPS's (`lpstat -l -p`: paused, and the printer-state-reasons a driver
reports, such as media-empty); a job that has not left the queue in CUPS_JOB_WAIT_S is cancelled and not printed
again by itself (a printer that took it may still print it: the citizen can tap again).
Drawing needs a QGuiApplication: the kiosk's, or the one doctor makes (kiosk.doctor.check_printer).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from hardware import escpos
from hardware.printer import LOOK_DURING_JOB_S, Sent
from hardware.printer_emulator import DOTS, DPI, MARGIN, draw, height_of, printed
from kiosk.events import PrinterChanged
from kiosk.slip import CAN_PRINT, Slip, lines

CUPS_JOB_WAIT_S = 60.0  # an office laser printer wakes, warms up and prints a page within a minute
COMMAND_WAIT_S = 10.0  # lp, lpstat and cancel answer from the local scheduler in milliseconds
PAGE_SCALE = 2.0  # the 80 mm slip at twice its size on A4: 144 mm wide
JOB_TITLE = "ss-kiosk slip"  # what the hall's CUPS lists for the job: nothing of the citizen
# CUPS printer-state-reasons (RFC 8011 and the PWG's, reported with -error, -warning or -report) in the kiosk's
# words, the one that stops a slip first.
REASONS = (
    ("media-empty", "paper_out"), ("media-needed", "paper_out"), ("door-open", "cover_open"),
    ("cover-open", "cover_open"), ("media-jam", "cutter_jam"), ("offline", "offline"), ("paused", "offline"),
    ("shutdown", "offline"), ("stopped", "offline"), ("connecting-to-device", "offline"),  # idle, and unreachable
    ("media-low", "paper_low"),
)  # fmt: skip


def state_of(lpstat: str) -> tuple[str, str]:
    """The printer's state and its cause from `LC_ALL=C lpstat -l -p QUEUE`."""
    first = lpstat.splitlines()[0] if lpstat.strip() else ""
    alerts = re.search(r"^\s*Alerts:\s*(.*)$", lpstat, re.MULTILINE)
    reasons = alerts.group(1).replace(",", " ").split() if alerts else []
    for reason, state in REASONS:
        found = next((r for r in reasons if r.startswith(reason)), None)
        if found:
            return state, f"CUPS: {found}"
    if " disabled " in f"{first} ":
        return "offline", "CUPS: the queue is paused (cupsenable)"
    return "ready", ""


def slip_pages(slips: tuple[Slip, ...]) -> bytes:
    """A PDF of `slips` on A4, one to a page, each as the thermal printer would print it."""
    from PySide6.QtCore import QBuffer, QIODevice, QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    width = escpos.PAPER_CELLS[80]
    papers = [paper for slip in slips for paper in printed(escpos.slip_bytes(lines(slip, width), 80))]
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(JOB_TITLE)
    writer.setResolution(DPI)  # one unit a printer's dot, as the slip is laid out
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0)))  # fmt: skip
    painter = QPainter(writer)
    page = writer.pageLayout().fullRectPixels(DPI)
    for n, paper in enumerate(papers):
        if n:
            writer.newPage()
        scale = min(PAGE_SCALE, page.width() / (DOTS + 2 * MARGIN), page.height() / (height_of(paper) + 2 * MARGIN))
        painter.save()
        painter.translate((page.width() - DOTS * scale) / 2, MARGIN * scale)
        painter.scale(scale, scale)
        draw(painter, paper, 0, 0)
        painter.restore()
    painter.end()
    buffer.close()
    return bytes(buffer.data())


class CupsDriver:
    """A CUPS queue by name ([printer] device), on the scheduler CUPS_SERVER names or the local one."""

    wait_s = CUPS_JOB_WAIT_S + COMMAND_WAIT_S

    def __init__(self, queue: str) -> None:
        self.queue = queue

    def state(self) -> PrinterChanged:
        done = self._run("lpstat", "-l", "-p", self.queue)
        if isinstance(done, str):
            return PrinterChanged("absent", done)
        if done.returncode != 0:
            return PrinterChanged("absent", f"CUPS queue {self.queue}: {_said(done)}")
        return PrinterChanged(*state_of(done.stdout))

    def send(self, slips: tuple[Slip, ...]) -> Sent:
        for through, slip in enumerate(slips):  # a job a slip: what CUPS finished is known slip by slip
            sent = self._send_one(slip)
            if sent is not None:
                return Sent(sent.after, through, sent.resumable)
        return Sent(self.state(), len(slips))

    def _send_one(self, slip: Slip) -> Sent | None:
        """None once the slip's job has left the queue finished; else why not."""
        done = self._run("lp", "-d", self.queue, "-t", JOB_TITLE, "-", stdin=slip_pages((slip,)))
        if isinstance(done, str) or done.returncode != 0:
            return Sent(PrinterChanged("absent", done if isinstance(done, str) else f"lp: {_said(done)}"), 0)
        job = re.search(r"request id is (\S+)", done.stdout)
        if job is None:
            return Sent(PrinterChanged("offline", f"lp said no job id: {done.stdout.strip()[:200]}"), 0, False)
        deadline = time.monotonic() + CUPS_JOB_WAIT_S
        while time.monotonic() < deadline:
            waiting = self._run("lpstat", "-o", self.queue)
            if not isinstance(waiting, str) and job.group(1) not in waiting.stdout.split():
                return self._after(job.group(1))
            time.sleep(LOOK_DURING_JOB_S)
        self._run("cancel", job.group(1))  # stuck: dropped; a printer that took it may still print it
        now = self.state()
        after = now if now.state not in CAN_PRINT else PrinterChanged("offline", "CUPS: the job did not come out")
        return Sent(after, 0, resumable=False)

    def _after(self, job: str) -> Sent | None:
        """None when `job` left the queue finished; a job CUPS ended with errors or cancelled did not print."""
        done = self._run("lpstat", "-W", "completed", "-l", "-o", self.queue)
        if not isinstance(done, str):
            block = re.search(rf"^{re.escape(job)}\s.*?(?=^\S|\Z)", done.stdout, re.MULTILINE | re.DOTALL)
            if block and re.search(r"completed-with-errors|canceled|aborted", block.group(0)):
                now = self.state()
                return Sent(now if now.state not in CAN_PRINT else PrinterChanged("offline", "CUPS: the job failed"), 0)
        return None

    def _run(self, *command: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str] | str:
        """A CUPS command's answer in English, or why there was none."""
        environment = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        try:
            done = subprocess.run(command, input=stdin, capture_output=True, timeout=COMMAND_WAIT_S,
                                  env=environment)  # fmt: skip
        except FileNotFoundError:
            return f"{command[0]} is not installed: apt-get install cups-client"
        except subprocess.TimeoutExpired:
            return f"{command[0]} did not answer in {COMMAND_WAIT_S:.0f} s: is cupsd running?"
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                           done.stderr.decode(errors="replace"))  # fmt: skip


def _said(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}")[:200]
