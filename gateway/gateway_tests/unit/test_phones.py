"""The shared mobile-number rule (`mpp_shared.formats`) agrees with libphonenumber's."""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from mpp_shared.formats import InvalidPhone, parse_phone


def _libphonenumber(text: str) -> str | None:
    cleaned = "+" + text if text.startswith("62") else text
    try:
        number = phonenumbers.parse(cleaned, "ID")
    except NumberParseException:
        return None
    mobile = phonenumbers.number_type(number) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if number.country_code != 62 or not phonenumbers.is_valid_number(number) or not mobile:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _shared(text: str) -> str | None:
    try:
        return parse_phone(text)
    except InvalidPhone:
        return None


def test_the_shared_rule_accepts_exactly_the_numbers_libphonenumber_calls_indonesian_mobiles() -> (
    None
):
    rng = random.Random(16)
    numbers = [
        f"{prefix}{rng.choice('0123456789')}{rng.choice('0123456789')}"
        + "".join(rng.choice("0123456789") for _ in range(rng.randrange(4, 12)))
        for prefix in ("0", "+62", "62")
        for _ in range(1500)
    ]
    numbers += [f"08{d}12345678" for d in "0123456789"] + ["0812-3456-7890", "+62 812 3456 7890"]
    disagreements = [n for n in numbers if _shared(n) != _libphonenumber(n)]
    assert not disagreements, disagreements[:10]
    accepted = sum(_shared(n) is not None for n in numbers)
    assert 100 < accepted < len(numbers) - 100  # the sample holds plenty of both kinds
