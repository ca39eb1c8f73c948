"""Third-generation cards: the PSAM's APDUs and the mutual authentication (DESIGN §3a) in one table.

A third-generation card (spec version 3.xx) answers 6982 for its protected fields until the
terminal and the card have authenticated each other with the help of a PSAM (安全访问模块) in the
terminal's second slot. The terminal never holds a key: the PSAM holds the master keys and
computes with keys it diversifies from the card's identification code. This is our model of the
national specification as public reader code shows it (docs/card.md says where it comes from);
correct the tables below against a real card and PSAM, not the code around them.
Keys, randoms and cryptograms are never logged, at any level: errors name steps and status words.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hardware.ss_card import SW_AUTH_METHOD_BLOCKED, SW_FILE_NOT_FOUND, SW_OK, Transmit, exchange, said
from kiosk.card import CardFault, CardReadError

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# APDUs (DESIGN §3a as corrected in docs/card.md): to the PSAM, and to the card
# ---------------------------------------------------------------------------------------------
PSAM_AID = bytes.fromhex("D15600000590")  # the social security PSAM application (ADF DF01)
KEY_USAGE = 0x67  # P1 of DELIVERY SESSION KEY: an encryption key diversified over 3 levels
PSAM_KEY_IRK = 0x08  # the PSAM's master of the cards' internal authentication key (IRK)
PSAM_KEY_RKSSSE = 0x0A  # the PSAM's master of RKSSSE, the key that opens EF05 05/06 and EF06
CARD_KEY_IRK = 0x00  # P2 of INTERNAL AUTHENTICATE: the card's own IRK
CARD_KEY_RKSSSE = 0x0A  # P2 of EXTERNAL AUTHENTICATE
HALF, BLOCK = 8, 16  # randoms and authentication data are 8 bytes; SM4 works on 16
LEVELS = (3, 2, 1)  # factors a PSAM may want: national root first; 6A80 or 6700 means "not this many"


def read_terminal_number() -> bytes:
    return bytes([0x00, 0xB0, 0x96, 0x00, 0x06])  # READ BINARY MF/0016 (SFI 0x16) while MF is current


def select_psam() -> bytes:
    return bytes([0x00, 0xA4, 0x04, 0x00, len(PSAM_AID)]) + PSAM_AID


def delivery_session_key(key_id: int, factors: bytes, random: bytes) -> bytes:
    # DELIVERY SESSION KEY: diversify master `key_id` for this card, then a session key from the random
    data = factors + random + bytes(BLOCK - len(random))
    return bytes([0xBF, 0xDE, KEY_USAGE, key_id, len(data)]) + data


def cipher_data(raw: bytes) -> bytes:
    return bytes([0x80, 0xFA, 0x00, 0x00, BLOCK]) + raw + bytes(BLOCK - len(raw))  # CIPHER DATA, ECB


def internal_authenticate(factor: bytes, raw: bytes) -> bytes:
    return bytes([0x00, 0x88, 0x00, CARD_KEY_IRK, 2 * HALF]) + factor + raw


def get_challenge() -> bytes:
    return bytes([0x00, 0x84, 0x00, 0x00, HALF])


def external_authenticate(proof: bytes, raw: bytes) -> bytes:
    return bytes([0x00, 0x82, 0x00, CARD_KEY_RKSSSE, 2 * HALF]) + proof + raw


def historical_bytes(atr: bytes) -> bytes | None:
    """The ATR's historical bytes (ISO/IEC 7816-3 §8.2), or None when the ATR does not parse.
    The check byte TCK is counted, not verified: pcscd hands over the ATR the card sent."""
    if len(atr) < 2:
        return None
    count, presence, at, protocols = atr[1] & 0x0F, atr[1] >> 4, 2, set()
    while True:
        at += bin(presence & 0x07).count("1")  # TAi, TBi, TCi
        if not presence & 0x08:  # no TDi: the interface bytes end here
            break
        if at >= len(atr):
            return None
        protocols.add(atr[at] & 0x0F)
        presence = atr[at] >> 4
        at += 1
    check_byte = 1 if protocols - {0} else 0  # TCK ends the ATR unless T=0 is the only protocol
    if len(atr) != at + count + check_byte:
        return None
    return atr[at : at + count]


def card_factors(atr: bytes) -> list[tuple[str, bytes]]:
    """The card's own factor (8 bytes) as issuers may have taken it from the ATR, the spec's reading first.

    The spec's is the last 8 historical bytes (T6–TD of a 13-byte history: region and serial). An ATR
    that ends in its check byte TCK (any protocol but T=0) has other last 8 bytes; an issuer's code that
    took "the ATR's last 8 bytes" then used those. Both are tried, for internal authentication only,
    which spends none of the card's tries.
    """
    history = historical_bytes(atr)
    if history is None:  # with a check byte it should not have, or without one it should: both guesses
        guesses = [("the ATR's last 8 bytes (the ATR does not parse)", atr[-HALF:].rjust(HALF, b"\x00"))]
        if len(atr) > HALF:
            guesses.append(("the 8 bytes before the ATR's last (the ATR does not parse)", atr[-HALF - 1 : -1]))
        return guesses
    factors = [("the last 8 historical bytes", history[-HALF:].rjust(HALF, b"\x00"))]
    if atr[-HALF:] != factors[0][1]:
        factors.append(("the ATR's last 8 bytes (its check byte TCK included)", atr[-HALF:]))
    return factors


def diversification_factors(card_id: bytes, card_factor: bytes) -> bytes:
    """Card, city and province factors, lowest level first (national PSAM spec §7.3).

    Card: `card_factor` (card_factors). City: the card's 6-digit city code in ASCII + "sx"; Zhejiang (33)
    codes keep 4 digits + "00sx". Province: 2 digits + "0000sh".
    """
    city = card_id.hex()[:6].encode("ascii")
    city_factor = city[:4] + b"00sx" if city.startswith(b"33") else city + b"sx"
    return card_factor + city_factor + city[:2] + b"0000sh"


# ---------------------------------------------------------------------------------------------
# Status words of the PSAM and of the card's authentication
# ---------------------------------------------------------------------------------------------
# DELIVERY SESSION KEY: not the number of factors this PSAM's key wants (6A80 wrong data; some say 6700 wrong length)
SW_WRONG_LEVELS = {0x6A80, 0x6700}
SW_PSAM_LOCKED = SW_AUTH_METHOD_BLOCKED  # 6983 from the PSAM: its keys are locked
SW_APPLICATION_LOCKED = 0x9303
SW1_AUTH_TRIES = 0x63  # 63 Cx from EXTERNAL AUTHENTICATE: wrong proof, x tries left (63 C0: the key is now blocked)


# ---------------------------------------------------------------------------------------------
# SM4 (GB/T 32907) as both sides use it; the emulator's card and PSAM compute with these too
# ---------------------------------------------------------------------------------------------
def sm4_encrypt(key: bytes, data: bytes) -> bytes:
    """SM4 in ECB on whole 16-byte blocks."""
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def diversify(key: bytes, factor: bytes) -> bytes:
    """A sub-key: the key's encryption of the 8-byte factor followed by its complement."""
    return sm4_encrypt(key, factor + bytes(b ^ 0xFF for b in factor))


