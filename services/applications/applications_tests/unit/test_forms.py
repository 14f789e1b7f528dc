"""Forms checked against their JSON Schema, every failing field named in both languages."""

from __future__ import annotations

from applications.forms import problems

from ..conftest import FORM_SCHEMA


def test_a_valid_form_has_no_problems() -> None:
    assert problems(FORM_SCHEMA, {"child_name": "Andi", "birth_date": "2026-01-08"}) == []


def test_each_failing_field_is_named() -> None:
    found = problems(
        FORM_SCHEMA,
        {"child_name": "A", "birth_date": "08/01/2026", "weight_grams": "3 kg", "extra": 1},
    )
    by_field = {p["field"]: p["message"] for p in found}
    assert set(by_field) == {
        "form.child_name",
        "form.birth_date",
        "form.weight_grams",
        "form.extra",
    }
    assert by_field["form.child_name"]["id"] == "Terlalu pendek (minimal 2 karakter)."
    assert by_field["form.weight_grams"]["id"] == "Jenis isian salah (harus bilangan bulat)."
    assert by_field["form.extra"]["id"] == "Isian ini tidak dikenal."
    assert by_field["form.birth_date"]["id"] == "Formatnya tidak sesuai (date)."


def test_missing_required_fields_are_each_named() -> None:
    found = problems(FORM_SCHEMA, {})
    assert [p["field"] for p in found] == ["form.child_name", "form.birth_date"]
    assert found[0]["message"] == {
        "id": "Wajib diisi.",
        "en": "'child_name' is a required property",
    }
