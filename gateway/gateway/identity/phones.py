"""Indonesian mobile numbers, normalised to E.164.

The rule lives in `mpp_shared.formats`, shared with application forms and the citizen app; its
tests hold it to libphonenumber's.
"""

from __future__ import annotations

from mpp_shared.formats import InvalidPhone
from mpp_shared.formats import parse_phone as normalise

__all__ = ["InvalidPhone", "masked", "normalise"]


def masked(e164: str) -> str:
    """`+62812****7890`: enough for the owner to recognise, not to dial."""
    return f"{e164[:6]}{'*' * (len(e164) - 10)}{e164[-4:]}"
