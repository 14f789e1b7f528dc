"""Phone numbers, passwords and the encryption of personal identifiers."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from gateway.identity import passwords, phones
from mpp_shared.pii import Vault


@pytest.mark.parametrize(
    "text", ["081234567890", "0812-3456-7890", "+62 812 3456 7890", "6281234567890"]
)
def test_mobile_numbers_are_normalised_to_e164(text: str) -> None:
    assert phones.normalise(text) == "+6281234567890"


@pytest.mark.parametrize("text", ["0411 21234", "+1 202 555 0100", "12345", "", "08"])
def test_landlines_foreign_and_broken_numbers_are_refused(text: str) -> None:
    with pytest.raises(phones.InvalidPhone):
        phones.normalise(text)


def test_a_masked_number_keeps_operator_and_last_digits() -> None:
    assert phones.masked("+6281234567890") == "+62812****7890"


@pytest.mark.parametrize("weak", ["rahasia", "password123", "12345678", "andibaso1", "x" * 129])
def test_guessable_passwords_are_refused(weak: str) -> None:
    with pytest.raises(passwords.WeakPassword):
        passwords.check_strength(weak, personal=["andi", "baso", "andibaso"])


def test_a_few_unrelated_words_are_strong_enough() -> None:
    passwords.check_strength("kuda lari di pantai", personal=["andi"])


def test_password_hashes_verify_only_their_password() -> None:
    stored = passwords.hash_password("kuda lari di pantai")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "kuda lari di pantai")
    assert not passwords.verify(stored, "kuda lari di pantai!")
    assert not passwords.verify("not a hash", "anything")


def test_identifiers_round_trip_and_hash_stably_per_key() -> None:
    vault = Vault("secret one", kind="nik")
    sealed = vault.encrypt("7307015506900001")
    assert "7307015506900001" not in sealed
    assert vault.decrypt(sealed) == "7307015506900001"
    assert vault.encrypt("7307015506900001") != sealed, "a fresh nonce each time"
    assert vault.lookup_hash("7307015506900001") == vault.lookup_hash("7307015506900001")
    assert Vault("secret two", kind="nik").lookup_hash("7307015506900001") != vault.lookup_hash(
        "7307015506900001"
    )


def test_a_ciphertext_for_another_kind_or_key_does_not_open() -> None:
    sealed = Vault("secret one", kind="nik").encrypt("7307015506900001")
    with pytest.raises(InvalidTag):
        Vault("secret one", kind="otp").decrypt(sealed)
    with pytest.raises(InvalidTag):
        Vault("secret two", kind="nik").decrypt(sealed)
