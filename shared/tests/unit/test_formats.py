"""The shapes of identity data shared by registration, forms and the citizen app."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from mpp_shared.formats import (
    FORMATS,
    InvalidNik,
    InvalidPhone,
    InvalidValue,
    MobileText,
    NikText,
    normalised,
    parse_date,
    parse_nik,
    parse_phone,
)

TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    "typed",
    ["7307015506900001", "7307 0155 0690 0001", "7307-0155-0690-0001", "7307.0155.0690.0001"],
)
def test_a_nik_typed_with_spaces_dots_or_dashes_is_its_digits(typed: str) -> None:
    assert parse_nik(typed, today=TODAY).value == "7307015506900001"


@pytest.mark.parametrize(
    ("typed", "indonesian"),
    [
        ("7307 0155 0690 001", "NIK harus 16 angka (terisi 15)."),
        ("73070155069000011", "NIK harus 16 angka (terisi 17)."),
        ("7307O15506900001", "NIK hanya berisi angka (16 angka)."),
        ("0000000000000000", "Kode provinsi pada NIK tidak dikenal."),
        ("7307012811260001", "Tanggal lahir pada NIK tidak valid."),  # born tomorrow
    ],
)
def test_a_wrong_nik_says_what_is_wrong(typed: str, indonesian: str) -> None:
    with pytest.raises(InvalidNik) as raised:
        parse_nik(typed, today=TODAY)
    assert raised.value.messages["id"] == indonesian


@pytest.mark.parametrize(
    "typed",
    ["081234567890", "0812-3456-7890", "0812 3456 7890", "+62 812 3456 7890", "6281234567890"],
)
def test_a_mobile_number_typed_any_usual_way_is_kept_in_e164(typed: str) -> None:
    assert parse_phone(typed) == "+6281234567890"


@pytest.mark.parametrize(
    "typed", ["0212345678", "0804123456", "081234", "+6581234567", "0812abc4567"]
)
def test_landlines_short_and_foreign_numbers_are_refused(typed: str) -> None:
    with pytest.raises(InvalidPhone) as raised:
        parse_phone(typed)
    assert raised.value.messages["en"].startswith("Use an Indonesian mobile number")


def test_dates_in_the_past_or_the_future_as_the_field_asks() -> None:
    assert parse_date("2026-11-27", when="past", today=TODAY) == TODAY
    assert parse_date("2026-11-27", when="future", today=TODAY) == TODAY
    with pytest.raises(InvalidValue, match="later than today"):
        parse_date("2026-11-28", when="past", today=TODAY)
    with pytest.raises(InvalidValue, match="earlier than today"):
        parse_date("2026-11-26", when="future", today=TODAY)
    for wrong in ("27/11/2026", "2026-02-30", "kemarin"):
        with pytest.raises(InvalidValue, match="real date"):
            parse_date(wrong)


def test_the_json_schema_formats_leave_other_types_to_the_type_keyword() -> None:
    assert set(FORMATS) == {"nik", "phone-id", "date"}
    assert all(check(12) for check in FORMATS.values())
    with pytest.raises(InvalidNik):
        FORMATS["nik"]("0000000000000000")


def test_answers_are_normalised_by_their_format_or_left_for_the_check() -> None:
    assert normalised("7307 0155 0690 0001", "nik") == "7307015506900001"
    assert normalised("0812-3456-7890", "phone-id") == "+6281234567890"
    assert normalised("0812", "phone-id") == "0812"
    assert normalised("  Andi ", None) == "Andi"
    assert normalised(3, "nik") == 3


class Registration(BaseModel):
    nik: NikText
    phone: MobileText


def test_request_fields_keep_the_digits_and_name_every_wrong_field() -> None:
    ok = Registration(nik="7307 0155 0690 0001", phone="0812 3456 7890")
    assert (ok.nik, ok.phone) == ("7307015506900001", "+6281234567890")
    with pytest.raises(ValidationError) as raised:
        Registration(nik="7307", phone="021")
    errors = raised.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("nik",), "localized"),
        (("phone",), "localized"),
    ]
    assert errors[0]["ctx"] == {
        "id": "NIK harus 16 angka (terisi 4).",
        "en": "A NIK is 16 digits (this has 4).",
    }
    assert errors[0]["msg"] == "A NIK is 16 digits (this has 4)."
