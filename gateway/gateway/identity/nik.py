"""The structure of a NIK (Nomor Induk Kependudukan), the 16-digit national identity number.

The rule lives in `mpp_shared.formats`, shared with application forms and the citizen app.
"""

from __future__ import annotations

from mpp_shared.formats import PROVINCES, InvalidNik, Nik
from mpp_shared.formats import parse_nik as parse
from mpp_shared.pii import mask_nik

masked = mask_nik  # a NIK as shown where the whole is not needed

__all__ = ["PROVINCES", "InvalidNik", "Nik", "masked", "parse"]
