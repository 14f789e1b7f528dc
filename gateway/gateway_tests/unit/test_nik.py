"""The structure of NIKs."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.identity.nik import InvalidNik, parse

TODAY = dt.date(2026, 11, 27)


def test_a_mans_nik_gives_region_and_birth_date() -> None:
    nik = parse("7307011506900001", today=TODAY)
    assert (nik.region, nik.birth_date, nik.female) == ("730701", dt.date(1990, 6, 15), False)


def test_a_womans_birth_day_is_40_more() -> None:
    nik = parse("7307015506900001", today=TODAY)
    assert (nik.birth_date, nik.female) == (dt.date(1990, 6, 15), True)


def test_separators_are_allowed_and_the_masked_form_hides_the_middle() -> None:
    nik = parse("7307 0155 0690 0001", today=TODAY)
    assert nik.value == "7307015506900001"
    assert nik.masked == "7307********0001"


def test_two_digit_years_take_the_latest_past_century() -> None:
    assert parse("7307011506250001", today=TODAY).birth_date.year == 2025
    assert parse("7307011506270001", today=TODAY).birth_date.year == 1927


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("730701150690001", "16"),
        ("73070115069000a1", "16"),
        ("9907011506900001", "province"),
        ("7300011506900001", "regency"),
        ("7307001506900001", "regency"),
        ("7307013206900001", "birth date"),
        ("7307017202900001", "birth date"),  # 32 February for a woman
        ("7307011513900001", "birth date"),  # month 13
        ("7307011506900000", "serial"),
    ],
)
def test_impossible_niks_say_why(text: str, why: str) -> None:
    with pytest.raises(InvalidNik) as raised:
        parse(text, today=TODAY)
    assert why in str(raised.value)
    assert raised.value.messages["id"]
