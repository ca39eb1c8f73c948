"""Named events that devices report to the core: what happened at the reader, in the hall's words."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.card import CardData, CardFault


@dataclass(frozen=True)
class ReaderServiceLost:
    """The PC/SC service (pcscd) does not answer; the card thread keeps retrying."""

    reason: str


@dataclass(frozen=True)
class ReadersChanged:
    """The list of readers changed (also the first event once the service answers)."""

    readers: tuple[str, ...]
    selected: str | None  # the reader the kiosk serves: first one matching reader.name_filter


@dataclass(frozen=True)
class CardInserted:
    reader: str
    atr: str  # hex


@dataclass(frozen=True)
class CardRemoved:
    reader: str


@dataclass(frozen=True)
class CardRead:
    reader: str
    atr: str
    card: CardData


@dataclass(frozen=True)
class CardUnreadable:
    reader: str
    atr: str
    fault: CardFault
    detail: str  # tags and status words only, never card values


@dataclass(frozen=True)
class PinChecked:
    """Result of the card's own PIN check. `tries_left` is None when the card did not say."""

    ok: bool
    tries_left: int | None
    blocked: bool


@dataclass(frozen=True)
class PsamChanged:
    """The security module (PSAM) slot for third-generation cards changed state."""

    status: str  # one of PSAM_STATUSES
    reader: str = ""
    terminal_number: str = ""  # the PSAM's 12-digit terminal number: the kiosk's, not personal
    detail: str = ""  # the step and status word that put it there, for staff

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @classmethod
    def unseen(cls, psam_filter: str) -> PsamChanged:
        """Before the readers are looked at: none configured, or not found yet."""
        return cls("absent" if psam_filter else "not_configured")


PSAM_STATUSES = ("not_configured", "absent", "wrong_application", "locked", "unreadable", "ready")


ReaderEvent = (
    ReaderServiceLost
    | ReadersChanged
    | CardInserted
    | CardRemoved
    | CardRead
    | CardUnreadable
    | PinChecked
    | PsamChanged
)


@dataclass(frozen=True)
class PrinterChanged:
    """The receipt printer's state changed (kiosk.slip.PrinterState); `detail` names the cause for staff."""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class SlipPrinted:
    """A print job the citizen (or staff) asked for went to the printer whole (`ok`), or did not, and why (`state`)."""

    job: str  # the notice's id, kiosk.session.DUE_JOB, or kiosk.slip.TEST_SLIP
    ok: bool
    state: str
    again: bool = False  # it was cut off, and this is its one reprint from the start
