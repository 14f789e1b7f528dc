"""The shapes of Indonesian identity data, checked alike wherever a citizen types them: at
registration (the gateway), in application forms (the catalog's JSON Schema formats `nik` and
`phone-id`, and `x-when: past|future` on a date, checked by the applications service) and on
the phone (`web/src/lib/formats.ts` holds the same rules and messages: change both together).

Every failure says what is wrong in plain Indonesian and English. Input is forgiving: spaces,
dots and dashes between digits are dropped before anything is checked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from mpp_shared.pii import mask_nik

# The regency's time (WITA): "today" is the citizen's today, not the server's.
ZONE = ZoneInfo("Asia/Makassar")

# Province codes (Kemendagri), including the Papua provinces formed in 2022.
PROVINCES = frozenset(
    {
        *range(11, 20),  # Aceh .. Kepulauan Riau
        21,
        *range(31, 37),  # DKI Jakarta .. Banten
        51,
        52,
        53,
        *range(61, 66),  # Kalimantan
        *range(71, 77),  # Sulawesi
        81,
        82,
        *range(91, 97),  # Papua
    }
)
_SEPARATORS = re.compile(r"[\s.\-]")
# libphonenumber's Indonesian mobile numbers (national part, after 0 or +62): 8, then not 0 or
# 4, then 7 to 10 digits. The gateway's tests hold this to libphonenumber's own answer.
_MOBILE = re.compile(r"8[1-35-9]\d{7,10}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InvalidValue(ValueError):
    """The text is not what the field asks for; `messages` say why, in Indonesian and English."""

    def __init__(self, indonesian: str, english: str) -> None:
        super().__init__(english)
        self.messages = {"id": indonesian, "en": english}


class InvalidNik(InvalidValue):
    """Not a NIK that could exist."""


class InvalidPhone(InvalidValue):
    """Not an Indonesian mobile number."""

    def __init__(self) -> None:
        super().__init__(
            "Nomor HP harus nomor seluler Indonesia, misalnya 0812 3456 7890.",
            "Use an Indonesian mobile number, for example 0812 3456 7890.",
        )


@dataclass(frozen=True)
class Nik:
    """A structurally valid NIK and what it tells."""

    value: str
    region: str  # six digits: province, regency, district
    birth_date: dt.date
    female: bool

    @property
    def masked(self) -> str:
        """The NIK as shown where the whole is not needed."""
        return mask_nik(self.value)


def local_today() -> dt.date:
    """Today in the regency."""
    return dt.datetime.now(ZONE).date()


def digits_of(text: str) -> str:
    """`text` without the spaces, dots and dashes people type between digits."""
    return _SEPARATORS.sub("", text)


def parse_nik(text: str, *, today: dt.date | None = None) -> Nik:
    """The NIK in `text` (PPRRDD DDMMYY SSSS: region, birth date with day + 40 for women,
    serial), or InvalidNik saying why. Only Dukcapil can say a NIK exists; this says whether
    it could."""
    value = digits_of(text)
    if not value.isascii() or not value.isdigit():
        raise InvalidNik("NIK hanya berisi angka (16 angka).", "A NIK is 16 digits, numbers only.")
    if len(value) != 16:
        raise InvalidNik(
            f"NIK harus 16 angka (terisi {len(value)}).",
            f"A NIK is 16 digits (this has {len(value)}).",
        )
    if int(value[:2]) not in PROVINCES:
        raise InvalidNik("Kode provinsi pada NIK tidak dikenal.", "Unknown province code.")
    if value[2:4] == "00" or value[4:6] == "00":
        raise InvalidNik(
            "Kode kabupaten/kota atau kecamatan pada NIK tidak valid.",
            "The regency or district code is not valid.",
        )
    day, month, year = int(value[6:8]), int(value[8:10]), int(value[10:12])
    female = day > 40
    today = today or local_today()
    century = 2000 if 2000 + year <= today.year else 1900
    bad_date = InvalidNik(
        "Tanggal lahir pada NIK tidak valid.", "The birth date in the NIK is not valid."
    )
    try:
        born = dt.date(century + year, month, day - 40 if female else day)
    except ValueError:
        raise bad_date from None
    if born > today:
        raise bad_date
    if value[12:] == "0000":
        raise InvalidNik("Nomor urut pada NIK tidak valid.", "The serial number is not valid.")
    return Nik(value=value, region=value[:6], birth_date=born, female=female)


def parse_phone(text: str) -> str:
    """`0812-3456-7890`, `62812...`, `+62 (812) ...` or `812...` as `+6281234567890`; else
    InvalidPhone."""
    value = re.sub(r"[()]", "", digits_of(text))
    for prefix in ("+62", "62"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    value = value.removeprefix("0")  # the trunk prefix, also when typed after +62
    if not value.isascii() or not _MOBILE.fullmatch(value):
        raise InvalidPhone()
    return f"+62{value}"


def parse_date(
    text: str, *, when: Literal["any", "past", "future"] = "any", today: dt.date | None = None
) -> dt.date:
    """The `YYYY-MM-DD` date in `text`; with `when`, not after (past) or not before (future)
    today. Else InvalidValue saying why."""
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            "Isi tanggal yang benar (tahun-bulan-tanggal).", "Enter a real date (year-month-day)."
        ) from None
    today = today or local_today()
    if when == "past" and day > today:
        raise InvalidValue(
            "Tanggal tidak boleh melewati hari ini.", "The date cannot be later than today."
        )
    if when == "future" and day < today:
        raise InvalidValue(
            "Tanggal tidak boleh sebelum hari ini.", "The date cannot be earlier than today."
        )
    return day


def _given(text: str) -> str:
    if not text.strip():
        raise InvalidValue("Wajib diisi.", "Required.")  # not "a NIK is 16 digits (this has 0)"
    return text


def _text_only(check: Callable[[str], Any]) -> Callable[[object], bool]:
    # JSON Schema formats apply to strings only: other types are the `type` keyword's to refuse.
    def checked(value: object) -> bool:
        if isinstance(value, str):
            check(_given(value))
        return True

    return checked


# The JSON Schema formats of application forms: each checks, or raises InvalidValue saying why.
FORMATS: dict[str, Callable[[object], bool]] = {
    "nik": _text_only(parse_nik),
    "phone-id": _text_only(parse_phone),
    "date": _text_only(parse_date),
}


def normalised(value: object, format_name: str | None) -> object:
    """An answer as its format keeps it: a NIK as its 16 digits, a mobile number in E.164;
    anything that does not parse is left for the check to explain."""
    if not isinstance(value, str):
        return value
    try:
        if format_name == "nik":
            return parse_nik(value).value
        if format_name == "phone-id":
            return parse_phone(value)
    except InvalidValue:
        return value
    return value.strip()


def _field(parse: Callable[[str], str]) -> Callable[[str], str]:
    # A pydantic error of the type `localized`, whose context carries both languages: the
    # problem+json handler names the field with this module's own words, not pydantic's.
    def checked(text: str) -> str:
        try:
            return parse(_given(text))
        except InvalidValue as invalid:
            raise PydanticCustomError("localized", "{en}", dict(invalid.messages)) from None

    return checked


# Request fields: a NIK kept as its 16 digits, a mobile number in E.164.
NikText = Annotated[str, AfterValidator(_field(lambda text: parse_nik(text).value))]
MobileText = Annotated[str, AfterValidator(_field(parse_phone))]
