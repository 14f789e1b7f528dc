"""Forms checked like registration, on the phone and at the mall alike: every problem at once,
named by the field's label in plain words, and NIKs and phone numbers typed as people type them."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, Platform, register_citizen, screenshot, upload_document
from .test_journey import FORM
from .test_web_citizen import SERVICE, pdf_file, sign_in

pytestmark = pytest.mark.e2e


def local_day(days: int) -> str:
    """Today in the regency, moved by `days`."""
    return (dt.datetime.now(ZoneInfo("Asia/Makassar")).date() + dt.timedelta(days=days)).isoformat()


def apply(platform: Platform, citizen: dict[str, Any], form: dict[str, Any]) -> httpx.Response:
    """Submit a birth-certificate application with these answers, once its documents (and the
    service) have reached the applications service's read models."""
    documents = {
        code: [upload_document(platform, citizen, code)]
        for code in ("surat_keterangan_lahir", "kk")
    }
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(
            f"{platform.gateway}/api/v1/applications",
            json={"service": SERVICE, "form": form, "documents": documents},
            headers=citizen["headers"] | {"Idempotency-Key": secrets.token_hex(8)},
            timeout=10,
        )
        waiting = response.status_code == 404 or (
            response.status_code == 422
            and any(e["field"].startswith("documents.") for e in response.json()["errors"])
        )
        if not waiting or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def requests_to(page: Any, path: str) -> list[str]:
    """The POSTs the page makes to `path` from now on."""
    seen: list[str] = []
    page.on(
        "request", lambda r: seen.append(r.url) if r.method == "POST" and path in r.url else None
    )
    return seen


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "id",
            {
                "form.child_name": ("Nama anak", "Wajib diisi."),
                "form.birth_date": ("Tanggal lahir", "Tanggal tidak boleh melewati hari ini."),
                "form.mother_nik": ("NIK ibu", "Kode provinsi pada NIK tidak dikenal."),
                "form.father_nik": ("NIK ayah", "NIK harus 16 angka (terisi 13)."),
            },
        ),
        (
            "en",
            {
                "form.child_name": ("Child's name", "Required."),
                "form.birth_date": ("Date of birth", "The date cannot be later than today."),
                "form.mother_nik": ("Mother's NIK", "Unknown province code."),
                "form.father_nik": ("Father's NIK", "A NIK is 16 digits (this has 13)."),
            },
        ),
    ],
)
def test_the_api_names_every_wrong_answer_of_a_seeded_form_by_its_label(
    platform: Platform, lang: str, expected: dict[str, tuple[str, str]]
) -> None:
    citizen = register_citizen(platform, "Andi Mappe")
    citizen = citizen | {"headers": citizen["headers"] | {"Accept-Language": lang}}
    wrong = FORM | {
        "child_name": "  ",
        "birth_date": local_day(1),
        "mother_nik": "0000000000000000",  # any 16 digits passed before
        "father_nik": "7307-0115-0690-0",
    }
    response = apply(platform, citizen, form=wrong)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {e["field"]: (e["label"], e["message"]) for e in errors} == expected


