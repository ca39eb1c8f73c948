"""Third-generation cards through the real pcscd, the PSAM in vpcd's second reader: what the kiosk core receives."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hardware.emulator import TEST_MASTER_KEYS, SimulatedCard, SimulatedPsam
from hardware.pcsc import CardReaderThread
from kiosk.card import CardFault
from kiosk.events import CardRead, CardUnreadable, PsamChanged, ReadersChanged, ReaderServiceLost
from tests.conftest import PSAM_READER, READER, kill_and_restart_pcscd, person_fields, wait_reader_empty
from tests.test_card_reader import Events

THIRD = "zhang-guifang-3rd-gen"
ZHEJIANG = "chen-jindi-zhejiang-3rd-gen"
ANOTHER_PSAM = "440100000043"  # a good PSAM put in for a faulty one: its own terminal number


@pytest.fixture
def reader(pcscd: None) -> Iterator[tuple[CardReaderThread, Events]]:
    events = Events()
    thread = CardReaderThread(events.queue.put, name_filter=READER, psam_filter=PSAM_READER)
    thread.start()
    yield thread, events
    thread.stop()
    assert not thread.is_alive()


def ready(events: Events) -> PsamChanged:
    while True:
        changed = events.next(PsamChanged)
        if changed.status != "absent":
            return changed


def swap_psam(psam_slot: object, events: Events, faults: list[str], terminal: str = "440100000042") -> PsamChanged:
    """The hall swaps the PSAM for one with `faults`: what the thread finds once it has opened the new one
    (a swap for one that opens alike, ready for ready, is seen only through the "absent" between)."""
    psam_slot.faults = faults
    psam_slot.terminal_number = terminal
    psam_slot.insert()
    return ready(events)


def test_a_third_generation_card_is_read_through_both_slots(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    _, events = reader
    changed = ready(events)
    assert changed == PsamChanged("ready", PSAM_READER, terminal_number="440100000042")
    card_slot(THIRD)
    assert events.next(CardRead).card.as_json(reveal=True) == person_fields(THIRD)
    card_slot(ZHEJIANG)  # T=1, its ATR ending in its check byte; Zhejiang's city factor
    assert events.next(CardRead).card.as_json(reveal=True) == person_fields(ZHEJIANG)


def test_the_psam_reader_is_never_served_as_the_citizens_reader(psam_slot: object, pcscd: None) -> None:
    events = Events()
    thread = CardReaderThread(events.queue.put, name_filter="", psam_filter=PSAM_READER)
    thread.start()
    try:
        assert events.next(ReadersChanged).selected == READER
    finally:
        thread.stop()


def serves_the_next_card(events: Events, card_slot: Callable[..., object]) -> None:
    """The same reader thread reads a good third-generation card right after a fault."""
    card_slot(THIRD)
    assert events.next(CardRead, timeout=8).card.name == "张桂芳"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("counterfeit", CardFault.NOT_GENUINE),
        ("card_key_blocked", CardFault.CARD_KEY_BLOCKED),
        ("drop_between_auths", CardFault.REMOVED_DURING_READ),
    ],
)
def test_each_card_side_fault_then_the_next_card(
    fault: str,
    expected: CardFault,
    psam_slot: object,
    reader: tuple[CardReaderThread, Events],
    card_slot: Callable[..., object],
) -> None:
    _, events = reader
    ready(events)
    card_slot(THIRD, faults=[fault])
    unreadable = events.next(CardUnreadable)
    assert unreadable.fault is expected
    assert not [e for e in events.drain() if isinstance(e, CardRead)], "nothing of a failed card is reported"
    serves_the_next_card(events, card_slot)


@pytest.mark.parametrize(
    ("fault", "status", "expected"),
    [
        ("wrong_application", "wrong_application", CardFault.PSAM_WRONG_APPLICATION),
        ("locked", "ready", CardFault.PSAM_LOCKED),  # a locked PSAM opens; its keys refuse
        ("application_locked", "locked", CardFault.PSAM_LOCKED),  # its application refuses SELECT: never opens
        ("wrong_master_key", "ready", CardFault.PSAM_KEY_MISMATCH),
        ("pulled_mid_auth", "ready", CardFault.PSAM_REMOVED),
    ],
)
def test_each_psam_fault_then_a_good_psam_serves_the_next_card(
    fault: str,
    status: str,
    expected: CardFault,
    psam_slot: object,
    reader: tuple[CardReaderThread, Events],
    card_slot: Callable[..., object],
) -> None:
    _, events = reader
    ready(events)
    assert swap_psam(psam_slot, events, [fault]).status == status
    card_slot(THIRD)
    if fault in ("pulled_mid_auth", "locked"):
        gone_or_locked = {"pulled_mid_auth": "absent", "locked": "locked"}[fault]
        assert events.next(PsamChanged).status == gone_or_locked, "staff see what the card's read found"
    assert events.next(CardUnreadable).fault is expected
    assert swap_psam(psam_slot, events, [], terminal=ANOTHER_PSAM).status == "ready"
    serves_the_next_card(events, card_slot)


def test_a_refused_psam_is_asked_once_until_it_is_swapped(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    _, events = reader
    ready(events)
    assert swap_psam(psam_slot, events, ["wrong_application"]).status == "wrong_application"
    card_slot(THIRD)  # the slot's states change as the card is read: no reason to ask the same PSAM again
    assert events.next(CardUnreadable).fault is CardFault.PSAM_WRONG_APPLICATION
    assert psam_slot.psam.apdu_count == 2, "READ 0016 and SELECT, once"


def test_no_psam_then_one_put_in(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    _, events = reader
    ready(events)
    psam_slot.remove()
    wait_reader_empty(reader=PSAM_READER)
    assert events.next(PsamChanged) == PsamChanged("absent", PSAM_READER, detail="no PSAM in the slot")
    card_slot(THIRD)
    assert events.next(CardUnreadable).fault is CardFault.PSAM_ABSENT
    psam_slot.insert()
    assert ready(events).status == "ready"
    serves_the_next_card(events, card_slot)


def test_the_psam_is_opened_again_when_pcscd_comes_back(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    """pcscd dies (SIGKILL) and systemd starts it again: the same thread finds the PSAM and reads a new card."""
    thread, events = reader
    ready(events)
    if not kill_and_restart_pcscd(down_s=1.0):
        pytest.skip("this session uses a pcscd it did not start")
    events.next(ReaderServiceLost)
    psam_slot.insert()  # vpcd's slots reconnect to the new pcscd
    assert ready(events) == PsamChanged("ready", PSAM_READER, terminal_number="440100000042")
    serves_the_next_card(events, card_slot)
    assert thread.is_alive()


def refused_by_a_wrong_psam(psam_slot: object, events: Events, card_slot: Callable[..., object]) -> object:
    """The hall puts in a PSAM with the wrong key; a third-generation card spends one of its three tries on it."""
    ready(events)
    swap_psam(psam_slot, events, ["wrong_master_key"])
    emulator = card_slot(THIRD)
    assert "2 tries left" in events.next(CardUnreadable).detail
    return emulator


def test_a_card_that_refused_the_psams_key_is_not_tried_again(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    """Each wrong external authentication costs the citizen's card one of its three tries."""
    _, events = reader
    emulator = refused_by_a_wrong_psam(psam_slot, events, card_slot)
    for _ in range(2):  # the citizen tries again, twice
        emulator.insert()
        assert "not tried again" in events.next(CardUnreadable).detail
    assert emulator.person.rk_tries_left == 2
    psam_slot.faults, psam_slot.terminal_number = [], ANOTHER_PSAM
    psam_slot.insert()  # the right PSAM: the card is tried, and read
    ready(events)
    emulator.insert()
    assert events.next(CardRead).card.name == "张桂芳"
    assert emulator.person.rk_tries_left == 3


