"""The social security card application against the emulated chip in-process (no pcscd): layout rules and faults."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import ss_card
from hardware.emulator import Person, SimulatedCard, encode_records, local_transmit
from kiosk.card import CardData, CardFault, CardReadError
from kiosk.events import PinChecked
from tests.conftest import person_fields, person_file

SAMPLES = ["wang-ming", "gulnazar", "li-xiuying-expired"]


def chip(name: str, *faults: str, tries_left: int | None = None) -> SimulatedCard:
    person = Person.load(person_file(name))
    person.faults += faults
    if tries_left is not None:
        person.tries_left = tries_left
    return SimulatedCard(person)


def read(card: SimulatedCard) -> CardData:
    return ss_card.read_card(local_transmit(card))


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_person_reads_back_exactly(name: str) -> None:
    card = read(chip(name))
    assert card.as_json(reveal=True) == person_fields(name)


def test_long_minority_name_is_joined_from_09_and_the_4e_extension() -> None:
    person = Person.load(person_file("gulnazar"))
    records = encode_records(person)
    assert 0x4E in records, "the sample must exercise the name extension"
    assert read(SimulatedCard(person)).name == "古丽娜扎尔·阿卜杜热合曼·买买提"


def test_card_without_4e_answers_6a83_and_the_name_stays_whole() -> None:
    transmit = local_transmit(chip("wang-ming"))
    ss_card.exchange(transmit, ss_card.select_ssse())
    ss_card.exchange(transmit, ss_card.select_ef(ss_card.EF06))
    _, sw = ss_card.exchange(transmit, ss_card.read_record_by_tag(0x4E, 22))
    assert sw == ss_card.SW_RECORD_NOT_FOUND
    assert read(chip("wang-ming")).name == "王明"


def test_t0_card_with_61xx_and_6cxx_reads_the_same() -> None:
    card = chip("wang-ming", "t0")
    card.person.fields["issuer"] = "110000"  # shorter than the 12 asked for: the card answers 6C08
    answers: list[int] = []
    transmit = local_transmit(card)

    def spy(apdu: bytes) -> tuple[bytes, int]:
        data, sw = transmit(apdu)
        answers.append(sw >> 8)
        return data, sw

    card.records = encode_records(card.person)
    data = ss_card.read_card(spy)
    assert ss_card.SW1_MORE_DATA in answers and ss_card.SW1_WRONG_LE in answers
    assert data.issuer == "110000" and data.name == "王明"


@pytest.mark.parametrize(
    ("fault", "expected", "detail"),
    [
        ("foreign_card", CardFault.NOT_SOCIAL_SECURITY_CARD, "6A82"),
        ("wrong_length", CardFault.UNREADABLE, "tag 08"),
        ("bad_bcd", CardFault.UNREADABLE, "tag 0D"),
        ("bad_gbk", CardFault.UNREADABLE, "GBK"),
    ],
)
def test_each_card_fault_has_its_own_result(fault: str, expected: CardFault, detail: str) -> None:
    with pytest.raises(CardReadError) as caught:
        read(chip("wang-ming", fault))
    assert caught.value.fault is expected
    assert detail in caught.value.detail


def test_card_pulled_after_any_apdu_is_removed_during_read() -> None:
    full = chip("gulnazar")
    read(full)
    assert full.apdu_count > 10
    for n in range(full.apdu_count):
        with pytest.raises(CardReadError) as caught:
            read(chip("gulnazar", f"drop_after:{n}"))
        assert caught.value.fault is CardFault.REMOVED_DURING_READ, n


def test_error_details_never_carry_card_values() -> None:
    for fault in ("wrong_length", "bad_bcd", "bad_gbk"):
        with pytest.raises(CardReadError) as caught:
            read(chip("wang-ming", fault))
        assert "110105" not in str(caught.value) and "王" not in str(caught.value)


# -- PIN ----------------------------------------------------------------------------------------
def test_pin_right_wrong_then_blocked() -> None:
    card = chip("wang-ming")
    transmit = local_transmit(card)
    read(card)
    assert ss_card.check_pin(transmit, "123456").ok
    assert ss_card.check_pin(transmit, "000000") == PinChecked(False, 2, False)
    assert ss_card.check_pin(transmit, "000000") == PinChecked(False, 1, False)
    assert ss_card.check_pin(transmit, "000000") == PinChecked(False, 0, True)
    assert ss_card.check_pin(transmit, "123456") == PinChecked(False, 0, True), "blocked stays blocked"


def test_right_pin_resets_the_retry_counter() -> None:
    card = chip("wang-ming")
    transmit = local_transmit(card)
    read(card)
    ss_card.check_pin(transmit, "999999")
    assert ss_card.check_pin(transmit, "123456").ok
    assert ss_card.check_pin(transmit, "999999").tries_left == 2


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "", "１２３４５６"])
def test_malformed_pin_is_never_sent(pin: str) -> None:
    card = chip("wang-ming")
    with pytest.raises(ValueError):
        ss_card.check_pin(local_transmit(card), pin)
    assert card.apdu_count == 0


# -- the bytes themselves --------------------------------------------------------------------
FIELD = ss_card.FIELD_BY_KEY


@pytest.mark.parametrize(
    ("key", "record", "why"),
    [
        ("ssn", b"\x08", "shorter than its header"),
        ("ssn", b"\x09\x12" + b"1" * 18, "answered with tag 09"),
        ("ssn", b"\x08\x12" + b"1" * 17, "length byte 18 but 17"),
        ("ssn", b"\x08\x11" + b"1" * 17, "17 bytes where 18"),
        ("name", b"\x09\x20" + b"A" * 32, "32 bytes where 30"),
    ],
)
def test_records_that_break_the_table_are_refused(key: str, record: bytes, why: str) -> None:
    with pytest.raises(ss_card.FieldError, match=why):
        ss_card.parse_record(FIELD[key], record)


@pytest.mark.parametrize(
    ("main", "extension", "name"),
    [
        ("王明".encode("gbk").ljust(30, b"\x00"), None, "王明"),
        ("王明".encode("gbk").ljust(30, b" "), None, "王明"),
        ("王明".encode("gbk").ljust(30, b"\xff"), None, "王明"),
        ("买买提·艾力".encode("gbk"), None, "买买提·艾力"),
        # the 30th byte ends halfway through a character: the extension carries its second half
        ("甲".encode("gbk") * 14 + b"A" + "乙".encode("gbk")[:1], "乙".encode("gbk")[1:] + b"\x00", "甲" * 14 + "A乙"),
    ],
)
def test_names_are_unpadded_and_joined_before_decoding(main: bytes, extension: bytes | None, name: str) -> None:
    assert ss_card._name(main, extension) == name


def test_dates_must_be_calendar_dates() -> None:
    assert ss_card._bcd_date(bytes.fromhex("20240229"), 0x0D) == date(2024, 2, 29)
    with pytest.raises(ss_card.FieldError, match="calendar"):
        ss_card._bcd_date(bytes.fromhex("20230229"), 0x0D)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(FIELD)), record=st.binary(max_size=40))
def test_random_record_bytes_give_a_value_or_a_clean_field_error(key: str, record: bytes) -> None:
    with contextlib.suppress(ss_card.FieldError):
        ss_card.parse_record(FIELD[key], record)


@settings(max_examples=300, deadline=None)
@given(
    values=st.fixed_dictionaries(
        {f.key: st.binary(min_size=f.length if f.fixed else 0, max_size=f.length) for f in ss_card.FIELDS}
    )
)
def test_random_field_values_decode_or_fail_cleanly(values: dict[str, bytes]) -> None:
    try:
        card = ss_card.decode_card(values)
    except ss_card.FieldError:
        return
    assert len(card.card_id) == 32 and len(card.ssn) == 18


@settings(max_examples=200, deadline=None)
@given(answers=st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=40))
def test_a_card_answering_random_bytes_is_never_more_than_unreadable(answers: list[bytes]) -> None:
    replies = iter(answers)

    def transmit(apdu: bytes) -> tuple[bytes, int]:
        rapdu = next(replies, b"\x6f\x00")
        if len(rapdu) < 2:
            return b"", 0
        return rapdu[:-2], int.from_bytes(rapdu[-2:], "big")

    try:
        ss_card.read_card(transmit)
    except CardReadError as e:
        assert e.fault in CardFault


def test_lenient_where_real_cards_are_known_to_differ() -> None:
    card = chip("wang-ming")
    card.records[0x03] = b"\x03\x04\x00\x00\x00\x00"  # zeroed version on an older second generation card
    card.records[0x0C] = b"\x0c\x03\x11\x01\xff"  # birthplace padded with FF
    data = read(card)
    assert data.spec_version == "" and data.generation == 0
    assert data.birthplace == "1101"
