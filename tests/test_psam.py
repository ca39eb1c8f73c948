"""Third-generation cards and the PSAM in-process, against the emulated chips (no pcscd): the sequence, its faults."""

from __future__ import annotations

import pytest

from hardware import psam, ss_card
from hardware.emulator import Person, SimulatedCard, SimulatedPsam, local_transmit, read_in_process
from kiosk.card import CardData, CardFault, CardReadError
from tests.conftest import person_fields, person_file

THIRD = "zhang-guifang-3rd-gen"
ZHEJIANG = "chen-jindi-zhejiang-3rd-gen"  # Hangzhou Xihu (330106); a T=1 ATR that ends in its check byte TCK


def third_generation_card(*faults: str, name: str = THIRD, rk_tries_left: int = 3) -> SimulatedCard:
    person = Person.load(person_file(name))
    person.faults += faults
    person.rk_tries_left = rk_tries_left
    return SimulatedCard(person)


def opened_psam(
    *faults: str, levels: int = 3, terminal: str = "440100000042"
) -> tuple[SimulatedPsam, ss_card.Transmit]:
    chip = SimulatedPsam(terminal_number=terminal, faults=list(faults), levels=levels)
    transmit = local_transmit(chip, psam.PsamGone)
    assert psam.open_psam(transmit) == chip.terminal_number
    return chip, transmit


def read_with(card: SimulatedCard, psam_transmit: ss_card.Transmit, random=None) -> CardData:
    return read_in_process(card, psam_transmit, **({"random": random} if random else {}))


def test_sm4_is_the_gb_t_32907_cipher() -> None:
    # GB/T 32907-2016 appendix A, example 1
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert psam.sm4_encrypt(key, key) == bytes.fromhex("681EDF34D206965E86B3E94F536E4246")


def test_diversification_factors_of_the_real_card_in_the_public_trace() -> None:
    # gdgly/SI_3rdCard docs/加密机方式指令流.txt: card_id 519900D1…, ATR …86 60 51 99 00 00 01 AC
    card_id = bytes.fromhex("519900D15600000510000B26FFFFFFFF")
    atr = bytes.fromhex("3B6D000000814A444686605199000001AC")
    assert psam.card_factors(atr) == [("the last 8 historical bytes", bytes.fromhex("86605199000001AC"))]
    factors = psam.diversification_factors(card_id, psam.card_factors(atr)[0][1])
    assert factors == bytes.fromhex("86605199000001AC") + b"519900sx" + b"510000sh"
    zhejiang = psam.diversification_factors(bytes.fromhex("330106" + "00" * 13), factors[:8])
    assert zhejiang[8:] == b"330100sx" + b"330000sh"  # Zhejiang's city factor keeps 4 digits


@pytest.mark.parametrize(
    ("atr", "history"),
    [
        ("3B6D000000814A444686605199000001AC", "00814A444686605199000001AC"),  # the trace's: T=0, no TCK
        ("3B8D8131FE4500814A4446866033010600880114", "00814A44468660330106008801"),  # T=1: TCK at the end
        ("3BDD18008131FE4500814A444686603301060088015C", "00814A44468660330106008801"),  # TA1 TC1 TD1, TD2, TA3 TB3
        ("3B8D800100814A444686603301060088019E", "00814A44468660330106008801"),  # TD1 says T=0, TD2 T=1: TCK
        ("3B8D801FC700814A4446866033010600880147", "00814A44468660330106008801"),  # T=15 (global bytes): TCK
        ("3B8D0000814A44468660330106008801", "00814A44468660330106008801"),  # TD1 says T=0 alone: no TCK
        ("3B0D00814A44468660330106008801", "00814A44468660330106008801"),  # no interface bytes, T=0: no TCK
        ("3B8D8131FE4500814A44468660330106008801", None),  # T=1 without its TCK: one byte short
        ("3B6D0000", None),
        ("3B", None),
    ],
)
def test_the_historical_bytes_are_found_in_any_atr(atr: str, history: str | None) -> None:
    found = psam.historical_bytes(bytes.fromhex(atr))
    assert (found.hex().upper() if found is not None else None) == history


