"""Third-generation cards and the PSAM in-process, against the emulated chips (no pcscd): the sequence, its faults."""

from __future__ import annotations

import pytest

from hardware import psam, ss_card
from hardware.emulator import Person, SimulatedCard, SimulatedPsam, local_transmit, read_in_process
from kiosk.card import CardData, CardFault, CardReadError
from tests.conftest import person_fields, person_file

THIRD = "zhang-guifang-3rd-gen"


def third_generation_card(*faults: str) -> SimulatedCard:
    person = Person.load(person_file(THIRD))
    person.faults += faults
    return SimulatedCard(person)


def opened_psam(*faults: str, levels: int = 3) -> tuple[SimulatedPsam, ss_card.Transmit]:
    chip = SimulatedPsam(faults=list(faults), levels=levels)
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
    factors = psam.diversification_factors(card_id, atr)
    assert factors == bytes.fromhex("86605199000001AC") + b"519900sx" + b"510000sh"
    zhejiang = psam.diversification_factors(bytes.fromhex("330100" + "00" * 13), atr)
    assert zhejiang[8:16] == b"330100sx"[:4] + b"00sx"


@pytest.mark.parametrize("levels", [3, 2, 1])
def test_a_third_generation_card_reads_back_exactly_with_the_psam(levels: int) -> None:
    """A province's or a city's PSAM (fewer levels, 6A80 to the first try) opens the card as well."""
    _, transmit = opened_psam(levels=levels)
    card = read_with(third_generation_card(), transmit)
    assert card.as_json(reveal=True) == person_fields(THIRD)
    assert card.generation == 3


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


def test_a_psam_without_the_application_is_refused_when_opened() -> None:
    transmit = local_transmit(SimulatedPsam(faults=["wrong_application"]), psam.PsamGone)
    with pytest.raises(psam.PsamRefused) as caught:
        psam.open_psam(transmit)
    assert caught.value.status == "wrong_application"
    assert psam.FAULT_OF_STATUS[caught.value.status] is CardFault.PSAM_WRONG_APPLICATION


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
