"""Read the card in a reader once, for read-card, doctor and the wizard's check: one reader thread, one card, stop."""

from __future__ import annotations

import queue
import time

from hardware.pcsc import CardReaderThread
from kiosk.card import CardFault
from kiosk.events import (
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    PsamChanged,
    ReaderEvent,
    ReadersChanged,
    ReaderServiceLost,
)


class ReadOnceError(Exception):
    """Why no card was read. `reason` is "no_service", "no_reader", "no_card", "no_pin_answer" or a CardFault
    value; `detail` is the CardUnreadable detail (tags and status words, never values); `readers` are the
    readers pcscd has when none matched the filter. Each caller words it for its own audience."""

    def __init__(self, reason: str, detail: str = "", readers: tuple[str, ...] = ()) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.readers = readers


def read_card_once(
    reader_filter: str, timeout: float, pin: str | None, psam_filter: str = ""
) -> tuple[dict[str, object], CardRead, PinChecked | None]:
    """Wait up to `timeout` s for a card in the reader, read it (a third-generation card through the PSAM in the
    reader `psam_filter` names), check the PIN if given. Raises ReadOnceError."""
    events: queue.Queue[ReaderEvent] = queue.Queue()
    reader = CardReaderThread(events.put, name_filter=reader_filter, psam_filter=psam_filter)
    psam: list[PsamChanged] = []
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        read = _await_card(events, deadline, psam)
        checked = None
        if pin is not None:
            reader.verify_pin(pin)
            checked = _await_pin(events, deadline + 10)
        extra: dict[str, object] = {"reader": read.reader, "atr": read.atr}
        if psam_filter and psam:
            extra.update(psam=psam[-1].status, psam_terminal=psam[-1].terminal_number)  # the kiosk's, not personal
        return extra, read, checked
    finally:
        reader.stop()


def psam_once(psam_filter: str, settle_s: float = 1.5) -> PsamChanged:
    """The PSAM slot as the kiosk's reader thread finds it: opened, application selected, terminal number read."""
    events: queue.Queue[ReaderEvent] = queue.Queue()
    # No citizen's reader (no name contains NUL): a card left in the slot is not touched, its key tries not spent.
    reader = CardReaderThread(events.put, name_filter="\0", psam_filter=psam_filter)
    found = PsamChanged("absent", detail="pcscd did not answer")
    reader.start()
    try:
        deadline = time.monotonic() + settle_s
        while (event := _next_event(events, deadline)) is not None:
            if isinstance(event, ReaderServiceLost):
                return PsamChanged("absent", detail="no PC/SC service")
            if isinstance(event, PsamChanged):
                found = event
                if event.status != "absent":
                    break  # opened, or refused: an empty slot stays empty until the deadline
        return found
    finally:
        reader.stop()


def _next_event(events: queue.Queue[ReaderEvent], deadline: float) -> ReaderEvent | None:
    try:
        return events.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        return None


def _await_card(events: queue.Queue[ReaderEvent], deadline: float, psam: list[PsamChanged]) -> CardRead:
    pulled: CardUnreadable | None = None
    while (event := _next_event(events, deadline)) is not None:
        if isinstance(event, PsamChanged):
            psam.append(event)
        if isinstance(event, ReaderServiceLost):
            raise ReadOnceError("no_service")
        if isinstance(event, ReadersChanged) and event.selected is None:
            raise ReadOnceError("no_reader", readers=tuple(event.readers))
        if isinstance(event, CardUnreadable):
            pulled = event
            if event.fault is not CardFault.REMOVED_DURING_READ:
                break  # a card that answers wrongly answers wrongly again
        if isinstance(event, CardRead):
            return event
    if pulled is not None:  # a wrong card, or pulled out mid-read and not put back in time
        raise ReadOnceError(pulled.fault.value, pulled.detail)
    raise ReadOnceError("no_card")


def _await_pin(events: queue.Queue[ReaderEvent], deadline: float) -> PinChecked:
    while (event := _next_event(events, deadline)) is not None:
        if isinstance(event, PinChecked):
            return event
        if isinstance(event, CardRemoved):
            raise ReadOnceError(CardFault.REMOVED_DURING_READ.value)
    raise ReadOnceError("no_pin_answer")