def test_a_reseated_psam_does_not_spend_another_try_of_a_card_that_refused_it(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    """Staff take the wrong PSAM out and put the same one back: it is the same terminal number, the same keys."""
    _, events = reader
    emulator = refused_by_a_wrong_psam(psam_slot, events, card_slot)
    swap_psam(psam_slot, events, ["wrong_master_key"])  # reseated
    emulator.insert()
    assert "not tried again" in events.next(CardUnreadable).detail
    assert emulator.person.rk_tries_left == 2


def test_a_card_whose_last_try_a_wrong_psam_spent_is_sent_to_the_counter_and_not_tried_again(
    psam_slot: object, reader: tuple[CardReaderThread, Events], card_slot: Callable[..., object]
) -> None:
    """It had one try left (spent elsewhere): 63C0 blocks its key; put back, it gets the same answer, unasked."""
    _, events = reader
    ready(events)
    swap_psam(psam_slot, events, ["wrong_master_key"])
    emulator = card_slot(THIRD, rk_tries_left=1)
    first = events.next(CardUnreadable)
    assert (first.fault, first.detail) == (CardFault.PSAM_SPENT_LAST_TRY, "EXTERNAL AUTHENTICATE 63C0: 0 tries left, "
                                           "key blocked")  # fmt: skip
    emulator.insert()
    again = events.next(CardUnreadable)
    assert again.fault is CardFault.PSAM_SPENT_LAST_TRY and "not tried again" in again.detail
    assert emulator.card.apdu_count == 7, "SELECT SSSE, SELECT EF05, READ 01–05: no authentication"


def test_second_generation_cards_read_with_no_psam_configured(pcscd: None, card_slot: Callable[..., object]) -> None:
    events = Events()
    thread = CardReaderThread(events.queue.put, name_filter=READER)
    thread.start()
    try:
        assert events.next(PsamChanged) == PsamChanged("not_configured")
        card_slot("wang-ming")
        assert events.next(CardRead).card.name == "王明"
        card_slot(THIRD)
        assert events.next(CardUnreadable).fault is CardFault.NEEDS_SECURITY_MODULE
    finally:
        thread.stop()


def test_no_key_random_or_cryptogram_reaches_a_debug_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    psam_slot: object,
    reader: tuple[CardReaderThread, Events],
    card_slot: Callable[..., object],
) -> None:
    secrets: list[bytes] = [*TEST_MASTER_KEYS.values()]

    def recording(answer: Callable[..., bytes | None]) -> Callable[..., bytes | None]:
        def answer_and_keep(chip: object, apdu: bytes) -> bytes | None:
            rapdu = answer(chip, apdu)
            if len(apdu) > 1 and apdu[1] in (0x88, 0x84, 0x82, 0xDE, 0xFA):  # the authentication's commands
                for data in (apdu[5:], (rapdu or b"")[:-2]):
                    secrets.extend(data[i : i + 8] for i in range(0, len(data), 8) if len(data[i : i + 8]) == 8)
            if isinstance(chip, SimulatedCard):
                secrets.extend(chip.keys.values())
            return rapdu

        return answer_and_keep

    monkeypatch.setattr(SimulatedCard, "answer", recording(SimulatedCard.answer))
    monkeypatch.setattr(SimulatedPsam, "answer", recording(SimulatedPsam.answer))
    log_file = tmp_path / "kiosk.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        _, events = reader
        ready(events)
        card_slot(THIRD)
        events.next(CardRead)
        card_slot(THIRD, faults=["counterfeit"])
        events.next(CardUnreadable)
        psam_slot.faults = ["wrong_master_key"]
        psam_slot.insert()
        ready(events)
        card_slot(THIRD)
        events.next(CardUnreadable)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
    log = log_file.read_text(encoding="utf-8")
    assert "card read in" in log and "not_genuine" in log, "the log must hold the session to be checked"
    assert len(secrets) > 20
    leaked = [s.hex() for s in secrets if s.hex() in log.lower() or s in log.encode()]
    assert not leaked, f"authentication bytes in the log: {leaked[:3]}"
