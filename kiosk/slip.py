"""The slip a citizen takes home on paper: what a notice asks of them, by when, where, and a QR for the family.

Qt-free and printer-free: `slip_for` makes the slip's words from a notice and the hall's settings, `lines` lays
them out for a paper width in character cells. A slip left behind in the hall must not identify anyone, so it
is made without the card: no ssn, card number or full name can reach it; the greeting's 王先生 at most, and only
where the hall allows it ([hall] print_greeting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from kiosk.config import Config
from kiosk.notices import Notice

# The slip's own words (the printed slip is in Chinese, for the citizen and whoever helps them at home).
WORDS = {
    "deadline": "请在{day}前办好",
    "bring": "请带上：{things}",
    "where": "到哪里办：",
    "counter": "窗口：",
    "qr": "请家人用手机扫一扫，看详细内容",
    "printed": "{when}  自助机 {kiosk}",
    "greeting": "{surname}{title}，您好：",
    "male": "先生",
    "female": "女士",
    "unknown": "",
}


@dataclass(frozen=True)
class Place:
    """Where the hall is, as [hall] in the kiosk's config says: printed as "where to go"."""

    name: str = ""
    address: str = ""
    counter: str = ""  # the counter that deals with notices, e.g. "3号综合窗口"
    print_greeting: bool = False  # the greeting's surname and 先生/女士 on the slip

    @classmethod
    def from_config(cls, config: Config) -> Place:
        return cls(config["hall.name"], config["hall.address"], config["hall.counter"], config["hall.print_greeting"])


@dataclass(frozen=True)
class Slip:
    """One notice on paper; nothing in it comes from the card but the greeting the hall allows."""

    hall: str
    greeting: str
    title: str
    what_to_do: tuple[str, ...]  # the notice's paragraphs
    deadline: str  # "请在2026年12月25日前办好", or "" without a deadline
    bring: str  # "请带上：身份证、社保卡", or "" when the notice names nothing to bring
    where: tuple[str, ...]  # address and counter lines, or () when the hall has set neither
    qr_url: str
    printed: str  # "2026年12月7日 14:05  自助机 hall-3"


def written_out(day: date) -> str:
    """A date as a citizen writes it: 2026年12月25日."""
    return f"{day.year}年{day.month}月{day.day}日"


def slip_for(notice: Notice, place: Place, kiosk_id: str, now: datetime, greeting: tuple[str, str] = ("", "")) -> Slip:
    """The slip of `notice`; `greeting` is the session's (surname, gender), printed only if the hall allows it."""
    surname, gender = greeting
    return Slip(
        hall=place.name,
        greeting=WORDS["greeting"].format(surname=surname, title=WORDS.get(gender, ""))
        if place.print_greeting and surname
        else "",
        title=notice.title,
        what_to_do=tuple(p.strip() for p in notice.body.splitlines() if p.strip()),
        deadline=WORDS["deadline"].format(day=written_out(notice.deadline)) if notice.deadline else "",
        bring=WORDS["bring"].format(things=notice.things_to_bring) if notice.bring else "",
        where=_where(place),
        qr_url=notice.action_url,
        printed=_printed(now, kiosk_id),
    )


TEST_SLIP = "test-slip"  # the job id of a staff member's test print: no citizen's session hears of it


def test_slip(place: Place, kiosk_id: str, now: datetime) -> Slip:
    """What the wizard, doctor and the staff panel print to see the printer work: every kind of line a notice has."""
    return Slip(
        hall=place.name,
        greeting="",
        title="打印测试 test print",
        what_to_do=("字清楚、黑底白字的一行完整、二维码能扫出来、切口整齐：打印机就好了。",
                    "Text sharp, the white-on-black line whole, the QR scans, the cut clean: the printer is fine."),
        deadline=WORDS["deadline"].format(day=written_out(now.date())),
        bring=WORDS["bring"].format(things="身份证、社保卡"),
        where=_where(place),
        qr_url=f"ss-kiosk-test-print:{kiosk_id}",  # no URL: a phone that scans it just shows it
        printed=_printed(now, kiosk_id),
    )  # fmt: skip


def _where(place: Place) -> tuple[str, ...]:
    """The hall's address and counter lines, as far as the hall has set them."""
    return tuple(WORDS[key] + value for key, value in (("where", place.address), ("counter", place.counter)) if value)


def _printed(now: datetime, kiosk_id: str) -> str:
    return WORDS["printed"].format(when=f"{written_out(now.date())} {now:%H:%M}", kiosk=kiosk_id)


# ---------------------------------------------------------------------------------------------
# Layout in character cells: a Chinese character is two cells, a Latin letter or digit one (as printers do)
# ---------------------------------------------------------------------------------------------
Style = Literal["hall", "title", "deadline", "bring", "text", "small", "qr", "rule"]
LARGE = {"title", "deadline"}  # printed at double width and height: half as many cells to a line


@dataclass(frozen=True)
class Line:
    style: Style
    text: str  # for "qr" the URL; for "rule" empty


CLOSING = "，。、；：！？）》”’」』"  # never the first character of a line


def cells(text: str) -> int:
    """Cells on a Chinese printer: ASCII is one byte and half width; all else is two or four bytes of GB18030 and
    full width, the curly quotes “” and ‘’ too (which Unicode calls ambiguous)."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells; no line starts with a Chinese closing punctuation mark."""
    lines, line = [], ""
    for ch in text:
        if cells(line + ch) > width:
            # a closing mark takes the character before it to the next line (and the marks between), as typesetters do
            keep = len(line)
            if ch in CLOSING:
                keep -= 1
                while keep > 1 and line[keep] in CLOSING:
                    keep -= 1
            space = line.rfind(" ")
            if _latin(ch) and line and _latin(line[-1]) and space > 0 and line[space:].isascii():
                keep = space + 1  # an English word goes to the next line whole
            keep = keep if keep > 0 else len(line)
            lines.append(line[:keep].rstrip(" "))
            line = line[keep:]
        line += ch
    return [*lines, line] if line else lines


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def lines(slip: Slip, width: int) -> list[Line]:
    """The slip top to bottom for a paper `width` cells wide (48 on 80 mm paper, 32 on 58 mm)."""
    out: list[Line] = []

    def put(style: Style, text: str) -> None:
        for part in wrap(text, width // 2 if style in LARGE else width):
            out.append(Line(style, part))

    if slip.hall:
        put("hall", slip.hall)
    out.append(Line("rule", ""))
    if slip.greeting:
        put("text", slip.greeting)
    put("title", slip.title)
    if slip.deadline:
        put("deadline", slip.deadline)
    if slip.bring:
        put("bring", slip.bring)
    for paragraph in slip.what_to_do:
        put("text", paragraph)
    if slip.where:
        out.append(Line("rule", ""))
        for line in slip.where:
            put("text", line)
    if slip.qr_url:
        out.append(Line("rule", ""))
        out.append(Line("qr", slip.qr_url))
        put("small", WORDS["qr"])
    out.append(Line("rule", ""))
    put("small", slip.printed)
    return out


# ---------------------------------------------------------------------------------------------
# The printer as the session and staff see it
# ---------------------------------------------------------------------------------------------
PrinterState = Literal[
    "not_configured",  # no [printer] in the config: no 打印 button, nothing said
    "ready",
    "paper_low",  # prints; staff are told to change the roll soon
    "paper_out",
    "cover_open",
    "cutter_jam",
    "offline",  # answers, but says it is offline (an error it did not name)
    "absent",  # does not answer: unplugged, switched off, wrong device or address
]
CAN_PRINT = {"ready", "paper_low"}
