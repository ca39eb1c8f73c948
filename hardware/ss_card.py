"""The social security card application (SSSE): its APDUs, status words and fields in one table, and the read sequence.

Our reading of the national card specification (社会保障(个人)卡规范) as public reader code
uses it; correct the tables below against real cards, not the code around them.
Every byte from the card is treated as hostile: a bad answer ends in CardReadError, never
in another exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from kiosk.card import CardData, CardFault, CardReadError
from kiosk.events import PinChecked

# ---------------------------------------------------------------------------------------------
# APDUs
# ---------------------------------------------------------------------------------------------
SSSE_NAME = b"sx1.sh." + "社会保障".encode("gbk")  # DF name of the application, as every reader selects it
EF05 = 0xEF05  # card data
EF06 = 0xEF06  # cardholder data


def select_ssse() -> bytes:
    return bytes([0x00, 0xA4, 0x04, 0x00, len(SSSE_NAME)]) + SSSE_NAME


def select_ef(fid: int) -> bytes:
    return bytes([0x00, 0xA4, 0x02, 0x00, 0x02, fid >> 8, fid & 0xFF])


def read_record_by_tag(tag: int, le: int) -> bytes:
    # P2 = 00: P1 is the record identifier (the tag) in the current EF. Record *numbers*
    # shift between card generations (4E is absent on older cards), identifiers do not.
    return bytes([0x00, 0xB2, tag, 0x00, le])


def verify_pin(pin: str) -> bytes:
    return bytes([0x00, 0x20, 0x00, 0x00, 0x03]) + bytes.fromhex(pin)  # 6 digits, packed BCD


def get_response(le: int) -> bytes:
    return bytes([0x00, 0xC0, 0x00, 0x00, le])


# ---------------------------------------------------------------------------------------------
# Status words
# ---------------------------------------------------------------------------------------------
SW_OK = 0x9000
SW_SECURITY_NOT_SATISFIED = 0x6982  # third generation: authenticate (hardware.psam), then read again
SW_AUTH_METHOD_BLOCKED = 0x6983  # PIN blocked
SW_FILE_NOT_FOUND = 0x6A82  # on SELECT SSSE: not a social security card
SW_RECORD_NOT_FOUND = 0x6A83  # 4E on cards without a name extension
SW_APPLICATION_LOCKED = 0x9303
SW1_MORE_DATA = 0x61  # T=0: xx bytes wait for GET RESPONSE
SW1_WRONG_LE = 0x6C  # T=0: resend with Le = xx
SW1_PIN_TRIES = 0x63  # 63 Cx: wrong PIN, x tries left
NO_APPLICATION = {SW_FILE_NOT_FOUND, 0x6A81, 0x6A86, 0x6D00, 0x6E00}
# What an answer means (ISO/IEC 7816-4 and the national spec), for the staff's and the log's detail lines.
MEANING = {
    0x6700: "wrong length",
    0x6901: "not accepted in this state",
    0x6981: "command incompatible with the file",
    SW_SECURITY_NOT_SATISFIED: "security status not satisfied",
    SW_AUTH_METHOD_BLOCKED: "key or PIN blocked",
    0x6984: "no valid challenge",
    0x6985: "conditions of use not satisfied",
    0x6986: "no current file",
    0x6A80: "wrong data",
    0x6A81: "function not supported",
    SW_FILE_NOT_FOUND: "no such file or application",
    SW_RECORD_NOT_FOUND: "no such record",
    0x6A86: "wrong P1 P2",
    0x6A88: "no such key",
    0x6D00: "no such command",
    0x6E00: "no such class",
    SW_APPLICATION_LOCKED: "application locked",
}


def said(step: str, sw: int) -> str:
    """A step and the card's answer in words: "EXTERNAL AUTHENTICATE 6984 (no valid challenge)"."""
    meaning = MEANING.get(sw, "")
    return f"{step} {sw:04X}" + (f" ({meaning})" if meaning else "")


# ---------------------------------------------------------------------------------------------
# Fields (DESIGN §3): tag, EF, JSON key, value length in bytes, fixed or at most that long
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    tag: int
    ef: int
    key: str
    length: int
    fixed: bool = True  # False: the card may send fewer bytes (padded text)
    optional: bool = False  # 6A83 means "not on this card"


