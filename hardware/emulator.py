"""A social security card emulator behind pcscd's vpcd virtual reader, playing a person from a JSON file.

The demo and the tests read it through the same pcscd path as a hall reader. It is a test
instrument: never install vpcd on a production kiosk (its reader listens on the network).

vpcd protocol: TCP to pcscd's vpcd driver (port 35963 for "Virtual PCD 00 00"), each message
a 2-byte big-endian length and a payload; a 1-byte payload is a control (0 power off, 1 power
on, 2 reset, 4 send ATR), anything else an APDU answered with an R-APDU. A connected
emulator is an inserted card; closing the connection pulls the card out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from hardware import psam, ss_card
from hardware.ss_card import EF05, EF06, FIELDS, SSSE_NAME
from kiosk.card import CardData

log = logging.getLogger(__name__)

VPCD_PORT = 35963  # "Virtual PCD 00 00": the citizen's card
VPCD_PSAM_PORT = 35964  # "Virtual PCD 00 01": the terminal's PSAM slot
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4
DEFAULT_ATR = "3B6C000086535345454D554C41544F52"  # T=0, historical bytes "SSSEEMULATOR"
MAX_TRIES = 3
# pcscd polls vpcd for the card about every 400 ms; a card put back before that poll would look
# as if it never left (present → present), so a re-insert waits for pcscd to see the removal.
PCSCD_POLL_S = 0.5
_removed_at: dict[int, float] = {}
FAULTS = {
    "foreign_card": "SELECT SSSE answers 6A82, as a bank card would",
    "wrong_length": "the ssn record's length byte says 18 but 17 bytes follow",
    "bad_bcd": "the birth date is not BCD",
    "bad_gbk": "the name is not GBK text",
    "t0": "answers the T=0 way: 61xx for data, 6Cxx when Le is wrong",
    "drop_after:N": "the card leaves after answering N APDUs (pulled out mid-read)",
    "verify_chain": "a broken chip: VERIFY and GET RESPONSE answer 61 01 forever",
    # third generation (spec 3.xx) cards only
    "counterfeit": "a copy: its internal authentication key is not diversified from the issuer's master key",
    "card_key_blocked": "its RKSSSE key is blocked: EXTERNAL AUTHENTICATE answers 6983",
    "drop_between_auths": "the card leaves right after answering INTERNAL AUTHENTICATE",
    "factor_atr_end": "its issuer took the card's factor from the ATR's last 8 bytes, not its historical bytes",
}
PSAM_FAULTS = {
    "wrong_application": "a SAM of another application: SELECT PSAM answers 6A82",
    "wrong_master_key": "its RKSSSE master key is not the cards' (the card answers 63Cx, a try spent)",
    "locked": "its keys are locked: every key command answers 6983",
    "application_locked": "its application is locked: SELECT PSAM and every key command answer 9303",
    "pulled_mid_auth": "the PSAM leaves its slot at the first key command (pulled mid-authentication)",
    "t0": "answers the T=0 way: 61xx to SELECT PSAM (its FCI) and to CIPHER DATA, then GET RESPONSE",
    "length_for_levels": "answers 6700 (wrong length), not 6A80, to factors of a level it does not hold",
}
# The test master keys of the emulated PSAM and cards (a test instrument: no real kiosk holds a key).
TEST_MASTER_KEYS = {
    psam.PSAM_KEY_IRK: bytes.fromhex("08080808080808085445535420495248"),
    psam.PSAM_KEY_RKSSSE: bytes.fromhex("0A0A0A0A0A0A0A0A5445535420524B53"),
}
OTHER_MASTER_KEY = bytes.fromhex("DEADBEEFDEADBEEF4F54484552204B45")  # a counterfeiter's or another issuer's
RK_TRIES = 3


class PersonError(ValueError):
    """A person file the emulator cannot play; the message names the file and the key."""


@dataclass
class Person:
    """A cardholder as the emulator plays them: the card's fields, its PIN and fault switches."""

    fields: dict[str, str]
    pin: str = "123456"
    tries_left: int = MAX_TRIES
    faults: list[str] = field(default_factory=list)
    rk_tries_left: int = RK_TRIES  # the RKSSSE key's counter (third generation)
    atr: str = DEFAULT_ATR
    label: str = ""

    @classmethod
    def load(cls, path: str | Path) -> Person:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise PersonError(f"{path}: cannot read the person file ({e})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("card"), dict):
            raise PersonError(f'{path}: needs an object with a "card" object')
        card = {str(k): str(v) for k, v in doc["card"].items()}
        missing = [f.key for f in FIELDS if f.key not in card and f.key != "name_extension"]
        if missing and "foreign_card" not in doc.get("faults", []):
            raise PersonError(f"{path}: card lacks {', '.join(missing)}")
        person = cls(
            fields=card,
            pin=str(doc.get("pin", "123456")),
            tries_left=int(doc.get("tries_left", MAX_TRIES)),
            faults=[str(f) for f in doc.get("faults", [])],
            rk_tries_left=int(doc.get("rk_tries_left", RK_TRIES)),
            atr=str(doc.get("atr", DEFAULT_ATR)),
            label=str(doc.get("label", path.stem)),
        )
        cls.check_faults(person.faults, str(path))
        if "foreign_card" not in person.faults:
            try:
                encode_records(person)
            except (ValueError, UnicodeError) as e:
                raise PersonError(f"{path}: a card field cannot be written to a card ({e})") from None
        return person

    @staticmethod
    def check_faults(faults: list[str], where: str) -> None:
        known = {f.split(":")[0] for f in FAULTS}
        for fault in faults:
            name, _, arg = fault.partition(":")
            if name not in known or (name == "drop_after") != arg.isdigit():
                raise PersonError(f"{where}: unknown fault {fault!r}; known: {', '.join(FAULTS)}")

    def drop_after(self) -> int | None:
        for fault in self.faults:
            if fault.startswith("drop_after:"):
                return int(fault.split(":")[1])
        return None


def encode_records(person: Person) -> dict[int, bytes]:
    """Record identifier → record bytes (`tag len value`) as a card issued to `person` holds them."""
    f = person.fields
    name = f["name"].encode("gbk")
    values: dict[int, bytes] = {
        0x01: bytes.fromhex(f["card_id"]),
        0x02: f["card_type"].encode("ascii"),
        0x03: f["spec_version"].encode("ascii"),
        0x04: f["issuer"].encode("ascii"),  # written as long as the person file has it
        0x05: _bcd_date(f["issue_date"]),
        0x06: _bcd_date(f["expiry_date"]),
        0x07: f["card_no"].encode("ascii"),
        0x08: f["ssn"].encode("ascii"),
        0x09: name[:30].ljust(30, b"\x00"),
        0x0A: {"male": b"1", "female": b"2"}.get(f["gender"], b"9"),
        0x0B: bytes.fromhex(f["nation"]),
        0x0C: bytes.fromhex(f["birthplace"]),
        0x0D: _bcd_date(f["birth_date"]),
    }
    if len(name) > 30:  # the 4E name extension carries what does not fit in 09
        values[0x4E] = name[30:50].ljust(20, b"\x00")
    if "bad_bcd" in person.faults:
        values[0x0D] = bytes.fromhex("195A0101")
    if "bad_gbk" in person.faults:
        values[0x09] = b"\xff\xfe\x81" + values[0x09][3:]
    records = {tag: bytes([tag, len(v)]) + v for tag, v in values.items()}
    if "wrong_length" in person.faults:
        records[0x08] = records[0x08][:-1]
    return records


def _bcd_date(iso: str) -> bytes:
    return bytes.fromhex(date.fromisoformat(iso).strftime("%Y%m%d"))


# Where each record lives, and its position for READ RECORD by number (P2 = 04/2C/34).
EF_OF_TAG = {f.tag: f.ef for f in FIELDS}
SFI_EF = {5: EF05, 6: EF06}
PROTECTED_ON_GEN3 = {0x05, 0x06} | {f.tag for f in FIELDS if f.ef == EF06}  # 6982 until authenticated


def _sw(sw: int) -> bytes:
    return bytes([sw >> 8, sw & 0xFF])


class SimulatedCard:
    """The card's side of the conversation: answers one APDU at a time, like the chip would."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.records = encode_records(person) if "foreign_card" not in person.faults else {}
        self.apdu_count = 0
        self.third_generation = person.fields.get("spec_version", "").startswith("3")
        self.atr = bytes.fromhex(person.atr)
        # The issuer wrote the card's own keys, diversified from the national masters (a copy cannot).
        readings = psam.card_factors(self.atr)
        if "factor_atr_end" in person.faults and len(readings) < 2:
            raise PersonError(f"{person.label}: factor_atr_end needs an ATR that ends in its check byte")
        card_factor = readings[-1 if "factor_atr_end" in person.faults else 0][1]
        factors = psam.diversification_factors(bytes.fromhex(person.fields.get("card_id", "00" * 16)), card_factor)
        irk_master = OTHER_MASTER_KEY if "counterfeit" in person.faults else TEST_MASTER_KEYS[psam.PSAM_KEY_IRK]
        self.keys = {
            psam.CARD_KEY_IRK: psam.card_key(irk_master, factors),
            psam.CARD_KEY_RKSSSE: psam.card_key(TEST_MASTER_KEYS[psam.PSAM_KEY_RKSSSE], factors),
        }
        self.reset()

    def reset(self) -> None:
        """Power off, reset, a new connection: the application and the authentication are gone."""
        self.app_selected = False
        self.current_ef: int | None = None
        self.pending = b""  # T=0: data waiting for GET RESPONSE
        self.challenge = b""  # the last GET CHALLENGE, good for one EXTERNAL AUTHENTICATE
        self.authenticated = False
        self.leaving = False

    def answer(self, apdu: bytes) -> bytes | None:
        """The R-APDU, or None when the citizen pulls the card out before it answers."""
        drop_after = self.person.drop_after()
        if self.leaving or (drop_after is not None and self.apdu_count >= drop_after):
            return None
        self.apdu_count += 1
        if len(apdu) < 4:
            return _sw(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        if cla != 0x00:
            return _sw(0x6E00)
        handler = {
            0xA4: self._select,
            0xB2: self._read_record,
            0x20: self._verify,
            0xC0: self._get_response,
            0x88: self._internal_authenticate,
            0x84: self._get_challenge,
            0x82: self._external_authenticate,
        }.get(ins)
        if handler is None or (ins in (0x88, 0x84, 0x82) and not self.third_generation):
            return _sw(0x6D00)
        return handler(p1, p2, apdu[4:])

    # -- commands ---------------------------------------------------------------------------
    def _select(self, p1: int, p2: int, body: bytes) -> bytes:
        data = body[1 : 1 + body[0]] if body else b""
        if p1 == 0x04:
            if "foreign_card" in self.person.faults or data != SSSE_NAME:
                return _sw(0x6A82)
            self.app_selected, self.current_ef = True, None
            self.authenticated = False  # an authentication lasts until power-off or an application select
            fci = bytes.fromhex("6F0C840A") + SSSE_NAME[:10]
            return self._data(fci, None)
        if p1 in (0x00, 0x02) and len(data) == 2 and self.app_selected:
            fid = int.from_bytes(data, "big")
            if fid in (EF05, EF06):
                self.current_ef = fid
                return _sw(0x9000)
        return _sw(0x6A82)

    def _read_record(self, p1: int, p2: int, body: bytes) -> bytes:
        le = body[0] if body else 0
        sfi, mode = p2 >> 3, p2 & 0x07
        ef = SFI_EF.get(sfi) if sfi else self.current_ef
        if not self.app_selected or ef is None:
            return _sw(0x6986)
        if mode == 0x00:  # P1 is the record identifier (tag)
            tag = p1
        elif mode == 0x04:  # P1 is the record number
            numbered = [t for t in sorted(self.records, key=_record_order) if EF_OF_TAG[t] == ef]
            if not 1 <= p1 <= len(numbered):
                return _sw(0x6A83)
            tag = numbered[p1 - 1]
        else:
            return _sw(0x6A86)
        if tag not in self.records or EF_OF_TAG.get(tag) != ef:
            return _sw(0x6A83)
        if self.third_generation and not self.authenticated and tag in PROTECTED_ON_GEN3:
            return _sw(0x6982)
        return self._data(self.records[tag], le)

    def _verify(self, p1: int, p2: int, body: bytes) -> bytes:
        if "verify_chain" in self.person.faults:
            self.pending = b"\x00"
            return _sw(0x6101)
        if not self.app_selected:
            return _sw(0x6985)
        if self.person.tries_left <= 0:
            return _sw(0x6983)
        if len(body) < 1 or body[0] != len(body) - 1 or body[0] == 0:
            return _sw(0x6700)
        if body[1:].hex() == self.person.pin:
            self.person.tries_left = MAX_TRIES
            return _sw(0x9000)
        self.person.tries_left -= 1
        return _sw(0x63C0 | self.person.tries_left)

    def _internal_authenticate(self, p1: int, p2: int, body: bytes) -> bytes:
        data = body[1 : 1 + body[0]] if body else b""
        if not self.app_selected:
            return _sw(0x6985)
        if p2 != psam.CARD_KEY_IRK:
            return _sw(0x6A88)  # referenced key not found
        if len(data) != 2 * psam.HALF:
            return _sw(0x6700)
        if "drop_between_auths" in self.person.faults:
            self.leaving = True  # answers, then the citizen pulls the card out
        factor, raw = data[: psam.HALF], data[psam.HALF :]
        return self._data(psam.authentication_data(self.keys[p2], factor, raw), None)

    def _get_challenge(self, p1: int, p2: int, body: bytes) -> bytes:
        le = body[0] if body else 0
        if le not in (4, 8, 16):
            return _sw(0x6700)
        self.challenge = os.urandom(le)
        return self._data(self.challenge, le)

    def _external_authenticate(self, p1: int, p2: int, body: bytes) -> bytes:
        data = body[1 : 1 + body[0]] if body else b""
        challenge, self.challenge = self.challenge, b""  # one answer per challenge, right or wrong
        if p2 != psam.CARD_KEY_RKSSSE:
            return _sw(0x6A88)
        if "card_key_blocked" in self.person.faults or self.person.rk_tries_left <= 0:
            return _sw(0x6983)
        if len(challenge) != psam.HALF:
            return _sw(0x6984)  # no valid random: GET CHALLENGE first
        if len(data) != 2 * psam.HALF:
            return _sw(0x6700)
        proof, raw = data[: psam.HALF], data[psam.HALF :]
        if proof == psam.authentication_data(self.keys[p2], challenge, raw):
            self.person.rk_tries_left = RK_TRIES
            self.authenticated = True
            return _sw(0x9000)
        self.person.rk_tries_left -= 1
        return _sw(0x63C0 | self.person.rk_tries_left)

    def _get_response(self, p1: int, p2: int, body: bytes) -> bytes:
        if not self.pending:
            return _sw(0x6F00)
        if "verify_chain" in self.person.faults:
            return b"\x00" + _sw(0x6101)
        le = body[0] if body else 0
        data, self.pending = self.pending[: le or 256], self.pending[le or 256 :]
        more = _sw(0x6100 | min(len(self.pending), 255)) if self.pending else _sw(0x9000)
        return data + more

    def _data(self, data: bytes, le: int | None) -> bytes:
        """Answer with data, the T=0 way when the person has the `t0` fault switch."""
        if "t0" not in self.person.faults:
            return data + _sw(0x9000)
        if le is None:  # case 4 (SELECT with FCI): the data waits for GET RESPONSE
            self.pending = data
            return _sw(0x6100 | len(data))
        if le != len(data):  # case 2 with the wrong Le: the card says the right one
            return _sw(0x6C00 | len(data))
        return data + _sw(0x9000)


def _record_order(tag: int) -> int:
    # Card order of EF06 records: 08, 09, 4E, 0A, 0B, 0C, 0D (4E sits third when present).
    return {0x4E: 0x09 * 2 + 1}.get(tag, tag * 2)


class SimulatedPsam:
    """The PSAM's side: a terminal number in MF/0016, the social security application, the test master keys."""

    ATR = bytes.fromhex("3B6900008053534550534D3031")  # historical bytes "SSEPSM01"

    def __init__(self, terminal_number: str = "440100000042", faults: list[str] | None = None, levels: int = 3) -> None:
        self.terminal_number = terminal_number
        self.faults = list(faults or [])
        self.check_faults(self.faults)
        self.levels = levels  # diversification levels its master keys want (a province's PSAM: 2)
        self.apdu_count = 0
        self.atr = self.ATR
        self.reset()

    @staticmethod
    def check_faults(faults: list[str]) -> None:
        unknown = [f for f in faults if f not in PSAM_FAULTS]
        if unknown:
            raise ValueError(f"unknown PSAM fault {unknown[0]!r}; known: {', '.join(PSAM_FAULTS)}")

    def reset(self) -> None:
        self.selected = False
        self.session_key = b""
        self.pending = b""  # T=0: data waiting for GET RESPONSE
        self.leaving = False

    def answer(self, apdu: bytes) -> bytes | None:
        if self.leaving:
            return None
        self.apdu_count += 1
        if len(apdu) < 5:
            return _sw(0x6700)
        cla, ins, p1, p2, lc = apdu[:5]
        data = apdu[5 : 5 + lc]
        if (cla, ins, p1) == (0x00, 0xB0, 0x96):  # MF/0016, the terminal number
            return bytes.fromhex(self.terminal_number)[:lc] + _sw(0x9000)
        if (cla, ins, p1) == (0x00, 0xA4, 0x04):
            if "wrong_application" in self.faults or data != psam.PSAM_AID:
                return _sw(0x6A82)
            if "application_locked" in self.faults:
                return _sw(0x9303)
            self.selected = True
            return self._data(bytes.fromhex("6F088406") + psam.PSAM_AID)  # FCI: the DF name
        if (cla, ins) == (0x00, 0xC0) and self.pending:
            data, self.pending = self.pending, b""
            return data[: lc or 256] + _sw(0x9000)
        self.pending = b""  # GET RESPONSE must come next, or the data is gone
        if (cla, ins) not in ((0xBF, 0xDE), (0x80, 0xFA)):
            return _sw(0x6D00)
        if "application_locked" in self.faults:
            return _sw(0x9303)
        if not self.selected:
            return _sw(0x6985)
        if "pulled_mid_auth" in self.faults:
            self.leaving = True
            return None
        if "locked" in self.faults:
            return _sw(0x6983)
        if ins == 0xDE:
            return self._delivery_session_key(p1, p2, data)
        if not self.session_key:
            return _sw(0x6901)  # DELIVERY SESSION KEY first
        if p1 != 0x00 or len(data) % psam.BLOCK:
            return _sw(0x6A86 if p1 else 0x6700)
        return self._data(psam.sm4_encrypt(self.session_key, data))

    def _data(self, data: bytes) -> bytes:
        if "t0" not in self.faults:
            return data + _sw(0x9000)
        self.pending = data
        return _sw(0x6100 | len(data))

    def _delivery_session_key(self, usage: int, key_id: int, data: bytes) -> bytes:
        master = TEST_MASTER_KEYS.get(key_id)
        if usage != psam.KEY_USAGE or master is None:
            return _sw(0x6A88)
        if key_id == psam.PSAM_KEY_RKSSSE and "wrong_master_key" in self.faults:
            master = OTHER_MASTER_KEY
        factors, random = data[: -psam.BLOCK], data[-psam.BLOCK :]
        if len(factors) != self.levels * psam.HALF:
            return _sw(0x6700 if "length_for_levels" in self.faults else 0x6A80)
        # A province's or a city's PSAM holds its own level of the key, for cards of its region only.
        region = bytes.fromhex(self.terminal_number[:6] + "0" * 26)
        above = psam.diversification_factors(region, bytes(psam.HALF))[self.levels * psam.HALF :]
        key = psam.card_key(psam.card_key(master, above), factors)
        self.session_key = psam.session_key(key, random[: psam.HALF])
        return _sw(0x9000)


class Chip(Protocol):
    """What a vpcd slot plays: anything that answers APDUs (None: it leaves the reader) and can be reset."""

    atr: bytes

    def answer(self, apdu: bytes) -> bytes | None: ...

    def reset(self) -> None: ...


class VpcdSlot:
    """Connects a chip to one of pcscd's vpcd readers. `insert()` and `remove()` work at any time."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def inserted(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def new_chip(self) -> Chip:
        raise NotImplementedError

    def insert(self, timeout: float = 5.0) -> None:
        """Put a fresh chip in the reader: connect to vpcd and answer until removed."""
        self.remove()
        time.sleep(max(0.0, _removed_at.get(self.port, 0.0) + PCSCD_POLL_S - time.monotonic()))
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        chip = self.new_chip()
        with self._lock:
            self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock, chip), daemon=True, name=f"vpcd-{self.port}")
        self._thread.start()

    def remove(self) -> None:
        """Pull the chip out: close the connection; pcscd sees an empty reader on its next poll."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
            _removed_at[self.port] = time.monotonic()

    def _serve(self, sock: socket.socket, chip: Chip) -> None:
        try:
            while True:
                payload = _receive(sock)
                if payload is None:
                    break
                if len(payload) == 1:
                    if payload[0] == CTRL_ATR:
                        _send(sock, chip.atr)
                    elif payload[0] in (CTRL_OFF, CTRL_RESET, CTRL_ON):
                        chip.reset()
                    continue
                answer = chip.answer(payload)
                if answer is None:
                    break  # pulled out before the answer
                _send(sock, answer)
        except OSError:
            pass
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock = None
            sock.close()


class HoldsCard:
    """A reader holding a citizen's card, whichever reader plays it (vpcd here, QEMU's in hardware/vscard.py): a
    fresh chip of `person` at each insert; `person` may be changed between inserts."""

    person: Person
    card: SimulatedCard | None = None

    def new_chip(self) -> Chip:
        self.card = SimulatedCard(self.person)
        return self.card


class HoldsPsam:
    """A reader holding the terminal's PSAM; `faults` (PSAM_FAULTS) and `terminal_number` (each PSAM has its own)
    apply from the next insert."""

    faults: list[str]
    terminal_number: str = "440100000042"
    psam: SimulatedPsam | None = None

    def new_chip(self) -> Chip:
        self.psam = SimulatedPsam(self.terminal_number, faults=self.faults)
        return self.psam

    def hold_faults(self, faults: list[str] | None) -> None:
        self.faults = list(faults or [])
        SimulatedPsam.check_faults(self.faults)


class CardEmulator(HoldsCard, VpcdSlot):
    """The citizen's card in vpcd's first reader."""

    def __init__(self, person: Person, port: int = VPCD_PORT, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.person = person


class PsamEmulator(HoldsPsam, VpcdSlot):
    """The terminal's PSAM in vpcd's second reader."""

    def __init__(self, faults: list[str] | None = None, port: int = VPCD_PSAM_PORT, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.hold_faults(faults)


def _receive(sock: socket.socket) -> bytes | None:
    header = receive_exactly(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return receive_exactly(sock, length)


def receive_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        # Re-armed before every receive: Linux clears QUICKACK, and a delayed ACK costs ~40 ms per APDU.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


def local_transmit(chip: Chip, gone: type[Exception] = ss_card.CardGone) -> ss_card.Transmit:
    """The chip answered in-process, without pcscd: for table tests of the card application and the PSAM.
    `gone` is what a chip that left raises (psam.PsamGone for a PSAM), as the reader thread's transmit does."""

    def transmit(apdu: bytes) -> tuple[bytes, int]:
        rapdu = chip.answer(apdu)
        if rapdu is None:
            raise gone("chip left")
        return rapdu[:-2], int.from_bytes(rapdu[-2:], "big")

    return transmit


PERSONS = Path(__file__).resolve().parent.parent / "assets" / "persons"


def read_in_process(
    card: SimulatedCard, psam_transmit: ss_card.Transmit | None = None, random: Callable[[int], bytes] = os.urandom
) -> CardData:
    """The card read as the reader thread reads it, chips answered in-process (no pcscd); a third-generation
    card through `psam_transmit` (an opened PSAM), or through a fresh emulated PSAM if none is given."""
    if psam_transmit is None:
        psam_transmit = local_transmit(SimulatedPsam(), psam.PsamGone)
        psam.open_psam(psam_transmit)

    def authenticate(transmit: ss_card.Transmit, card_id: bytes) -> None:
        psam.authenticate(transmit, psam_transmit, card_id, card.atr, random)

    return ss_card.read_card(local_transmit(card), authenticate)


def sample_card(name: str) -> CardData:
    """A sample person's card as the kiosk reads it (a third-generation one through an emulated PSAM)."""
    return read_in_process(SimulatedCard(Person.load(PERSONS / f"{name}.json")))
