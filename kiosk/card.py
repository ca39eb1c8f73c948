"""The social security card as the kiosk knows it: the cardholder's data and why a read failed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import date
from typing import Literal

from kiosk.privacy import mask_card_no, mask_middle, mask_name, mask_ssn

Gender = Literal["male", "female", "unknown"]


class CardFault(enum.Enum):
    """Why a card in the reader gave no cardholder data; each has its own calm screen and exit code."""

    NOT_SOCIAL_SECURITY_CARD = "not_social_security_card"  # no SSSE application (bank card, ID card…)
    UNREADABLE = "unreadable"  # the application is there but its data breaks the layout
    REMOVED_DURING_READ = "removed_during_read"  # card pulled out between two APDUs
    CARD_LOCKED = "card_locked"  # application permanently locked (9303)
    # Third generation (DESIGN §3a): the card's side of the mutual authentication
    NOT_GENUINE = "not_genuine"  # failed internal authentication: nothing of it is shown
    CARD_KEY_BLOCKED = "card_key_blocked"  # the card's RKSSSE key is blocked (6983): to the counter
    # Third generation, the kiosk's side: the card is fine, this kiosk cannot authenticate it now
    NEEDS_SECURITY_MODULE = "needs_security_module"  # no PSAM configured (reader.psam_filter)
    PSAM_ABSENT = "psam_absent"  # a PSAM is configured but its reader or the PSAM itself is missing
    PSAM_WRONG_APPLICATION = "psam_wrong_application"  # the SAM has no social security application
    PSAM_LOCKED = "psam_locked"  # the PSAM answers 6983 / 9303
    PSAM_REFUSED = "psam_refused"  # any other refusal of the PSAM
    PSAM_KEY_MISMATCH = "psam_key_mismatch"  # the card rejected the PSAM's cryptogram (63Cx: a try spent)
    PSAM_SPENT_LAST_TRY = "psam_spent_last_try"  # … with its last try (63C0): the card's key is blocked now
    PSAM_REMOVED = "psam_removed"  # the PSAM left its slot during the authentication

    @property
    def kiosk_side(self) -> bool:
        """The kiosk's security module is the problem, not the citizen's card."""
        return self.value.startswith("psam_") or self is CardFault.NEEDS_SECURITY_MODULE


class CardReadError(Exception):
    """A read that failed for a reason on the card's side; `detail` names tags and status words, never values."""

    def __init__(self, fault: CardFault, detail: str = "") -> None:
        super().__init__(f"{fault.value}: {detail}" if detail else fault.value)
        self.fault = fault
        self.detail = detail


@dataclass(frozen=True, repr=False)
class CardData:
    """What the social security application gives (DESIGN §3). Lives in memory for one session only."""

    card_id: str  # 32 upper-case hex characters
    card_type: str
    spec_version: str  # e.g. "2.00"; the first character is the card generation
    issuer: str  # initialising organisation; its first 6 characters are the region code
    issue_date: date
    expiry_date: date
    card_no: str
    ssn: str
    name: str
    gender: Gender
    nation: str  # GB 3304 code, 2 digits
    birthplace: str  # region code, 6 digits
    birth_date: date

    @property
    def generation(self) -> int:
        head = self.spec_version[:1]
        return int(head) if head.isdigit() else 0

    @property
    def region(self) -> str:
        return self.issuer[:6]

    @property
    def surname(self) -> str:
        """The family name for a polite greeting; none for names with a middle dot (minority names have no surname)."""
        return "" if "·" in self.name else self.name[:1]

    def expired(self, today: date) -> bool:
        return today > self.expiry_date

    def age(self, today: date) -> int:
        before_birthday = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - before_birthday

    def as_json(self, reveal: bool = False) -> dict[str, str]:
        """The JSON keys of DESIGN §3; personal fields masked unless `reveal`."""
        out = {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}
        if not reveal:
            out["card_id"] = mask_middle(self.card_id, 6, 4)
            out["card_no"] = mask_card_no(self.card_no)
            out["ssn"] = mask_ssn(self.ssn)
            out["name"] = mask_name(self.name)
            out["birthplace"] = mask_middle(self.birthplace, 2, 0)
            out["birth_date"] = f"{self.birth_date.year:04d}-**-**"
        return out

    def __repr__(self) -> str:
        # Masked so that a traceback or a stray log line never carries the cardholder in clear.
        masked = self.as_json(reveal=False)
        return "CardData(" + ", ".join(f"{k}={v!r}" for k, v in masked.items()) + ")"

    __str__ = __repr__


def _json_value(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