FIELDS: tuple[Field, ...] = (
    Field(0x01, EF05, "card_id", 16),
    Field(0x02, EF05, "card_type", 1),
    Field(0x03, EF05, "spec_version", 4),
    Field(0x04, EF05, "issuer", 12, fixed=False),
    Field(0x05, EF05, "issue_date", 4),
    Field(0x06, EF05, "expiry_date", 4),
    Field(0x07, EF05, "card_no", 9, fixed=False),
    Field(0x08, EF06, "ssn", 18),
    Field(0x09, EF06, "name", 30, fixed=False),
    Field(0x4E, EF06, "name_extension", 20, fixed=False, optional=True),
    Field(0x0A, EF06, "gender", 1),
    Field(0x0B, EF06, "nation", 1),
    Field(0x0C, EF06, "birthplace", 3),
    Field(0x0D, EF06, "birth_date", 4),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
PADDING = b"\x00\x20\xff"


class FieldError(ValueError):
    """One field's bytes break the layout; the message names the tag, never the value."""


def parse_record(field: Field, data: bytes) -> bytes:
    """The value of a `tag len value` record, checked against the field table."""
    if len(data) < 2:
        raise FieldError(f"tag {field.tag:02X}: record shorter than its header")
    tag, length, value = data[0], data[1], data[2:]
    if tag != field.tag:
        raise FieldError(f"tag {field.tag:02X}: card answered with tag {tag:02X}")
    if length != len(value):
        raise FieldError(f"tag {field.tag:02X}: length byte {length} but {len(value)} bytes")
    if length > field.length or (field.fixed and length != field.length):
        raise FieldError(f"tag {field.tag:02X}: {length} bytes where {field.length} belong")
    return value


def _text(value: bytes, tag: int, pattern: str) -> str:
    stripped = value.rstrip(PADDING)
    try:
        text = stripped.decode("ascii")
    except UnicodeDecodeError:
        raise FieldError(f"tag {tag:02X}: not ASCII") from None
    if not re.fullmatch(pattern, text):
        raise FieldError(f"tag {tag:02X}: unexpected characters")
    return text


def _bcd(value: bytes, tag: int, f_padded: bool = False) -> str:
    digits = value.hex().rstrip("f") if f_padded else value.hex()
    if not digits.isdigit():
        raise FieldError(f"tag {tag:02X}: not BCD")
    return digits


def _bcd_date(value: bytes, tag: int) -> date:
    digits = _bcd(value, tag)
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise FieldError(f"tag {tag:02X}: not a calendar date") from None


def _name(main: bytes, extension: bytes | None) -> str:
    # Strip each part's padding first, then join: the extension continues the name's bytes.
    raw = main.rstrip(PADDING) + (extension or b"").rstrip(PADDING)
    try:
        name = raw.decode("gbk")
    except UnicodeDecodeError:
        raise FieldError("tag 09/4E: not GBK text") from None
    if not name or not all(ch.isprintable() and not ch.isspace() for ch in name):
        raise FieldError("tag 09/4E: empty or with control characters")
    return name


GENDERS = {"1": "male", "2": "female"}


def decode_card(values: dict[str, bytes | None]) -> CardData:
    """CardData from the raw values of every field in FIELDS (None: an optional field absent)."""

    def raw(key: str) -> bytes:
        value = values[key]
        assert value is not None
        return value

    # Some second generation cards leave the version zeroed (public reader code treats 00 as "2"):
    # an empty version reads as generation 0, and the read goes on.
    spec_version = _text(raw("spec_version"), 0x03, r"(\d\.\d\d)?")
    issuer = _text(raw("issuer"), 0x04, r"\d{6}[0-9A-Z]{0,6}")
    gender_code = _text(raw("gender"), 0x0A, r"[0-9A-Za-z]")
    return CardData(
        card_id=raw("card_id").hex().upper(),
        card_type=_text(raw("card_type"), 0x02, r"[0-9A-Za-z]"),
        spec_version=spec_version,
        issuer=issuer,
        issue_date=_bcd_date(raw("issue_date"), 0x05),
        expiry_date=_bcd_date(raw("expiry_date"), 0x06),
        card_no=_text(raw("card_no"), 0x07, r"[0-9A-Z]{6,9}"),
        ssn=_text(raw("ssn"), 0x08, r"\d{17}[\dX]"),
        name=_name(raw("name"), values["name_extension"]),
        gender=GENDERS.get(gender_code, "unknown"),  # type: ignore[arg-type]
        nation=_bcd(raw("nation"), 0x0B),
        birthplace=_bcd(raw("birthplace"), 0x0C, f_padded=True),  # readers strip trailing FF
        birth_date=_bcd_date(raw("birth_date"), 0x0D),
    )


# ---------------------------------------------------------------------------------------------
# The conversation with the card
# ---------------------------------------------------------------------------------------------
Transmit = Callable[[bytes], tuple[bytes, int]]  # C-APDU → (response data, status word)


class CardGone(Exception):
    """The transport lost the card (pulled out, reader unplugged, service gone) mid-conversation."""


def exchange(transmit: Transmit, apdu: bytes) -> tuple[bytes, int]:
    """One command, with the T=0 rules: 6Cxx resend with Le = xx, 61xx GET RESPONSE until done."""
    data, sw = transmit(apdu)
    if sw >> 8 == SW1_WRONG_LE and len(apdu) == 5:
        data, sw = transmit(apdu[:4] + bytes([sw & 0xFF]))
    for _ in range(16):  # a card that keeps saying 61xx forever is broken, not slow
        if sw >> 8 != SW1_MORE_DATA:
            return data, sw
        more, sw = transmit(get_response(sw & 0xFF))
        data += more
    raise CardReadError(CardFault.UNREADABLE, "endless 61xx chain")


# Third generation: proves card and terminal to each other (hardware.psam), given the card's transmit and card_id.
Authenticate = Callable[[Transmit, bytes], None]


def no_security_module(transmit: Transmit, card_id: bytes) -> None:
    raise CardReadError(CardFault.NEEDS_SECURITY_MODULE, "no PSAM")


def read_card(transmit: Transmit, authenticate: Authenticate = no_security_module) -> CardData:
    """The whole read sequence: SELECT SSSE, then every field of EF05 and EF06 by its tag.

    A field that answers 6982 (a third-generation card) is read again once `authenticate` has run.
    """
    try:
        return _read_card(transmit, authenticate)
    except CardGone:
        raise CardReadError(CardFault.REMOVED_DURING_READ) from None
    except FieldError as e:
        raise CardReadError(CardFault.UNREADABLE, str(e)) from None


def _read_card(transmit: Transmit, authenticate: Authenticate) -> CardData:
    _, sw = exchange(transmit, select_ssse())
    if sw in NO_APPLICATION:
        raise CardReadError(CardFault.NOT_SOCIAL_SECURITY_CARD, said("SELECT SSSE", sw))
    _check(sw, "SELECT SSSE")
    values: dict[str, bytes | None] = {}
    current_ef = None
    authenticated = False
    for field in FIELDS:
        if field.ef != current_ef:
            _, sw = exchange(transmit, select_ef(field.ef))
            _check(sw, f"SELECT {field.ef:04X}")
            current_ef = field.ef
        data, sw = exchange(transmit, read_record_by_tag(field.tag, field.length + 2))
        if sw == SW_SECURITY_NOT_SATISFIED and not authenticated and "card_id" in values:
            # Only a card that asks is authenticated: a wrong PSAM key costs the card one of its tries.
            authenticate(transmit, values["card_id"] or b"")
            authenticated = True
            _, sw = exchange(transmit, select_ef(field.ef))  # readers select again after authenticating
            _check(sw, f"SELECT {field.ef:04X}")
            data, sw = exchange(transmit, read_record_by_tag(field.tag, field.length + 2))
        if sw == SW_RECORD_NOT_FOUND and field.optional:
            values[field.key] = None
            continue
        _check(sw, f"READ {field.tag:02X}")
        values[field.key] = parse_record(field, data)
    return decode_card(values)


def _check(sw: int, step: str) -> None:
    if sw == SW_OK:
        return
    if sw == SW_APPLICATION_LOCKED:
        raise CardReadError(CardFault.CARD_LOCKED, said(step, sw))
    raise CardReadError(CardFault.UNREADABLE, said(step, sw))


PIN_PATTERN = re.compile(r"\d{6}")


def check_pin(transmit: Transmit, pin: str) -> PinChecked:
    """VERIFY with the card's own PIN. Raises CardGone if the card left; a malformed PIN is never sent."""
    if not PIN_PATTERN.fullmatch(pin):
        raise ValueError("the card PIN has 6 digits")
    _, sw = exchange(transmit, verify_pin(pin))
    if sw == SW_OK:
        return PinChecked(ok=True, tries_left=None, blocked=False)
    if sw == SW_AUTH_METHOD_BLOCKED:
        return PinChecked(ok=False, tries_left=0, blocked=True)
    if sw >> 8 == SW1_PIN_TRIES and sw & 0xF0 == 0xC0:
        tries = sw & 0x0F
        return PinChecked(ok=False, tries_left=tries, blocked=tries == 0)
    return PinChecked(ok=False, tries_left=None, blocked=False)
