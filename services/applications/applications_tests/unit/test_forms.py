"""Forms checked against their JSON Schema, every failing field named in both languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from applications.forms import normalised, problems
from mpp_shared.formats import local_today

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
    assert by_field["form.birth_date"] == {
        "id": "Isi tanggal yang benar (tahun-bulan-tanggal).",
        "en": "Enter a real date (year-month-day).",
    }


def test_missing_required_fields_are_each_named() -> None:
    found = problems(FORM_SCHEMA, {})
    assert [p["field"] for p in found] == ["form.child_name", "form.birth_date"]
    assert found[0]["message"] == {"id": "Wajib diisi.", "en": "Required."}
    assert found[0]["label"] == {"id": "Nama anak", "en": "Nama anak"}  # the title: no x-label


def _field(kind: str, label_id: str, label_en: str, **spec: Any) -> dict[str, Any]:
    return {"type": "string", "x-input": kind, "x-label": {"id": label_id, "en": label_en}} | spec


# As the catalog's seed writes a KIA-like form: formats shared with registration and the app.
SEEDED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "child_name": _field("string", "Nama anak", "Child's name", minLength=1, maxLength=200),
        "mother_nik": _field("nik", "NIK ibu", "Mother's NIK", format="nik"),
        "birth_date": _field(
            "date",
            "Tanggal lahir anak",
            "Child's date of birth",
            format="date",
            **{"x-when": "past"},
        ),
        "ceremony_date": _field(
            "date", "Rencana tanggal akad", "Planned date", format="date", **{"x-when": "future"}
        ),
        "start_date": _field("date", "Mulai dipasang", "Start date", format="date"),
        "end_date": _field(
            "date", "Selesai dipasang", "End date", format="date", **{"x-not-before": "start_date"}
        ),
        "phone": _field("phone", "Nomor HP", "Mobile number", format="phone-id"),
        "delivery": _field(
            "choice",
            "Cara pengambilan",
            "How to receive it",
            enum=["counter", "post"],
            **{
                "x-options": [
                    {"value": "counter", "label": {"id": "Ambil di loket", "en": "At the counter"}},
                    {"value": "post", "label": {"id": "Lewat Pos", "en": "By post"}},
                ]
            },
        ),
    },
    "required": ["child_name", "mother_nik", "birth_date", "phone", "delivery"],
    "additionalProperties": False,
    "x-order": [
        "child_name",
        "mother_nik",
        "birth_date",
        "ceremony_date",
        "start_date",
        "end_date",
        "phone",
        "delivery",
    ],
}


def _by_field(found: list[dict[str, Any]], lang: str) -> dict[str, tuple[str, str]]:
    return {p["field"]: (p["label"][lang], p["message"][lang]) for p in found}


def test_form_answers_are_checked_like_registration_every_field_at_once_in_both_languages() -> None:
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    yesterday = (local_today() - dt.timedelta(days=1)).isoformat()
    found = problems(
        SEEDED,
        normalised(
            SEEDED,
            {
                "child_name": " ",
                "mother_nik": "0000000000000000",
                "birth_date": tomorrow,
                "ceremony_date": yesterday,
                "start_date": "2030-05-02",
                "end_date": "2030-05-01",
                "phone": "0212345678",
                "delivery": "drone",
            },
        ),
    )
    assert _by_field(found, "id") == {
        "form.child_name": ("Nama anak", "Wajib diisi."),
        "form.mother_nik": ("NIK ibu", "Kode provinsi pada NIK tidak dikenal."),
        "form.birth_date": ("Tanggal lahir anak", "Tanggal tidak boleh melewati hari ini."),
        "form.ceremony_date": ("Rencana tanggal akad", "Tanggal tidak boleh sebelum hari ini."),
        "form.end_date": ("Selesai dipasang", "Tidak boleh sebelum Mulai dipasang."),
        "form.phone": (
            "Nomor HP",
            "Nomor HP harus nomor seluler Indonesia, misalnya 0812 3456 7890.",
        ),
        "form.delivery": ("Cara pengambilan", "Pilih salah satu: Ambil di loket, Lewat Pos."),
    }
    assert _by_field(found, "en") == {
        "form.child_name": ("Child's name", "Required."),
        "form.mother_nik": ("Mother's NIK", "Unknown province code."),
        "form.birth_date": ("Child's date of birth", "The date cannot be later than today."),
        "form.ceremony_date": ("Planned date", "The date cannot be earlier than today."),
        "form.end_date": ("End date", "Cannot be earlier than the start date."),
        "form.phone": (
            "Mobile number",
            "Use an Indonesian mobile number, for example 0812 3456 7890.",
        ),
        "form.delivery": ("How to receive it", "Choose one of: At the counter, By post."),
    }
    assert [p["field"] for p in found] == [
        f"form.{n}" for n in SEEDED["x-order"] if n != "start_date"
    ]


def test_a_nik_too_short_says_how_many_digits_it_has() -> None:
    found = problems(SEEDED, {"mother_nik": "7307 0155 0690 001"})
    nik = next(p for p in found if p["field"] == "form.mother_nik")
    assert nik["message"] == {
        "id": "NIK harus 16 angka (terisi 15).",
        "en": "A NIK is 16 digits (this has 15).",
    }


def test_a_nik_and_phone_typed_with_spaces_or_dashes_are_kept_as_their_digits() -> None:
    form = normalised(
        SEEDED,
        {
            "child_name": "  Andi ",
            "mother_nik": "7307-0155 0690.0001",
            "birth_date": "2020-01-08",
            "phone": "0812-3456 7890",
            "delivery": "post",
        },
    )
    assert form == {
        "child_name": "Andi",
        "mother_nik": "7307015506900001",
        "birth_date": "2020-01-08",
        "phone": "+6281234567890",
        "delivery": "post",
    }
    assert problems(SEEDED, form) == []
