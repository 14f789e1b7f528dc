"""Password hashing (argon2id) and strength (zxcvbn, told the person's own data)."""

from __future__ import annotations

from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
MIN_LENGTH = 8
MIN_SCORE = 2  # zxcvbn: 0 too guessable .. 4 very unguessable


class WeakPassword(ValueError):
    """The password is too easy to guess."""

    messages = {
        "id": "Kata sandi terlalu mudah ditebak. Gunakan minimal 8 karakter, misalnya beberapa "
        "kata yang tidak berhubungan, dan jangan memakai nama, NIK atau nomor HP Anda.",
        "en": "The password is too easy to guess. Use at least 8 characters, for example a few "
        "unrelated words, and not your name, NIK or phone number.",
    }


def check_strength(password: str, *, personal: Sequence[str] = ()) -> None:
    """Raise WeakPassword for a short or guessable password (given the person's own data)."""
    if len(password) < MIN_LENGTH or len(password) > 128:
        raise WeakPassword
    # zxcvbn's cost grows with length; beyond 64 characters length alone is strength enough.
    inputs = [p for p in personal if p]
    if len(password) <= 64 and zxcvbn(password, user_inputs=inputs)["score"] < MIN_SCORE:
        raise WeakPassword


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _HASHER.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters."""
    return _HASHER.check_needs_rehash(stored_hash)


# Compared against when the account does not exist, so timing does not tell who is registered.
DUMMY_HASH = _HASHER.hash("not-a-real-password")
