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
    reader_filter: str, timeout: float, pin: str | None
) -> tuple[dict[str, object], CardRead, PinChecked | None]:
    """Wait up to `timeout` s for a card in the reader, read it, check the PIN if given. Raises ReadOnceError."""
    events: queue.Queue[ReaderEvent] = queue.Queue()
    reader = CardReaderThread(events.put, name_filter=reader_filter)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        read = _await_card(events, deadline)
        checked = None
        if pin is not None:
            reader.verify_pin(pin)
            checked = _await_pin(events, deadline + 10)
        return {"reader": read.reader, "atr": read.atr}, read, checked
    finally:
        reader.stop()


def _next_event(events: queue.Queue[ReaderEvent], deadline: float) -> ReaderEvent | None:
    try:
        return events.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        return None


def _await_card(events: queue.Queue[ReaderEvent], deadline: float) -> CardRead:
    pulled: CardUnreadable | None = None
    while (event := _next_event(events, deadline)) is not None:
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
