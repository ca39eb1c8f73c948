"""Masking of personal data for logs, screens and command output; finding it where it must not be."""

import contextlib
from collections.abc import Iterable
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
