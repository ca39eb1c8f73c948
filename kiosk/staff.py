"""Staff access: two roles with their own PINs (scrypt hashes), a lockout after wrong tries, an audit log.

管理员 (admin) may change the configuration and leave kiosk mode; 业务员 (clerk) may look at the status,
sync now, test a read and the voice. Every staff action is appended to the audit log: which role,
what, when; never anything about a citizen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.events import PrinterChanged, PsamChanged, SlipPrinted

log = logging.getLogger(__name__)

ADMIN, CLERK = "admin", "clerk"
MAX_WRONG = 5
LOCK_S = 300.0
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 50 ms a check here: cheap for staff, dear for guessing


def hash_pin(pin: str) -> str:
    """The form stored in the config: scrypt$n$r$p$salt$hash (base64)."""
    if not (pin.isdigit() and 6 <= len(pin) <= 12):
        raise ValueError("a staff PIN has 6 to 12 digits")
    return hash_secret(pin)


def hash_secret(secret: str) -> str:
    """A kiosk PIN or a hall console password, in the same scrypt form (pin_matches checks either)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${encode(salt).decode()}${encode(digest).decode()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
        return hmac.compare_digest(actual, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class Entry:
    """The answer to a staff PIN: the role it opens, or how long entry stays locked."""

    role: str | None
    locked_for_s: float = 0.0
    tries_left: int = MAX_WRONG

    def refusal(self, zh: str = "密码", en: str = "PIN") -> str:
        """What the pad says when entry is refused: locked, or how many tries are left."""
        if self.locked_for_s:
            minutes = f"{self.locked_for_s / 60:.0f}"
            return f"已锁定 {minutes} 分钟 · locked for {minutes} min"
        return f"{zh}不对，还可以试{self.tries_left}次 · wrong {en}, {self.tries_left} tries left"


class StaffGate:
    """Checks staff PINs; five wrong ones lock entry for five minutes, across restarts of the kiosk."""

    def __init__(self, hashes: dict[str, str], state_file: Path, audit: AuditLog) -> None:
        self.hashes = {role: h for role, h in hashes.items() if h}
        self.state_file = state_file
        self.audit = audit

    def _state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {"wrong": 0, "locked_until": 0.0}

    def _save(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.state_file)

    def enter(self, pin: str, now: float | None = None) -> Entry:
        now = time.time() if now is None else now
        state = self._state()
        if state["locked_until"] > now:
            return Entry(None, locked_for_s=state["locked_until"] - now, tries_left=0)
        for role, stored in self.hashes.items():
            if pin_matches(pin, stored):
                self._save({"wrong": 0, "locked_until": 0.0})
                self.audit.write(role, "staff entry")
                return Entry(role)
        wrong = state["wrong"] + 1
        if wrong >= MAX_WRONG:
            self._save({"wrong": 0, "locked_until": now + LOCK_S})
            self.audit.write(None, "staff entry locked after 5 wrong PINs")
            return Entry(None, locked_for_s=LOCK_S, tries_left=0)
        self._save({"wrong": wrong, "locked_until": 0.0})
        self.audit.write(None, "wrong staff PIN")
        return Entry(None, tries_left=MAX_WRONG - wrong)


class AuditLog:
    """One JSON line a staff action, appended and flushed to disk; the file is only ever appended to."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, role: str | None, action: str, detail: str = "") -> None:
        line = json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "role": role or "-", "action": action,
                           "detail": detail}, ensure_ascii=False)  # fmt: skip
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:  # a full disk must not stop the staff action: the journal keeps the line
            log.error("audit log %s cannot be written (%s): %s", self.path, e.strerror, line)

    def entries(self) -> list[dict]:
        try:
            return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
        except OSError:
            return []


def card_check_line(event: object) -> str:
    """What staff see of a test read: whether the card reads, never who it belongs to."""
    from kiosk.events import CardInserted, CardRead, CardRemoved, CardUnreadable

    if isinstance(event, CardInserted):
        return "卡已插入，正在读 · card in, reading"
    if isinstance(event, CardRead):
        card = event.card
        return (f"读卡成功 · card read: 第{card.generation}代卡 generation {card.generation}, "
                f"有效期至 valid until {card.expiry_date:%Y-%m}")  # fmt: skip
    if isinstance(event, CardUnreadable):
        return f"读不了 · cannot read: {event.fault.value} ({event.detail})"
    if isinstance(event, CardRemoved):
        return "卡已取出 · card out"
    return ""


PSAM_STATES = {  # the security module's state in a word for staff, and what to do (the staff panel and doctor)
    "not_configured": ("未配置 none configured", "set [reader] psam_filter to the PSAM slot's reader name"),
    "absent": ("未插入 not found", "put the hall's PSAM in its slot (the SAM slot, often behind a cover)"),
    "wrong_application": ("不是社保安全模块 not a social security PSAM",
                          "insert the one the social security bureau issued for this kiosk"),
    "locked": ("已锁定 locked", "ask the bureau for a replacement"),
    "unreadable": ("读不了 does not answer", "reseat it; if it stays so, ask for a replacement"),
    "ready": ("正常 ready", ""),
}  # fmt: skip


def psam_words(status: str) -> str:
    """The state, what to do, and what it means for citizens until it is done."""
    word, to_do = PSAM_STATES.get(status, (status, "see docs/card.md"))
    return f"{word}: {to_do}; third-generation cards go to the counter" if to_do else word


def psam_line(psam: PsamChanged) -> str:
    """The staff panel's line on the security module (PSAM) that third-generation cards need."""
    line = f"安全模块 PSAM: {psam_words(psam.status)}"
    if psam.terminal_number:
        line += f" · terminal {psam.terminal_number}"
    return line + (f" · {psam.detail}" if psam.detail and not psam.ready else "")


PRINTER_STATES = {  # the receipt printer's state in a word for staff, and what to do (the staff panel and doctor)
    "not_configured": ("未配置 none configured", ""),
    "ready": ("正常 ready", ""),
    "paper_low": ("纸快用完 paper near its end", "have a new roll (or paper) ready"),
    "paper_out": ("没纸了 out of paper", "put paper in (a thermal roll: thermal side out), close the cover"),
    "cover_open": ("盖子开着 cover open", "close the cover until it clicks"),
    "cutter_jam": ("切刀卡住 cutter jammed", "open the cover, clear the paper from the cutter, close it"),
    "offline": ("脱机 offline", "switch it off and on; if it stays so, see docs/printer.md"),
    "absent": ("连不上 does not answer", "check its cable and power, and [printer] device in the config"),
}  # fmt: skip


def printer_words(state: str) -> str:
    """The printer's state and what staff should do; what citizens meet until then."""
    word, to_do = PRINTER_STATES.get(state, (state, "see docs/printer.md"))
    if not to_do:
        return word
    return f"{word}: {to_do}" if state == "paper_low" else f"{word}: {to_do}; citizens get no slip until then"


def printer_line(printer: PrinterChanged) -> str:
    """The staff panel's line on the receipt printer."""
    detail = f" · {printer.detail}" if printer.detail else ""
    return f"打印机 printer: {printer_words(printer.state)}{detail}"


def test_print_line(printed: SlipPrinted) -> str:
    """The staff panel's answer once a test slip is out, or why it is not."""
    if printed.ok:
        return "试打印 test print: 打好了 printed: check the text is sharp, the QR scans and the cut is clean"
    return f"试打印 test print: 没打出来 not printed: {printer_words(printed.state)}"


def voice_limits(engine: str, limits: tuple[str, ...]) -> str:
    """The speech back-end and what it cannot honour, for doctor and the staff panel (never hidden)."""
    return f"{engine}: " + ("; ".join(limits) if limits else "rate, voice, volume and interruption as asked")


def voice_line(status: str, engine: str, limits: tuple[str, ...]) -> str:
    """The staff panel's line on the voice: its state, which back-end speaks, and that back-end's limits."""
    return f"语音 voice: {status} · {voice_limits(engine, limits)}" if engine else f"语音 voice: {status}"
