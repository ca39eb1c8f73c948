"""Masking of personal data for logs, screens and command output; finding it where it must not be; what the voice
must never say (checked in the window's process, before a prompt reaches the voice's)."""

import contextlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path


def mask_name(name: str) -> str:
    """王明 → 王*, 王小明 → 王*明: enough for staff to recognise, not to identify."""
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_middle(text: str, head: int, tail: int) -> str:
    """Keep `head` leading and `tail` trailing characters: 110105194803151234 → 110***********1234."""
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def mask_ssn(ssn: str) -> str:
    return mask_middle(ssn, 3, 4)


def mask_card_no(card_no: str) -> str:
    return mask_middle(card_no, 1, 2)


ENCODINGS = ("utf-8", "gbk", "utf-16-le", "utf-16-be")  # how a name or number could end up in a file


def personal_data_in(files: Iterable[Path], secrets: Iterable[str]) -> dict[Path, dict[bytes, int]]:
    """The files that hold any of `secrets` in any of ENCODINGS, with how often each needle occurs:
    the check (tests, bench/soak.py) that nothing personal stays on disk or in a log."""
    needles: set[bytes] = set()
    for secret in filter(None, secrets):
        for encoding in ENCODINGS:
            with contextlib.suppress(UnicodeEncodeError):
                needles.add(secret.encode(encoding))
    found: dict[Path, dict[bytes, int]] = {}
    for path in files:
        raw = path.read_bytes()
        hits = {needle: raw.count(needle) for needle in needles if needle in raw}
        if hits:
            found[path] = hits
    return found


# -- what the voice never says ---------------------------------------------------------------------
class SpeechRefused(ValueError):
    """Text that holds a personal number; the voice never says it."""


# Six digits or more, however spaced: PINs, ID and card numbers (an amount like 3260.50 is 4 + 2).
_LONG_NUMBER = re.compile(r"\d(?:[\s,，\-]?\d){5,}")
_DATE = re.compile(r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)")  # 2026-12-31 is a date, not a number to hide
_CARD_NUMBER = re.compile(r"(?<![A-Za-z0-9])[A-Z]\d{6,8}(?![0-9])")
_NUMERALS = str.maketrans("〇零一二三四五六七八九", "00123456789")


def check_private(text: str, secrets: Sequence[str] = ()) -> None:
    """Raise SpeechRefused if `text` holds a PIN, an ID or card number, or any of this session's secrets,
    however it is written: with spaces, commas or dashes between the digits, or in Chinese numerals."""
    digits = re.sub(r"\D", "", text.translate(_NUMERALS))
    undated = _DATE.sub("日期", text.translate(_NUMERALS))
    if _LONG_NUMBER.search(undated) or _CARD_NUMBER.search(text):
        raise SpeechRefused("a long number or a card number")
    squeezed = re.sub(r"[\s\-,，]", "", text)
    for secret in secrets:
        secret_digits = re.sub(r"\D", "", secret)
        if secret and (secret in text or secret in squeezed or (len(secret_digits) >= 6 and secret_digits in digits)):
            raise SpeechRefused("a personal value of this session")
