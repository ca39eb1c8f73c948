"""Masking of personal data for logs, screens and command output."""


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
