"""Any notice, config text or card answer gives a value or one clean error, never another exception."""

from __future__ import annotations

import contextlib
import re

from hypothesis import event, given, settings
from hypothesis import strategies as st

from hardware import ss_card
from hardware.emulator import Person, SimulatedCard
from kiosk.card import CardData, CardFault, CardReadError
from kiosk.config import ConfigError, from_text
from kiosk.notices import InvalidNotice, parse_notice, parse_notices
from tests.conftest import person_file

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25,
)
NOTICE_KEYS = ["id", "version", "category", "priority", "title", "body", "speak", "valid_from", "valid_until",
               "deadline", "audience", "action_url"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(NOTICE_KEYS), JSON, max_size=12))
def test_any_notice_object_is_a_notice_or_an_invalid_notice(obj: dict) -> None:
    with contextlib.suppress(InvalidNotice):
        parse_notice(obj)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_batch_is_split_into_notices_and_skipped_lines(batch: object) -> None:
    try:
        notices, skipped = parse_notices(batch)
    except InvalidNotice:
        assert not isinstance(batch, list)
        return
    assert len(notices) + len(skipped) == len(batch)


KEYS = ["id", "data_dir", "language", "url", "ca_file", "sync_interval_s", "name_filter", "require_pin",
        "idle_warning_s", "idle_reset_s", "orientation", "text_scale", "volume", "rate", "unknown"]  # fmt: skip
VALUES = st.sampled_from(['"x"', "1", "1.5", "true", "-3", '"https://a/b"', '"http://a"', "[1, 2]", "{a = 1}",
                          '"zh_CN"', "1e400", '"\\u0000"', "300"])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["kiosk", "backend", "reader", "session", "ui", "voice", "x"]),
                          st.sampled_from(KEYS), VALUES), max_size=8),
       st.text(max_size=40))  # fmt: skip
def test_any_config_file_is_a_config_or_one_clean_sentence(entries: list[tuple[str, str, str]], noise: str) -> None:
    sections: dict[str, list[str]] = {}
    for section, key, value in entries:
        sections.setdefault(section, []).append(f"{key} = {value}")
    text = "\n".join(f"[{s}]\n" + "\n".join(dict.fromkeys(lines)) for s, lines in sections.items())
    for candidate in (text, text + "\n" + noise, noise):
        try:
            from_text(candidate)
        except ConfigError as e:
            assert str(e) and "\n" not in str(e)


# -- the card ------------------------------------------------------------------------------------
# A few answers of the read go wrong, at any step: one byte changed (a wrong tag, a lying length
# byte, bad BCD, bad GBK, a date that is no date), the data cut short, padded or replaced by any
# bytes, another status word (61xx and 6Cxx included), or the card leaving the reader.
BYTE = st.integers(0, 255) | st.sampled_from([0x00, 0x13, 0x32, 0x80, 0x81, 0x99, 0x9A, 0xFF])
DATA = st.one_of(
    st.tuples(st.just("byte"), st.tuples(st.integers(0, 40), BYTE)),
    st.tuples(st.just("cut"), st.integers(0, 40)),
    st.tuples(st.just("pad"), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("any"), st.binary(max_size=40)),
    st.just(("gone", None)),  # pulled out instead of answering
)
STATUS = st.integers(0, 0xFFFF) | st.sampled_from([0x6100, 0x61FF, 0x6C00, 0x6CFF, 0x6A82, 0x6A83, 0x6982, 0x9303])
STEP = st.integers(0, 24)  # the read is 17 APDUs, a few more with T=0 chaining


def hostile(data: bytes, change: tuple[str, object]) -> bytes:
    """The card's honest data as the hostile card sends it instead."""
    how, arg = change
    if how == "byte" and data:
        position, value = arg  # type: ignore[misc]
        position %= len(data)
        return data[:position] + bytes([value]) + data[position + 1 :]
    if how == "cut":
        return data[:arg]  # type: ignore[misc]
    if how == "pad":
        return data + arg  # type: ignore[operator]
    if how == "any":
        return arg  # type: ignore[return-value]
    return data


@settings(max_examples=500, deadline=None)
@given(
    name=st.sampled_from(["wang-ming", "gulnazar", "li-xiuying-expired"]),
    t0=st.booleans(),
    changes=st.dictionaries(STEP, DATA, max_size=3),  # APDU number → what happens to its data
    statuses=st.dictionaries(STEP, STATUS, max_size=3),  # APDU number → the status word instead
)
def test_any_card_answer_is_card_data_or_one_card_fault(name: str, t0: bool, changes: dict, statuses: dict) -> None:
    person = Person.load(person_file(name))
    if t0:
        person.faults.append("t0")
    card = SimulatedCard(person)

    def transmit(apdu: bytes) -> tuple[bytes, int]:
        step = card.apdu_count
        rapdu = card.answer(apdu)
        data, sw = rapdu[:-2], int.from_bytes(rapdu[-2:], "big")
        if step in changes:
            if changes[step][0] == "gone":
                raise ss_card.CardGone("card left")
            data = hostile(data, changes[step])
        return data, statuses.get(step, sw)

    try:
        data = ss_card.read_card(transmit)
    except CardReadError as e:
        event(e.fault.value)
        assert e.fault in CardFault
        assert person.fields["ssn"] not in str(e) and person.fields["name"][:1] not in str(e), "values in the error"
        return
    event("read")
    assert isinstance(data, CardData)
    assert re.fullmatch(r"[0-9A-F]{32}", data.card_id) and re.fullmatch(r"\d{17}[\dX]", data.ssn)
    assert data.name and data.name.isprintable() and data.gender in ("male", "female", "unknown")