def test_a_nik_typed_with_spaces_is_kept_as_its_digits(platform: Platform) -> None:
    citizen = register_citizen(platform, "Besse Intan")
    form = FORM | {"mother_nik": "7307 0155 0690 0001", "father_nik": "7307-0115-0690-0001"}
    response = apply(platform, citizen, form=form)
    assert response.status_code == 201, response.text
    detail = httpx.get(
        f"{platform.gateway}/api/v1/applications/{response.json()['id']}",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    assert (detail["form"]["mother_nik"], detail["form"]["father_nik"]) == (
        "7307015506900001",
        "7307011506900001",
    )


def test_registration_shows_every_missing_field_at_once_before_sending(phone: Any) -> None:
    sent = requests_to(phone, "/api/v1/auth/register")
    phone.goto("/daftar")
    phone.get_by_label("NIK").fill("7307 0155 0690 001")
    phone.get_by_role("button", name="Daftar dan kirim kode").click()

    summary = phone.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Periksa 4 isian berikut:")
    expect(summary).to_contain_text("NIK: NIK harus 16 angka (terisi 15).")
    for label in ("Nama lengkap", "Nomor ponsel", "Kata sandi"):
        expect(summary).to_contain_text(f"{label}: Wajib diisi.")
        expect(phone.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    # Typed with spaces, the NIK is not cut short; the count says how far it is.
    expect(phone.get_by_label("NIK")).to_have_value("7307 0155 0690 001")
    screenshot(phone, "citizen-forms-1-register-all-at-once")
    assert sent == [], "nothing was sent: each round trip costs a 3G phone seconds"

    # Fixed as typed: each message goes as soon as its field is right.
    phone.get_by_label("NIK").fill("7307 0155 0690 0001")
    phone.get_by_label("Nama lengkap").fill("Andi Tenri")
    expect(summary).to_contain_text("Periksa 2 isian berikut:")
    expect(summary).not_to_contain_text("NIK")
    phone.get_by_label("Nomor ponsel").fill("0812-34")
    expect(summary).to_contain_text("Nomor ponsel: Nomor HP harus nomor seluler Indonesia")
    phone.get_by_label("Nomor ponsel").fill(
        f"0813-{secrets.randbelow(10**4):04d}-{secrets.randbelow(10**4):04d}"
    )
    phone.get_by_label("Kata sandi").fill(PASSWORD)
    expect(phone.get_by_role("alert")).to_have_count(0)
    phone.get_by_role("button", name="Daftar dan kirim kode").click()
    # The NIK and the phone typed with spaces and dashes are taken as their digits.
    phone.get_by_role("heading", name="Verifikasi nomor ponsel").wait_for()
    assert len(sent) == 1


def test_an_apply_form_shows_every_problem_at_once_with_labels_and_takes_a_spaced_nik(
    phone: Any, platform: Platform, tmp_path: Path
) -> None:
    citizen = register_citizen(platform, "Nurul Hikmah")
    sign_in(phone, citizen["phone"])
    sent = requests_to(phone, "/api/v1/applications")
    phone.goto(f"/layanan/{SERVICE}/ajukan")
    phone.get_by_label("Tanggal lahir *").fill(local_day(1))
    phone.get_by_label("Tempat lahir *").fill("Sinjai")
    phone.get_by_label("NIK ibu *").fill("0000000000000000")
    phone.get_by_label("NIK ayah").fill("7307 0115 0690 0")
    phone.get_by_role("button", name="Kirim permohonan").click()

    summary = phone.get_by_role("alert")
    expect(summary).to_be_focused()
    expected = {
        "Nama anak": "Wajib diisi.",
        "Tanggal lahir": "Tanggal tidak boleh melewati hari ini.",
        "Jenis kelamin": "Wajib diisi.",
        "NIK ibu": "Kode provinsi pada NIK tidak dikenal.",
        "NIK ayah": "NIK harus 16 angka (terisi 13).",
    }
    for label, message in expected.items():
        expect(summary).to_contain_text(f"{label}: {message}")
        # ... and beside the field itself
        expect(
            phone.locator(".field.invalid", has_text=label).locator(".field-error")
        ).to_have_text(message)
    expect(summary.get_by_text("Dokumen ini wajib diunggah.")).to_have_count(2)
    text = summary.inner_text()
    for key in ("child_name", "mother_nik", "birth_date", "form.", "documents.", "minimal 1"):
        assert key not in text, f"{key!r} in {text!r}"
    expect(phone.get_by_label("NIK ayah")).to_have_value("7307 0115 0690 0")  # not cut short
    screenshot(phone, "citizen-forms-2-apply-all-at-once")

    # In English, in English words.
    phone.get_by_role("button", name="EN: Switch to English").click()
    phone.get_by_role("button", name="Submit the application").click()
    expect(summary).to_contain_text("Child's name: Required.")
    expect(summary).to_contain_text("Date of birth: The date cannot be later than today.")
    expect(summary).to_contain_text("Father's NIK: A NIK is 16 digits (this has 13).")
    screenshot(phone, "citizen-forms-3-apply-all-at-once-en")
    phone.get_by_role("button", name="ID: Ganti ke Bahasa Indonesia").click()
    assert sent == [], "nothing was sent while the phone knew it would be refused"

    phone.get_by_label("Nama anak *").fill("Muh. Fadli")
    phone.get_by_label("Tanggal lahir *").fill(local_day(-3))
    phone.get_by_label("Laki-laki").check()
    phone.get_by_label("NIK ibu *").fill("7307 0155 0690 0001")
    phone.get_by_label("NIK ayah").fill("7307-0115-0690-0001")
    phone.get_by_label(re.compile("^Surat keterangan lahir")).set_input_files(
        str(pdf_file(tmp_path, "surat-lahir"))
    )
    phone.get_by_label(re.compile("^Kartu Keluarga orang tua")).set_input_files(
        str(pdf_file(tmp_path, "kk"))
    )
    phone.get_by_text("terunggah").nth(1).wait_for()
    expect(phone.get_by_role("alert")).to_have_count(0)
    phone.get_by_role("button", name="Kirim permohonan").click()
    phone.get_by_text("Permohonan terkirim.").wait_for(timeout=60_000)
    screenshot(phone, "citizen-forms-4-apply-sent")

    mine = httpx.get(
        f"{platform.gateway}/api/v1/applications", headers=citizen["headers"], timeout=10
    ).json()
    detail = httpx.get(
        f"{platform.gateway}/api/v1/applications/{mine['items'][0]['id']}",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    assert detail["form"]["mother_nik"] == "7307015506900001"
    assert detail["form"]["father_nik"] == "7307011506900001"
