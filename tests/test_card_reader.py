"""The card reader thread through the real pcscd and vpcd: events as the kiosk core receives them."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pytest

from hardware.pcsc import CardReaderThread
from kiosk.card import CardFault
from kiosk.events import (
    CardInserted,
    CardRead,
    CardRemoved,
    CardUnreadable,
    PinChecked,
    ReaderEvent,
    ReadersChanged,
    ReaderServiceLost,
)
from tests.conftest import READER
from tests.pcsc_line import PcscLine


class Events:
    def __init__(self) -> None:
        self.queue: queue.Queue[ReaderEvent] = queue.Queue()

    def next(self, kind: type, timeout: float = 5.0) -> ReaderEvent:
        """The next event of `kind`, skipping others; fails the test after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {kind.__name__} within {timeout} s")
            if isinstance(event, kind):
                return event

    def drain(self) -> list[ReaderEvent]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get())
        return out


@pytest.fixture
def reader(pcscd: None) -> Iterator[tuple[CardReaderThread, Events]]:
    events = Events()
    thread = CardReaderThread(events.queue.put, name_filter=READER)
    thread.start()
    yield thread, events
    thread.stop()
    assert not thread.is_alive(), "the card thread must end on stop()"


def test_insert_read_remove(reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]) -> None:
    _, events = reader
    assert events.next(ReadersChanged).selected == READER
    emulator = card_slot("wang-ming")
    inserted = events.next(CardInserted)
    read = events.next(CardRead)
    assert inserted.atr == read.atr == emulator.person.atr
    assert read.card.ssn == "110105194803151234" and read.card.name == "王明"
    emulator.remove()
    assert events.next(CardRemoved).reader == READER


def test_card_already_in_the_reader_at_start_is_read(pcscd: None, card_slot: Callable[..., object]) -> None:
    card_slot("gulnazar")
    time.sleep(0.6)  # let pcscd see it before the thread starts
    events = Events()
    thread = CardReaderThread(events.queue.put, name_filter=READER)
    thread.start()
    try:
        assert events.next(CardRead).card.name == "古丽娜扎尔·阿卜杜热合曼·买买提"
    finally:
        thread.stop()


def test_second_card_after_a_quick_swap_is_read_not_lost(
    reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    _, events = reader
    card_slot("wang-ming")
    assert events.next(CardRead).card.name == "王明"
    card_slot("li-xiuying-expired")  # takes the first card out and puts the next one in
    assert events.next(CardRemoved)
    assert events.next(CardRead).card.name == "李秀英"


def test_pin_through_the_card_thread(reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]) -> None:
    thread, events = reader
    card_slot("wang-ming")
    events.next(CardRead)
    thread.verify_pin("654321")
    assert events.next(PinChecked) == PinChecked(ok=False, tries_left=2, blocked=False)
    thread.verify_pin("123456")
    assert events.next(PinChecked).ok


def test_card_pulled_mid_read_reports_removed_during_read_then_removed(
    reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    _, events = reader
    card_slot("wang-ming", faults=["drop_after:5"])
    assert events.next(CardUnreadable).fault is CardFault.REMOVED_DURING_READ
    assert events.next(CardRemoved).reader == READER


def test_service_lost_and_back_without_restarting_the_thread(
    reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object], pcsc_line: PcscLine
) -> None:
    thread, events = reader
    card_slot("wang-ming")
    events.next(CardRead)
    pcsc_line.cut()
    assert events.next(CardRemoved), "a session must end when the service goes"
    events.next(ReaderServiceLost)
    time.sleep(1.5)  # several failed reconnects while the service is away
    assert not [e for e in events.drain() if isinstance(e, ReaderServiceLost)], "reported once per outage"
    pcsc_line.restore()
    assert events.next(ReadersChanged, timeout=8).selected == READER
    assert events.next(CardRead).card.name == "王明", "the card still in the reader is read again"
    assert thread.is_alive()


def test_a_reader_filter_that_matches_nothing_selects_no_reader(pcscd: None) -> None:
    events = Events()
    thread = CardReaderThread(events.queue.put, name_filter="No Such Reader")
    thread.start()
    try:
        changed = events.next(ReadersChanged)
        assert changed.selected is None and READER in changed.readers
    finally:
        thread.stop()


def test_a_swap_between_two_looks_is_seen_from_the_event_counter() -> None:
    """pyscard #220: out and in again between two looks leaves the reader 'present' with a new counter."""
    from smartcard import scard as pc

    events = Events()
    thread = CardReaderThread(events.queue.put)
    thread._selected = READER
    inserted: list[str] = []
    thread._card_in = lambda atr: (setattr(thread, "_present", True), inserted.append(atr))  # type: ignore[method-assign]
    present = pc.SCARD_STATE_PRESENT
    thread._reconcile((1 << 16) | present, [0x3B])
    thread._reconcile((1 << 16) | present, [0x3B])  # nothing happened
    assert len(inserted) == 1 and events.queue.empty()
    thread._reconcile((3 << 16) | present, [0x3B])  # counter moved by two: removed, inserted
    assert isinstance(events.queue.get_nowait(), CardRemoved)
    assert len(inserted) == 2


def test_a_chip_that_answers_the_pin_check_wrongly_gives_no_result_and_no_crash(
    reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    thread, events = reader
    card_slot("wang-ming", faults=["verify_chain"])
    events.next(CardRead)
    thread.verify_pin("123456")
    assert events.next(PinChecked) == PinChecked(ok=False, tries_left=None, blocked=False)
    time.sleep(1.0)
    later = events.drain()
    assert not any(isinstance(e, ReaderServiceLost | CardRemoved) for e in later), later
    assert thread.is_alive()


def test_two_programs_reading_the_same_card_do_not_garble_each_other(
    pcscd: None, card_slot: Callable[..., object]
) -> None:
    """The kiosk and an engineer's read-card at once: each read runs in its own PC/SC transaction."""
    first, second = Events(), Events()
    threads = [CardReaderThread(e.queue.put, name_filter=READER) for e in (first, second)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(4):
            card_slot("gulnazar")
            for events in (first, second):
                read = events.next(CardRead)
                assert read.card.name == "古丽娜扎尔·阿卜杜热合曼·买买提"
                assert not [e for e in events.drain() if isinstance(e, CardUnreadable)]
    finally:
        for thread in threads:
            thread.stop()
