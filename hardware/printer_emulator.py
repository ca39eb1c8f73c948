"""An 80 mm ESC/POS receipt printer on a TCP port (as a network printer's 9100), for tests and the demo.

It takes what the kiosk sends as a real printer would: commands in turn (text in GB18030 in Chinese mode, sizes,
alignment, the printer's own QR code, the cut), real-time status queries (DLE EOT) answered at once even while a
fault has stopped it, GS r 1 answered in turn, DLE DC4 8 dropping a stopped job. It records each slip it printed
and draws it as the paper would look (`render`), so a test reads the slip as a citizen would: OCR and a QR reader.
Fault switches (FAULTS) stand for what halls meet: paper out or low, cover open, a jammed cutter, offline, paper
that runs out half-way through a slip.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hardware import escpos

if TYPE_CHECKING:
    from PySide6.QtGui import QPainter

FAULTS = {
    "paper_out": "no paper: DLE EOT 4 says paper end, and nothing prints",
    "paper_low": "the roll is near its end: it prints, and says so",
    "cover_open": "the cover is open: nothing prints",
    "cutter_jam": "the cutter is jammed: it stops at the cut",
    "offline": "offline with an error it does not name",
    "paper_ends_after:N": "the roll runs out after N more lines (a slip cut off half-way)",
    "silent": "takes the connection but never answers (a wrong device on the port)",
}
DOTS = 576  # printable width of 80 mm paper at 203 dpi
DPI = 203
MARGIN = 24  # dots of white around a slip's picture
FONT_A = 24  # dots: a line of font A, a Chinese character's width (a Latin one is half)


@dataclass
class Row:
    """One printed line: text in a style, a QR code, or the cut."""

    kind: str  # "text", "qr" or "cut"
    text: str = ""
    align: int = 0  # 0 left, 1 centre, 2 right
    size: int = 1  # width and height multiple
    bold: bool = False
    reverse: bool = False
    module: int = 3  # QR module size in dots


@dataclass
class Paper:
    """A slip as it came out: its rows; `cut` once the cutter went through it."""

    rows: list[Row] = field(default_factory=list)
    cut: bool = False

    def text(self) -> str:
        return "\n".join(row.text for row in self.rows if row.kind == "text")

    def qr_codes(self) -> list[str]:
        return [row.text for row in self.rows if row.kind == "qr"]


class PrinterEmulator:
    """Listens on 127.0.0.1:`port` (0: any free port; `listen=False`: bytes only through `feed`); `slips` holds
    every slip printed, whole or cut off."""

    def __init__(self, port: int = 0, faults: list[str] | None = None, listen: bool = True) -> None:
        self.faults = list(faults or [])
        self.check_faults(self.faults)
        self.slips: list[Paper] = []
        self.received = bytearray()  # every byte of every connection, for tests that look at the encoding
        self.jobs_arrived: list[float] = []  # time.monotonic() of each job's first byte
        self._lock = threading.Lock()
        self._remainder = b""
        self._reset()
        self._server: socket.socket | None = None
        self._ptys: list[tuple[int, int]] = []
        if listen:
            self._server = socket.create_server(("127.0.0.1", port))
            self.port = self._server.getsockname()[1]
            threading.Thread(target=self._accept, name="printer-emulator", daemon=True).start()

    def feed(self, data: bytes) -> bytes:
        """Bytes as if from one connection; returns the printer's answers."""
        with self._lock:
            self.received += data
            self._remainder, answers = self._take(self._remainder + data)
        return answers

    @staticmethod
    def check_faults(faults: list[str]) -> None:
        known = {f.split(":")[0] for f in FAULTS}
        for fault in faults:
            name, _, arg = fault.partition(":")
            if name not in known or (name == "paper_ends_after") != arg.isdigit():
                raise ValueError(f"unknown printer fault {fault!r}; known: {', '.join(FAULTS)}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_faults(self, faults: list[str]) -> None:
        """The hall changes the printer: paper in, cover shut (resuming a stopped job, as printers do)…"""
        self.check_faults(faults)
        with self._lock:
            self.faults = list(faults)
            self._lines_left = self._paper_budget()
            if self._can_print():
                self._stopped = False
                self._run_pending()

    def pty(self) -> str:
        """A pseudo-terminal standing for a USB or serial printer's device file: the path to give the kiosk
        (`printer.device`), raw as the unit sets a serial line; bytes written to it reach this printer."""
        import pty
        import tty

        master, slave = pty.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes through as they are, as on /dev/usb/lp0
        self._ptys.append((master, slave))
        threading.Thread(target=self._serve_pty, args=(master,), name="printer-emulator-pty", daemon=True).start()
        return os.ttyname(slave)

    def _serve_pty(self, master: int) -> None:
        self._serve_stream(lambda: os.read(master, 65536), lambda answers: os.write(master, answers))

    def _serve_stream(self, read: Callable[[], bytes], write: Callable[[bytes], object]) -> None:
        """One connection or the pty: bytes in until it closes, the printer's answers out."""
        remainder = b""
        while True:
            try:
                data = read()
            except OSError:
                return
            if not data:
                return
            remainder, answers = self._arrived(remainder, data)
            if answers:
                try:
                    write(answers)
                except OSError:
                    return

    def _arrived(self, remainder: bytes, data: bytes) -> tuple[bytes, bytes]:
        """Bytes from a connection or the pty: taken in turn; what is left of a command, and the answers."""
        with self._lock:
            if data.startswith(escpos.INITIALIZE):  # a job's first byte (the bench's tap → first byte)
                self.jobs_arrived.append(time.monotonic())
            self.received += data
            if "silent" in self.faults:
                return remainder, b""
            return self._take(remainder + data)

    def close(self) -> None:
        for master, slave in self._ptys:
            with contextlib.suppress(OSError):
                os.close(slave)
                os.close(master)
        self._ptys.clear()
        if self._server is None:
            return
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() a close alone would leave waiting
        self._server.close()

    # -- the connection ----------------------------------------------------------------------
    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            self._serve_stream(lambda: conn.recv(65536), conn.sendall)

    # -- the printer's own state ---------------------------------------------------------------
    def _reset(self) -> None:
        self._align, self._size, self._bold, self._reverse, self._chinese, self._module = 0, 1, False, False, False, 3
        self._line = bytearray()
        self._qr_data = b""
        self._paper = Paper()
        self._stopped = False
        self._pending: list[bytes] = []  # commands a fault stopped, run when it is cleared (or dropped by DLE DC4 8)
        self._answers = bytearray()
        self._lines_left = self._paper_budget()

    def _paper_budget(self) -> int | None:
        for fault in self.faults:
            if fault.startswith("paper_ends_after:"):
                return int(fault.split(":")[1])
        return None

    def _can_print(self) -> bool:
        return not {"paper_out", "cover_open", "offline"} & set(self.faults) and self._lines_left != 0

    def _status(self, n: int) -> int:
        out = set(self.faults)
        paper_end = "paper_out" in out or self._lines_left == 0
        byte = 0x12
        if n == 1 and (out & {"offline", "cover_open", "cutter_jam"} or paper_end):
            byte |= escpos.OFFLINE
        if n == 2:
            byte |= (escpos.COVER_OPEN if "cover_open" in out else 0) | (escpos.PAPER_STOP if paper_end else 0)
            byte |= escpos.ERROR if out & {"offline", "cutter_jam"} else 0
        if n == 3:
            byte |= (escpos.CUTTER_ERROR if "cutter_jam" in out else 0) | (
                escpos.UNRECOVERABLE if "offline" in out else 0
            )
        if n == 4:
            byte |= (escpos.PAPER_END if paper_end else 0) | (escpos.PAPER_NEAR_END if "paper_low" in out else 0)
        return byte

    # -- commands -----------------------------------------------------------------------------
    def _take(self, data: bytes) -> tuple[bytes, bytes]:
        """`data` as commands: real-time ones act at once, the rest in turn. Returns (incomplete tail, answers)."""
        at = 0
        while at < len(data):
            length = command_length(data, at)
            if length == 0:
                break
            command = bytes(data[at : at + length])
            at += length
            if command[:2] == bytes([escpos.DLE, escpos.EOT]):
                self._answers.append(self._status(command[2]))
            elif command == escpos.CLEAR_BUFFER:
                self._pending.clear()
            elif self._stopped:
                self._pending.append(command)
            else:
                self._run(command)
        answers, self._answers = bytes(self._answers), bytearray()
        return bytes(data[at:]), answers

    def _run_pending(self) -> None:
        while self._pending and not self._stopped:
            self._run(self._pending.pop(0))

    def _run(self, command: bytes) -> None:
        if self._stopped or not self._can_print():  # a stopped printer keeps the rest of the job in its buffer
            self._stopped = True
            self._pending.append(command)
            return
        first = command[0]
        if command == escpos.INITIALIZE:
            self._align, self._size, self._bold, self._reverse, self._chinese = 0, 1, False, False, False
        elif command == escpos.CHINESE_ON:
            self._chinese = True
        elif first == escpos.ESC and command[1] == ord("a"):
            self._align = command[2]
        elif first == escpos.ESC and command[1] == ord("E"):
            self._bold = bool(command[2])
        elif first == escpos.GS and command[1] == ord("B"):
            self._reverse = bool(command[2])
        elif first == escpos.GS and command[1] == ord("!"):
            self._size = (command[2] & 0x0F) + 1
        elif first == escpos.GS and command[1] == ord("("):
            self._qr_function(command)
        elif first == escpos.GS and command[1] == ord("V"):
            self._cut()
        elif first == escpos.GS and command[1] == ord("r"):
            self._answers.append(0x03 if "paper_low" in self.faults else 0x00)
        elif command == b"\n":
            self._end_line()
        elif first >= 0x20:
            self._line += command

    def _end_line(self) -> None:
        encoding = escpos.CODE_PAGE if self._chinese else "ascii"
        text = bytes(self._line).decode(encoding, errors="replace")
        self._paper.rows.append(Row("text", text, self._align, self._size, self._bold, self._reverse))
        self._line.clear()
        if self._lines_left is not None:
            self._lines_left -= 1
            if self._lines_left == 0:
                self._keep_cut_off_slip()

    def _keep_cut_off_slip(self) -> None:
        self._stopped = True
        if self._paper.rows:
            self.slips.append(self._paper)  # half a slip, left hanging out of the printer
        self._paper = Paper()

    def _qr_function(self, command: bytes) -> None:
        fn = command[6]
        if fn == 67:
            self._module = command[7]
        elif fn == 80:
            self._qr_data = command[8:]
        elif fn == 81:
            self._paper.rows.append(Row("qr", self._qr_data.decode("utf-8", "replace"), self._align,
                                        module=self._module))  # fmt: skip

    def _cut(self) -> None:
        if "cutter_jam" in self.faults:
            self._stopped = True
            self._pending.append(escpos.FEED_AND_CUT)
            return
        self._paper.cut = True
        self.slips.append(self._paper)
        self._paper = Paper()


def command_length(data: bytes, at: int) -> int:
    """The length of the command at `data[at]`, or 0 if it is not all there yet."""
    first, left = data[at], len(data) - at
    fixed = {
        (escpos.ESC, ord("@")): 2, (escpos.FS, ord("&")): 2, (escpos.FS, ord(".")): 2,
        (escpos.ESC, ord("a")): 3, (escpos.ESC, ord("E")): 3, (escpos.GS, ord("!")): 3,
        (escpos.GS, ord("r")): 3, (escpos.GS, ord("B")): 3, (escpos.DLE, escpos.EOT): 3, (escpos.DLE, 0x14): 10,
    }  # fmt: skip
    if first in (escpos.ESC, escpos.GS, escpos.FS, escpos.DLE):
        if left < 2:
            return 0
        second = data[at + 1]
        if (first, second) in fixed:
            n = fixed[(first, second)]
            return n if left >= n else 0
        if (first, second) == (escpos.GS, ord("(")):
            if left < 5:
                return 0
            n = 5 + data[at + 3] + 256 * data[at + 4]
            return n if left >= n else 0
        if (first, second) == (escpos.GS, ord("V")):
            n = 4 if left >= 3 and data[at + 2] in (65, 66) else 3
            return n if left >= n else 0
        return 2  # a command this printer does not know: skipped, as printers do
    if first == 0x0A:
        return 1
    end = at
    while end < len(data) and data[end] >= 0x20 and data[end] not in (escpos.ESC, escpos.GS, escpos.FS, escpos.DLE):
        end += 1
    return (end - at) or 1  # text up to the next command (a control byte alone is skipped)


def printed(job: bytes) -> list[Paper]:
    """What a printer with a full roll makes of `job`, with no port: for pictures of slips."""
    printer = PrinterEmulator(listen=False)
    printer.feed(job)
    return printer.slips


# ---------------------------------------------------------------------------------------------
# The slip as the paper looks (Qt draws it; a QGuiApplication must exist)
# ---------------------------------------------------------------------------------------------
def render(paper: Paper, path: Path) -> Path:
    """Draw `paper` to a PNG the width of 80 mm paper: the text in Noto Sans CJK, the QR's modules, the cut."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QImage, QPainter, QPen

    image = QImage(DOTS + 2 * MARGIN, height_of(paper) + 3 * MARGIN, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    y = draw(painter, paper, MARGIN, MARGIN)
    if paper.cut:
        painter.setPen(QPen(QColor("#888888"), 2, Qt.PenStyle.DashLine))
        painter.drawLine(0, y + MARGIN, image.width(), y + MARGIN)
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))
    return path


def height_of(paper: Paper) -> int:
    """The slip's printed height in dots."""
    return sum(_row_height(row) for row in paper.rows)


def draw(painter: QPainter, paper: Paper, left: int, top: int) -> int:
    """Draw `paper`'s rows as the printer prints them, in dots, from (`left`, `top`); returns the y below them.
    The emulator's pictures and the CUPS page (hardware.cups) are drawn by this one function."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont

    from kiosk.qr import encode_qr
    from kiosk.slip import cells

    y = top
    for row in paper.rows:
        height = _row_height(row)
        if row.kind == "text":  # cell by cell, as the printer's font: a Latin character 12 dots, a Chinese one 24
            font = QFont("Noto Sans CJK SC")
            font.setPixelSize(int(FONT_A * row.size * 0.92))
            font.setBold(row.bold)
            painter.setFont(font)
            cell = FONT_A // 2 * row.size
            width = cells(row.text) * cell
            x = left + [0, (DOTS - width) // 2, DOTS - width][row.align]
            if row.reverse:
                painter.fillRect(x, y, width, height, QColor("black"))
            painter.setPen(QColor("white" if row.reverse else "black"))
            for ch in row.text:
                wide = cells(ch) * cell
                painter.drawText(QRect(x, y, wide, height), Qt.AlignmentFlag.AlignCenter, ch)
                x += wide
        elif row.kind == "qr":
            matrix = encode_qr(row.text)
            x = left + (DOTS - len(matrix) * row.module) // 2 if row.align == 1 else left
            for r, modules in enumerate(matrix):
                for c, dark in enumerate(modules):
                    if dark:
                        painter.fillRect(x + c * row.module, y + r * row.module, row.module, row.module,
                                         QColor("black"))  # fmt: skip
        y += height
    return y


def _row_height(row: Row) -> int:
    if row.kind == "qr":
        from kiosk.qr import encode_qr

        return len(encode_qr(row.text)) * row.module
    return (FONT_A + 6) * row.size