def card_key(master_key: bytes, factors: bytes) -> bytes:
    """The card's own key from the national master key, one level per factor (the factors come lowest first)."""
    key = master_key
    for level in reversed(range(0, len(factors), HALF)):
        key = diversify(key, factors[level : level + HALF])
    return key


def session_key(key: bytes, random: bytes) -> bytes:
    return sm4_encrypt(key, random + bytes(BLOCK - len(random)))


def fold(block: bytes) -> bytes:
    """Authentication data: the left and right halves of the 16-byte result XORed."""
    return bytes(a ^ b for a, b in zip(block[:HALF], block[HALF:], strict=True))


def authentication_data(key: bytes, factor: bytes, raw: bytes) -> bytes:
    """What the card computes for INTERNAL AUTHENTICATE and checks for EXTERNAL AUTHENTICATE."""
    return fold(sm4_encrypt(session_key(key, factor), raw + bytes(BLOCK - len(raw))))


# ---------------------------------------------------------------------------------------------
# The conversations: opening the PSAM, and authenticating a card with it
# ---------------------------------------------------------------------------------------------
class PsamGone(Exception):
    """The PSAM left its slot (pulled out, reader unplugged) in the middle of a conversation."""


class PsamRefused(Exception):
    """The PSAM cannot be used; `status` is the PsamChanged status it puts the slot in."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


# A PSAM slot's status → the fault a third-generation card meets while the slot is so.
FAULT_OF_STATUS: dict[str, CardFault] = {
    "not_configured": CardFault.NEEDS_SECURITY_MODULE,  # no reader.psam_filter in the config
    "absent": CardFault.PSAM_ABSENT,  # no reader matches the filter, or its slot is empty
    "wrong_application": CardFault.PSAM_WRONG_APPLICATION,  # a SAM without the social security application
    "locked": CardFault.PSAM_LOCKED,  # the PSAM answers 6983 or 9303
    "unreadable": CardFault.PSAM_REFUSED,  # any other answer, or no terminal number
}
NO_APPLICATION = {SW_FILE_NOT_FOUND, 0x6A81, 0x6A86, 0x6D00, 0x6E00}


def open_psam(transmit: Transmit) -> str:
    """SELECT the PSAM application and read its terminal number (12 digits). Raises PsamRefused."""
    data, sw = exchange(transmit, read_terminal_number())  # MF/0016: before the application is selected
    _psam_check(sw, "READ 0016")
    if len(data) != 6 or not data.hex().isdigit():
        raise PsamRefused("unreadable", f"READ 0016: {len(data)} bytes, not a BCD terminal number")
    _, sw = exchange(transmit, select_psam())
    if sw in NO_APPLICATION:
        raise PsamRefused("wrong_application", said("SELECT PSAM", sw))
    _psam_check(sw, "SELECT PSAM")
    return data.hex()


def _psam_check(sw: int, step: str) -> None:
    if sw == SW_OK:
        return
    if sw in (SW_PSAM_LOCKED, SW_APPLICATION_LOCKED):
        raise PsamRefused("locked", said(step, sw))
    raise PsamRefused("unreadable", said(step, sw))


def authenticate(
    card: Transmit, psam: Transmit, card_id: bytes, atr: bytes, random: Callable[[int], bytes] = os.urandom
) -> None:
    """Internal then external authentication (DESIGN §3a); afterwards the card gives its protected fields.

    Raises CardReadError with the fault (NOT_GENUINE, PSAM_KEY_MISMATCH, PSAM_SPENT_LAST_TRY, CARD_KEY_BLOCKED,
    a PSAM fault), CardGone when the card leaves. Nothing it raises or logs carries a byte of a key, a random,
    a cryptogram or the ATR.
    """
    try:
        _authenticate(card, psam, card_id, atr, random)
    except PsamGone:
        raise CardReadError(CardFault.PSAM_REMOVED, "the PSAM left during the authentication") from None


def _authenticate(card: Transmit, psam: Transmit, card_id: bytes, atr: bytes, random: Callable[[int], bytes]) -> None:
    # The card proves itself: its answer to two randoms of ours must be the PSAM's, for one reading of its factor.
    factor, raw = random(HALF), random(HALF)
    proof, sw = exchange(card, internal_authenticate(factor, raw))
    if sw != SW_OK or len(proof) != HALF:  # the command does not fit this card: our table's problem, not a fake
        raise CardReadError(CardFault.UNREADABLE, f"{said('INTERNAL AUTHENTICATE', sw)}, {len(proof)} bytes")
    for source, card_factor in card_factors(atr):
        factors = diversification_factors(card_id, card_factor)
        if _psam_authentication_data(psam, PSAM_KEY_IRK, factors, factor, raw) == proof:
            log.debug("third generation card: its factor is %s", source)
            break
    else:
        raise CardReadError(CardFault.NOT_GENUINE, "INTERNAL AUTHENTICATE: the card's answer is not the PSAM's")
    # This terminal proves itself: the card's challenge is the session key's factor.
    challenge, sw = exchange(card, get_challenge())
    if sw != SW_OK or len(challenge) != HALF:
        raise CardReadError(CardFault.UNREADABLE, f"{said('GET CHALLENGE', sw)}, {len(challenge)} bytes")
    raw = random(HALF)
    proof = _psam_authentication_data(psam, PSAM_KEY_RKSSSE, factors, challenge, raw)
    _, sw = exchange(card, external_authenticate(proof, raw))
    if sw == SW_OK:
        return
    if sw == SW1_AUTH_TRIES << 8 | 0xC0:  # the card's last try went on this PSAM's key: the card is blocked now
        raise CardReadError(CardFault.PSAM_SPENT_LAST_TRY, "EXTERNAL AUTHENTICATE 63C0: 0 tries left, key blocked")
    if sw >> 8 == SW1_AUTH_TRIES and sw & 0xF0 == 0xC0:
        raise CardReadError(CardFault.PSAM_KEY_MISMATCH, f"EXTERNAL AUTHENTICATE {sw:04X}: {sw & 0x0F} tries left")
    if sw >> 8 == SW1_AUTH_TRIES:  # 63 00 and the like: refused, its tries not said; count one as spent
        raise CardReadError(CardFault.PSAM_KEY_MISMATCH, f"EXTERNAL AUTHENTICATE {sw:04X}: tries left not said")
    if sw in (SW_AUTH_METHOD_BLOCKED, SW_APPLICATION_LOCKED):
        raise CardReadError(CardFault.CARD_KEY_BLOCKED, said("EXTERNAL AUTHENTICATE", sw))
    raise CardReadError(CardFault.UNREADABLE, said("EXTERNAL AUTHENTICATE", sw))


def _psam_authentication_data(psam: Transmit, key_id: int, factors: bytes, factor: bytes, raw: bytes) -> bytes:
    """The PSAM's authentication data for `raw` under its master `key_id`, diversified for this card."""
    for levels in LEVELS:
        _, sw = exchange(psam, delivery_session_key(key_id, factors[: levels * HALF], factor))
        if sw not in SW_WRONG_LEVELS:
            break
    _psam_answer(sw, f"DELIVERY SESSION KEY {key_id:02X}")
    block, sw = exchange(psam, cipher_data(raw))
    _psam_answer(sw, f"CIPHER DATA {key_id:02X}")
    if len(block) != BLOCK:
        raise CardReadError(CardFault.PSAM_REFUSED, f"CIPHER DATA {key_id:02X}: {len(block)} bytes")
    return fold(block)


def _psam_answer(sw: int, step: str) -> None:
    if sw == SW_OK:
        return
    fault = CardFault.PSAM_LOCKED if sw in (SW_PSAM_LOCKED, SW_APPLICATION_LOCKED) else CardFault.PSAM_REFUSED
    raise CardReadError(fault, said(step, sw))
