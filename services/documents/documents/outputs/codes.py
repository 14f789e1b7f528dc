"""Verification codes, PINs, and masked names for the public verification page."""

from __future__ import annotations

import re
import secrets
import unicodedata

# No 0/O, 1/I/L: people read these codes off paper and type them on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUPS = 3
GROUP_LENGTH = 4
CODE_LENGTH = GROUPS * GROUP_LENGTH  # 31**12, about 59 bits: not guessable on a rate-limited page
PIN_LENGTH = 6

# Hyphen-minus and the dashes a phone keyboard or a copy from a PDF viewer may put in instead.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_VALID = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")


def new_verification_code() -> str:
    """A fresh random code, grouped for reading aloud: `K7QM-3XRT-9HWA`."""
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def normalize_code(text: str) -> str | None:
    """The code as issued (`K7QM-3XRT-9HWA`) from however it was typed; None if it is no code."""
    # NFKC folds full-width letters and digits that some keyboards produce.
    bare = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not _VALID.fullmatch(bare):
        return None
    return _grouped(bare)


def new_pin() -> str:
    """A fresh random six-digit PIN."""
    return f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"


def mask_name(name: str) -> str:
    """Each word's first letter kept, its other letters and digits starred: `S*** A***** D****`."""
    return " ".join(_mask_word(word) for word in unicodedata.normalize("NFC", name).split())


def _mask_word(word: str) -> str:
    # Punctuation stays ("M." or "Ma'ruf") so the shape still matches the name on an ID card.
    masked: list[str] = []
    kept = False
    for char in word:
        if unicodedata.category(char).startswith("M"):
            # A combining mark belongs to the letter before it: shown with it, hidden with it.
            if not masked or masked[-1] != "*":
                masked.append(char)
        elif not char.isalnum():
            masked.append(char)
        elif kept:
            masked.append("*")
        else:
            masked.append(char)
            kept = True
    return "".join(masked)


def _grouped(bare: str) -> str:
    return "-".join(bare[i : i + GROUP_LENGTH] for i in range(0, len(bare), GROUP_LENGTH))
