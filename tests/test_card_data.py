"""CardData and masking: what staff, logs and the screen see of a cardholder."""

from __future__ import annotations

from datetime import date

import pytest

from hardware.emulator import sample_card
from kiosk.card import CardData
from kiosk.privacy import mask_card_no, mask_name, mask_ssn


def card(name: str = "wang-ming") -> CardData:
    return sample_card(name)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王", "*"), ("王明", "王*"), ("王小明", "王*明"), ("欧阳小明", "欧**明"), ("", "")],
)
def test_names_are_masked_to_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_numbers_are_masked_as_design_says() -> None:
    assert mask_ssn("110105194803151234") == "110***********1234"
    assert mask_card_no("A10000001") == "A******01"


def test_repr_and_str_never_show_the_cardholder() -> None:
    data = card()
    for text in (repr(data), str(data), f"{data}", str([data])):
        assert "110105194803151234" not in text
        assert "A10000001" not in text
        assert "王明" not in text
        assert "1948-03-15" not in text


def test_masked_json_hides_every_personal_field_and_reveal_shows_them() -> None:
    data = card()
    masked, clear = data.as_json(), data.as_json(reveal=True)
    for key in ("ssn", "card_no", "name", "birth_date", "birthplace", "card_id"):
        assert masked[key] != clear[key], key
    assert clear["ssn"] == "110105194803151234" and clear["birth_date"] == "1948-03-15"


def test_age_expiry_generation_and_region() -> None:
    data = card()
    assert data.age(date(2026, 3, 14)) == 77 and data.age(date(2026, 3, 15)) == 78
    assert not data.expired(date(2029, 4, 8)) and data.expired(date(2029, 4, 9))
    assert data.generation == 2 and data.region == "110000"
    old = card("li-xiuying-expired")
    assert old.generation == 1 and old.expired(date(2026, 11, 26))


def test_surname_for_the_greeting_is_never_guessed_for_minority_names() -> None:
    assert card().surname == "王"
    assert card("gulnazar").surname == ""
