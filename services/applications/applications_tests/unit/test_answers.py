"""Sensitive form answers: which fields, sealing, opening and masking."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from applications import answers
from applications.settings import Settings
from mpp_shared.pii import Vault

NIK = "7307015506900001"
VAULT = Vault("a-secret-for-tests", kind="form-answer")


def test_marked_fields_and_nik_fields_are_sensitive_unless_marked_otherwise() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "account": {"type": "string", "x-sensitive": True},
            "nik": {"type": "string", "x-input": "nik", "pattern": "^[0-9]{16}$"},
            "kk_number": {"type": "string", "pattern": "^[0-9]{16}$"},
            "public_nik": {"type": "string", "x-input": "nik", "x-sensitive": False},
        },
    }
    assert answers.sensitive_fields(schema) == {"account", "nik", "kk_number"}
    assert answers.sensitive_fields(None) == frozenset()
    assert answers.sensitive_fields({"type": "object"}) == frozenset()


def test_a_sealed_answer_opens_only_for_its_application_and_field() -> None:
    form = {"name": "Andi", "nik": NIK, "count": 3}
    fields = frozenset({"nik", "count"})
    sealed = answers.seal(form, fields=fields, vault=VAULT, application_id="app-1")
    assert NIK not in str(sealed) and sealed["name"] == "Andi"
    opened = answers.reveal(sealed, fields=fields, vault=VAULT, application_id="app-1")
    assert opened == form
    moved = answers.reveal(sealed, fields=fields, vault=VAULT, application_id="app-2")
    assert moved["nik"] is None
    other_key = Vault("another-secret", kind="form-answer")
    assert (
        answers.reveal(sealed, fields=fields, vault=other_key, application_id="app-1")["nik"]
        is None
    )
    shown = answers.masked(sealed, fields=fields, vault=VAULT, application_id="app-1")
    assert shown == {"name": "Andi", "nik": "7307********0001", "count": answers.HIDDEN}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (NIK, "7307********0001"),
        ("BRI 1234567890", "**********7890"),
        ("C1234567", "****4567"),
        ("Siti Aminah", answers.HIDDEN),
        ("1234", answers.HIDDEN),
        (None, answers.HIDDEN),
        (42, answers.HIDDEN),
    ],
)
def test_a_masked_answer_keeps_only_what_identifies_nobody(value: object, shown: str) -> None:
    assert answers.mask(value) == shown


def test_production_refuses_the_development_pii_key() -> None:
    with pytest.raises(ValidationError, match="MPP_PII_KEY"):
        Settings(
            environment="production",
            secret_key="s" * 32,  # type: ignore[arg-type]
            postgres_password="p" * 16,  # type: ignore[arg-type]
        )
