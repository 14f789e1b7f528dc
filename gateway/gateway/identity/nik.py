"""The structure of a NIK (Nomor Induk Kependudukan), the 16-digit national identity number.

PPPPRRDD DDMMYY SSSS: province, regency and district codes; the birth date (day + 40 for women);
a serial. Only Dukcapil can say a NIK exists; this says whether it could.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from mpp_shared.pii import mask_nik

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
_DIGITS = re.compile(r"\d{16}")


@dataclass(frozen=True)
class Nik:
    """A structurally valid NIK and what it tells."""

    value: str
    region: str  # six digits: province, regency, district
    birth_date: dt.date
    female: bool

    @property
    def masked(self) -> str:
        """The NIK as shown to people (see `masked`)."""
        return masked(self.value)


masked = mask_nik  # a NIK as shown where the whole is not needed


class InvalidNik(ValueError):
    """The text cannot be a NIK; the message says why, in Indonesian and English."""

    def __init__(self, indonesian: str, english: str) -> None:
        super().__init__(english)
        self.messages = {"id": indonesian, "en": english}


def parse(text: str, *, today: dt.date | None = None) -> Nik:
    """The NIK in `text` (spaces and dots allowed between digits), or InvalidNik."""
    value = re.sub(r"[\s.]", "", text)
    if not _DIGITS.fullmatch(value):
        raise InvalidNik("NIK harus 16 angka.", "A NIK is 16 digits.")
    if int(value[:2]) not in PROVINCES:
        raise InvalidNik("Kode provinsi pada NIK tidak dikenal.", "Unknown province code.")
    if value[2:4] == "00" or value[4:6] == "00":
        raise InvalidNik(
            "Kode kabupaten/kota atau kecamatan pada NIK tidak valid.",
            "The regency or district code is not valid.",
        )
    day, month, year = int(value[6:8]), int(value[8:10]), int(value[10:12])
    female = day > 40
    today = today or dt.date.today()
    century = 2000 if 2000 + year <= today.year else 1900
    try:
        born = dt.date(century + year, month, day - 40 if female else day)
    except ValueError:
        raise InvalidNik(
            "Tanggal lahir pada NIK tidak valid.", "The birth date in the NIK is not valid."
        ) from None
    if born > today:
        raise InvalidNik(
            "Tanggal lahir pada NIK tidak valid.", "The birth date in the NIK is not valid."
        )
    if value[12:] == "0000":
        raise InvalidNik("Nomor urut pada NIK tidak valid.", "The serial number is not valid.")
    return Nik(value=value, region=value[:6], birth_date=born, female=female)
