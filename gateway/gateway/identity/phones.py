"""Indonesian mobile numbers, normalised to E.164 by libphonenumber."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhone(ValueError):
    """Not an Indonesian mobile number."""

    messages = {
        "id": "Nomor HP harus nomor seluler Indonesia, misalnya 0812 3456 7890.",
        "en": "Use an Indonesian mobile number, for example 0812 3456 7890.",
    }


def normalise(text: str) -> str:
    """`0812-3456-7890`, `62812...` or `+62 812 ...` as `+6281234567890`; else InvalidPhone."""
    cleaned = text.strip()
    if cleaned.startswith("62"):
        cleaned = "+" + cleaned
    try:
        number = phonenumbers.parse(cleaned, "ID")
    except NumberParseException:
        raise InvalidPhone(text) from None
    mobile = phonenumbers.number_type(number) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if number.country_code != 62 or not phonenumbers.is_valid_number(number) or not mobile:
        raise InvalidPhone(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """`+62812****7890`: enough for the owner to recognise, not to dial."""
    return f"{e164[:6]}{'*' * (len(e164) - 10)}{e164[-4:]}"
