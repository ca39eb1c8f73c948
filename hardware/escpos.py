"""ESC/POS, as 80 mm and 58 mm Chinese thermal receipt printers speak it: the commands in one table, a slip in bytes,
and the printer's real-time status read back.

Text goes in GB18030 with the printer's Chinese mode on (FS &), as Chinese printers expect; the QR code is the
printer's own (GS ( k, model 2), not a picture, so it prints sharp at any module size. Correct the table against a
printer's manual, not the code around it.
"""

from __future__ import annotations

from kiosk.slip import Line, PrinterState

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
ESC, GS, FS, DLE, EOT = 0x1B, 0x1D, 0x1C, 0x10, 0x04
INITIALIZE = bytes([ESC, ord("@")])
CHINESE_ON = bytes([FS, ord("&")])  # two-byte characters (GB18030 on Chinese printers) from here on
LEFT, CENTRE = bytes([ESC, ord("a"), 0]), bytes([ESC, ord("a"), 1])
BOLD_ON, BOLD_OFF = bytes([ESC, ord("E"), 1]), bytes([ESC, ord("E"), 0])
REVERSE_ON, REVERSE_OFF = bytes([GS, ord("B"), 1]), bytes([GS, ord("B"), 0])  # white on black: the deadline
NORMAL_SIZE, DOUBLE_SIZE = bytes([GS, ord("!"), 0x00]), bytes([GS, ord("!"), 0x11])  # width and height ×2
FEED_AND_CUT = bytes([GS, ord("V"), 66, 3])  # feed 3 lines past the cutter, then a partial cut
LINE_FEED = b"\n"
CODE_PAGE = "gb18030"


def qr_code(data: bytes, module_dots: int) -> bytes:
    """GS ( k: model 2, module size, error correction M, store the data, print it."""

    def function(fn: int, *args: int, payload: bytes = b"") -> bytes:
        body = bytes([49, fn, *args]) + payload
        return bytes([GS, ord("("), ord("k"), len(body) & 0xFF, len(body) >> 8]) + body

    return (
        function(65, 50, 0)  # model 2
        + function(67, module_dots)
        + function(69, 49)  # error correction M (15 %), as the screen's code
        + function(80, 48, payload=data)
        + function(81, 48)
    )


PRINTED_THROUGH = bytes([GS, ord("r"), 1])  # GS r 1: answered in turn, once the printer has got through all before it
CLEAR_BUFFER = bytes([DLE, 0x14, 8, 1, 3, 20, 1, 6, 2, 8])  # DLE DC4 8: drop what is left of a job a fault stopped


def real_time_status(n: int) -> bytes:
    """DLE EOT n: 1 printer, 2 offline cause, 3 error cause, 4 paper roll sensor; answered at once, even mid-job."""
    return bytes([DLE, EOT, n])


# ---------------------------------------------------------------------------------------------
# Paper
# ---------------------------------------------------------------------------------------------
PAPER_CELLS = {80: 48, 58: 32}  # font A (12 × 24 dots): 48 Latin or 24 Chinese characters on 80 mm paper
QR_MODULE_DOTS = {80: 6, 58: 4}  # a 200-byte URL (version 10, 57 modules) is 342 dots of the 576 on 80 mm
STYLES = {
    "hall": BOLD_ON + CENTRE,
    "title": BOLD_ON + DOUBLE_SIZE + LEFT,
    "deadline": BOLD_ON + REVERSE_ON + DOUBLE_SIZE + LEFT,
    "bring": BOLD_ON + LEFT,  # what to bring: in bold, under the deadline
    "text": LEFT,
    "small": CENTRE,
}


def slip_bytes(lines: list[Line], paper_mm: int) -> bytes:
    """The whole job: initialise, Chinese mode, each line in its style, the QR, feed and cut."""
    out = bytearray(INITIALIZE + CHINESE_ON)
    width = PAPER_CELLS[paper_mm]
    for line in lines:
        out += NORMAL_SIZE + BOLD_OFF + REVERSE_OFF
        if line.style == "rule":
            out += LEFT + b"-" * width + LINE_FEED
        elif line.style == "qr":
            out += CENTRE + qr_code(line.text.encode("utf-8"), QR_MODULE_DOTS[paper_mm]) + LINE_FEED
        else:
            out += STYLES[line.style] + line.text.encode(CODE_PAGE) + LINE_FEED
    return bytes(out + NORMAL_SIZE + BOLD_OFF + FEED_AND_CUT)


# ---------------------------------------------------------------------------------------------
# Real-time status (DLE EOT n): each answer one byte, bit 1 and bit 4 always set, bit 0 and bit 7 always clear
# ---------------------------------------------------------------------------------------------
OFFLINE = 0x08  # n=1
COVER_OPEN, PAPER_STOP, ERROR = 0x04, 0x20, 0x40  # n=2
CUTTER_ERROR, UNRECOVERABLE, AUTO_RECOVERABLE = 0x08, 0x20, 0x40  # n=3
PAPER_NEAR_END, PAPER_END = 0x0C, 0x60  # n=4: each a pair of bits
STATUS_QUERIES = (1, 2, 3, 4)


def is_status_byte(byte: int) -> bool:
    return byte & 0x93 == 0x12


def is_printed_through(byte: int) -> bool:
    """GS r 1's answer: bit 4 clear, where a real-time status byte has it set."""
    return byte & 0xF0 == 0


def paper_state(printed_through: int) -> PrinterState:
    """The paper as GS r 1's answer says: bits 0–1 near end, bits 2–3 end."""
    if printed_through & 0x0C:
        return "paper_out"
    return "paper_low" if printed_through & 0x03 else "ready"


def state_of(answers: dict[int, int]) -> PrinterState:
    """The printer's state from its answers to DLE EOT 1–4 (`answers[n]`), the cause that stops a slip first."""
    printer, offline, error, paper = (answers[n] for n in STATUS_QUERIES)
    if paper & PAPER_END or offline & PAPER_STOP:
        return "paper_out"
    if offline & COVER_OPEN:
        return "cover_open"
    if error & CUTTER_ERROR:
        return "cutter_jam"
    if printer & OFFLINE or offline & ERROR or error & (UNRECOVERABLE | AUTO_RECOVERABLE):
        return "offline"
    if paper & PAPER_NEAR_END:
        return "paper_low"
    return "ready"