def test_an_atr_ending_in_its_check_byte_gives_two_readings_of_the_card_factor_spec_first() -> None:
    atr = bytes.fromhex(Person.load(person_file(ZHEJIANG)).atr)
    assert [(source.split(" (")[0], factor.hex().upper()) for source, factor in psam.card_factors(atr)] == [
        ("the last 8 historical bytes", "8660330106008801"),
        ("the ATR's last 8 bytes", "6033010600880114"),
    ]


@pytest.mark.parametrize(
    ("issued_with", "source"),
    [([], "the last 8 historical bytes"), (["factor_atr_end"], "the ATR's last 8 bytes (its check byte TCK included)")],
)
def test_a_card_issued_with_either_reading_of_its_factor_is_read_and_the_log_names_which(
    issued_with: list[str], source: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Internal authentication spends no try, so the second reading is tried there; the card is asked once."""
    card = third_generation_card(*issued_with, name=ZHEJIANG)
    _, transmit = opened_psam()
    sent: list[int] = []
    inner = local_transmit(card)

    def to_card(apdu: bytes) -> tuple[bytes, int]:
        sent.append(apdu[1])
        return inner(apdu)

    with caplog.at_level("DEBUG", logger="hardware.psam"):
        data = ss_card.read_card(to_card, lambda t, card_id: psam.authenticate(t, transmit, card_id, card.atr))
    assert data.as_json(reveal=True) == person_fields(ZHEJIANG)
    assert sent.count(0x88) == 1 and sent.count(0x82) == 1
    assert [r.getMessage() for r in caplog.records] == [f"third generation card: its factor is {source}"]
    assert not any(card.person.atr[-16:].lower() in r.getMessage().lower() for r in caplog.records)


def test_a_counterfeit_fails_under_both_readings_of_its_factor() -> None:
    _, transmit = opened_psam()
    with pytest.raises(CardReadError) as caught:
        read_with(third_generation_card("counterfeit", name=ZHEJIANG), transmit)
    assert caught.value.fault is CardFault.NOT_GENUINE


@pytest.mark.parametrize("refusal", [[], ["length_for_levels"]])
@pytest.mark.parametrize(("name", "terminal"), [(THIRD, "440100000042"), (ZHEJIANG, "330106000007")])
@pytest.mark.parametrize("levels", [3, 2, 1])
def test_a_third_generation_card_reads_back_exactly_with_the_psam(
    levels: int, name: str, terminal: str, refusal: list[str]
) -> None:
    """A province's or a city's PSAM (fewer levels: 6A80 or 6700 to more factors) opens its region's cards."""
    _, inner = opened_psam(*refusal, levels=levels, terminal=terminal)
    lengths: list[int] = []

    def to_psam(apdu: bytes) -> tuple[bytes, int]:
        if apdu[:2] == b"\xbf\xde":
            lengths.append(apdu[4])
        return inner(apdu)

    card = read_with(third_generation_card(name=name), to_psam)
    assert card.as_json(reveal=True) == person_fields(name)
    assert card.generation == 3
    tried = [0x28, 0x20, 0x18][: 4 - levels]  # 3 factors and the random, then 2, then 1
    assert lengths == tried + tried  # for the IRK, then for RKSSSE


def test_a_t0_card_and_psam_answer_61xx_and_the_kiosk_gets_the_rest() -> None:
    """T=0: SELECT PSAM, INTERNAL AUTHENTICATE and CIPHER DATA answer 61xx; GET RESPONSE fetches the data."""
    card = third_generation_card("t0")
    _, inner = opened_psam("t0")
    answers: list[str] = []

    def answered(transmit: ss_card.Transmit, who: str) -> ss_card.Transmit:
        def send(apdu: bytes) -> tuple[bytes, int]:
            data, sw = transmit(apdu)
            answers.append(f"{who} {apdu[:2].hex().upper()} {sw >> 8:02X}")
            return data, sw

        return send

    to_psam, to_card = answered(inner, "psam"), answered(local_transmit(card), "card")
    assert psam.open_psam(to_psam) == "440100000042"
    read = ss_card.read_card(to_card, lambda t, card_id: psam.authenticate(t, to_psam, card_id, card.atr))
    assert read.as_json(reveal=True) == person_fields(THIRD)
    for step in ("psam 00A4", "psam 80FA", "card 0088", "card 00A4"):  # each answered 61xx, then GET RESPONSE
        assert f"{step} 61" in answers, step
    assert answers.count("psam 00C0 90") == 3  # SELECT, 2 × CIPHER DATA


def test_the_sequence_is_the_table_in_order() -> None:
    card = third_generation_card()
    _, psam_transmit = opened_psam()
    sent: list[tuple[str, bytes]] = []
    card_transmit, psam_inner = local_transmit(card), psam_transmit

    def to_card(apdu: bytes) -> tuple[bytes, int]:
        sent.append(("card", apdu[:5]))
        return card_transmit(apdu)

    def to_psam(apdu: bytes) -> tuple[bytes, int]:
        sent.append(("psam", apdu[:5]))
        return psam_inner(apdu)

    ss_card.read_card(to_card, lambda transmit, card_id: psam.authenticate(transmit, to_psam, card_id, card.atr))
    start = next(i for i, (to, apdu) in enumerate(sent) if apdu[1] == 0x88)
    assert [f"{to} {apdu.hex().upper()}" for to, apdu in sent[start : start + 7]] == [
        "card 0088000010",  # internal authentication: the card proves itself
        "psam BFDE670828",  # DELIVERY SESSION KEY, IRK, 3 levels
        "psam 80FA000010",  # CIPHER DATA
        "card 0084000008",  # the card's challenge
        "psam BFDE670A28",  # DELIVERY SESSION KEY, RKSSSE
        "psam 80FA000010",
        "card 0082000A10",  # external authentication: the terminal proves itself
    ]
    # before the authentication only what a third-generation card gives freely was read
    before = [apdu[2] for to, apdu in sent[:start] if apdu[1] == 0xB2]
    assert before == [0x01, 0x02, 0x03, 0x04, 0x05]
    # after it, no application is selected (that may end the authentication): EF05 again, by its file id
    after = [apdu[:4].hex().upper() for to, apdu in sent[start + 7 :] if to == "card" and apdu[1] == 0xA4]
    assert after == ["00A40200", "00A40200"]  # EF05, then EF06


def test_a_second_generation_card_is_never_authenticated() -> None:
    calls: list[bytes] = []
    card = SimulatedCard(Person.load(person_file("wang-ming")))
    ss_card.read_card(local_transmit(card), lambda transmit, card_id: calls.append(card_id))
    assert calls == []


def test_without_a_psam_a_third_generation_card_needs_the_security_module() -> None:
    with pytest.raises(CardReadError) as caught:
        ss_card.read_card(local_transmit(third_generation_card()))
    assert caught.value.fault is CardFault.NEEDS_SECURITY_MODULE


@pytest.mark.parametrize(
    ("card_faults", "psam_faults", "expected", "detail"),
    [
        (["counterfeit"], [], CardFault.NOT_GENUINE, "INTERNAL AUTHENTICATE"),
        (["card_key_blocked"], [], CardFault.CARD_KEY_BLOCKED, "6983"),
        (["drop_between_auths"], [], CardFault.REMOVED_DURING_READ, ""),
        ([], ["wrong_master_key"], CardFault.PSAM_KEY_MISMATCH, "63C2: 2 tries left"),
        ([], ["locked"], CardFault.PSAM_LOCKED, "6983"),
        ([], ["pulled_mid_auth"], CardFault.PSAM_REMOVED, ""),
    ],
)
def test_each_authentication_fault_has_its_own_result(
    card_faults: list[str], psam_faults: list[str], expected: CardFault, detail: str
) -> None:
    _, transmit = opened_psam(*psam_faults)
    with pytest.raises(CardReadError) as caught:
        read_with(third_generation_card(*card_faults), transmit)
    assert caught.value.fault is expected
    assert detail in caught.value.detail


@pytest.mark.parametrize(
    ("fault", "status", "detail"),
    [
        ("wrong_application", "wrong_application", "SELECT PSAM 6A82 (no such file or application)"),
        ("application_locked", "locked", "SELECT PSAM 9303 (application locked)"),
    ],
)
def test_a_psam_that_cannot_serve_is_refused_when_opened(fault: str, status: str, detail: str) -> None:
    transmit = local_transmit(SimulatedPsam(faults=[fault]), psam.PsamGone)
    with pytest.raises(psam.PsamRefused) as caught:
        psam.open_psam(transmit)
    assert (caught.value.status, caught.value.detail) == (status, detail)


def test_a_psam_whose_keys_are_locked_opens_and_refuses_the_first_card() -> None:
    """Its terminal number and application answer; DELIVERY SESSION KEY answers 6983."""
    _, transmit = opened_psam("locked")
    with pytest.raises(CardReadError) as caught:
        read_with(third_generation_card(), transmit)
    assert (caught.value.fault, caught.value.detail) == (
        CardFault.PSAM_LOCKED, "DELIVERY SESSION KEY 08 6983 (key or PIN blocked)"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("to", "ins", "sw", "fault", "detail"),
    [
        ("card", 0x88, 0x6A88, CardFault.UNREADABLE, "INTERNAL AUTHENTICATE 6A88 (no such key)"),
        ("card", 0x88, 0x6A86, CardFault.UNREADABLE, "INTERNAL AUTHENTICATE 6A86 (wrong P1 P2)"),
        ("card", 0x88, 0x6700, CardFault.UNREADABLE, "INTERNAL AUTHENTICATE 6700 (wrong length)"),
        ("card", 0x84, 0x6700, CardFault.UNREADABLE, "GET CHALLENGE 6700 (wrong length)"),
        ("card", 0x82, 0x6984, CardFault.UNREADABLE, "EXTERNAL AUTHENTICATE 6984 (no valid challenge)"),
        ("card", 0x82, 0x6A88, CardFault.UNREADABLE, "EXTERNAL AUTHENTICATE 6A88 (no such key)"),
        ("card", 0x82, 0x6700, CardFault.UNREADABLE, "EXTERNAL AUTHENTICATE 6700 (wrong length)"),
        ("card", 0x82, 0x63C1, CardFault.PSAM_KEY_MISMATCH, "EXTERNAL AUTHENTICATE 63C1: 1 tries left"),
        ("card", 0x82, 0x63C0, CardFault.PSAM_SPENT_LAST_TRY, "63C0: 0 tries left, key blocked"),
        ("card", 0x82, 0x6300, CardFault.PSAM_KEY_MISMATCH, "EXTERNAL AUTHENTICATE 6300: tries left not said"),
        ("card", 0x84, 0x6901, CardFault.UNREADABLE, "GET CHALLENGE 6901 (not accepted in this state)"),
        ("card", 0x82, 0x9303, CardFault.CARD_KEY_BLOCKED, "EXTERNAL AUTHENTICATE 9303 (application locked)"),
        ("psam", 0xDE, 0x6A88, CardFault.PSAM_REFUSED, "DELIVERY SESSION KEY 08 6A88 (no such key)"),
        ("psam", 0xDE, 0x6A86, CardFault.PSAM_REFUSED, "DELIVERY SESSION KEY 08 6A86 (wrong P1 P2)"),
        ("psam", 0xDE, 0x6700, CardFault.PSAM_REFUSED, "DELIVERY SESSION KEY 08 6700 (wrong length)"),
        ("psam", 0xDE, 0x9303, CardFault.PSAM_LOCKED, "DELIVERY SESSION KEY 08 9303 (application locked)"),
        ("psam", 0xFA, 0x6901, CardFault.PSAM_REFUSED, "CIPHER DATA 08 6901 (not accepted in this state)"),
        ("psam", 0xFA, 0x6984, CardFault.PSAM_REFUSED, "CIPHER DATA 08 6984 (no valid challenge)"),
    ],
)
def test_each_status_word_the_tables_did_not_list_gives_its_fault_and_says_what_it_means(
    to: str, ins: int, sw: int, fault: CardFault, detail: str
) -> None:
    """Every answer to that command is `sw` (a PSAM that wants fewer factors is asked again each time)."""
    card = third_generation_card()
    _, psam_transmit = opened_psam()
    transmits = {"card": local_transmit(card), "psam": psam_transmit}
    inner = transmits[to]
    transmits[to] = lambda apdu: (b"", sw) if apdu[1] == ins else inner(apdu)
    with pytest.raises(CardReadError) as caught:
        ss_card.read_card(
            transmits["card"], lambda t, card_id: psam.authenticate(t, transmits["psam"], card_id, card.atr)
        )
    assert caught.value.fault is fault
    assert detail in caught.value.detail


def test_the_card_s_last_try_spent_on_a_wrong_psam_blocks_its_key() -> None:
    card = third_generation_card(rk_tries_left=1)
    _, wrong = opened_psam("wrong_master_key")
    with pytest.raises(CardReadError) as caught:
        read_with(card, wrong)
    assert caught.value.fault is CardFault.PSAM_SPENT_LAST_TRY and caught.value.fault.kiosk_side
    card.reset()
    _, right = opened_psam()
    with pytest.raises(CardReadError) as caught:
        read_with(card, right)  # blocked now: the right PSAM cannot open it either
    assert caught.value.fault is CardFault.CARD_KEY_BLOCKED


def test_a_wrong_key_costs_the_card_a_try_and_a_right_one_gives_them_back() -> None:
    card = third_generation_card()
    _, wrong = opened_psam("wrong_master_key")
    with pytest.raises(CardReadError):
        read_with(card, wrong)
    assert card.person.rk_tries_left == 2
    card.reset()
    _, right = opened_psam()
    read_with(card, right)
    assert card.person.rk_tries_left == 3


def test_card_pulled_after_any_apdu_of_a_third_generation_read_is_removed_during_read() -> None:
    full = third_generation_card()
    _, transmit = opened_psam()
    read_with(full, transmit)
    for n in range(full.apdu_count):
        _, transmit = opened_psam()
        with pytest.raises(CardReadError) as caught:
            read_with(third_generation_card(f"drop_after:{n}"), transmit)
        assert caught.value.fault in (CardFault.REMOVED_DURING_READ,), n


def test_psam_pulled_after_any_of_its_apdus_is_psam_removed() -> None:
    chip, transmit = opened_psam()
    read_with(third_generation_card(), transmit)
    opened = 2  # READ 0016 and SELECT
    for n in range(chip.apdu_count - opened):
        chip, transmit = opened_psam()

        def leaves(apdu: bytes, chip: SimulatedPsam = chip, answer=chip.answer, stop: int = opened + n) -> bytes | None:
            return None if chip.apdu_count >= stop else answer(apdu)

        chip.answer = leaves  # type: ignore[method-assign]
        with pytest.raises(CardReadError) as caught:
            read_with(third_generation_card(), transmit)
        assert caught.value.fault is CardFault.PSAM_REMOVED, n


def test_no_error_carries_a_random_or_a_cryptogram() -> None:
    randoms: list[bytes] = []

    def random(n: int) -> bytes:
        randoms.append(bytes(range(0xA0, 0xA0 + n)))
        return randoms[-1]

    for card_faults, psam_faults in ((["counterfeit"], []), ([], ["wrong_master_key"]), ([], ["locked"])):
        _, transmit = opened_psam(*psam_faults)
        with pytest.raises(CardReadError) as caught:
            read_with(third_generation_card(*card_faults), transmit, random=random)
        text = str(caught.value).upper()
        assert randoms and not any(r.hex().upper() in text or r.hex().upper()[:8] in text for r in randoms), text
