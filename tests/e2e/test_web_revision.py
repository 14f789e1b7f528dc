"""A send-back that names what must be fixed, in real browsers on the real deployables: the
officer ticks a misspelt answer and a document to replace, each with a note; the citizen, on a
360 px phone, sees exactly those, corrects the name and uploads a new family card in one
resubmission; the officer then reads the corrected answer and, in the history, what changed."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import (
    PASSWORD,
    Platform,
    label_in_name_mismatches,
    register_citizen,
    screenshot,
    upload_document,
)
from .test_web_axe import audited_desk, audited_phone, violations
from .test_web_citizen import pdf_file
from .test_web_officer import (
    AGENCY,
    FORM,
    SERVICE,
    officer_of,
    sign_in_at_desk,
    upload_image,
    wait_until_readable,
)

pytestmark = pytest.mark.e2e
__all__ = ["audited_desk", "audited_phone"]  # the pages here are audited with axe-core

MISSPELT = "Nur Asiyah"
CORRECT = "Nur Aisyah"


def apply_misspelt(platform: Platform, citizen: dict[str, Any]) -> dict[str, Any]:
    """A birth-certificate application whose child's name was mistyped."""
    documents = {
        "surat_keterangan_lahir": [upload_document(platform, citizen, "surat_keterangan_lahir")],
        "kk": [upload_image(platform, citizen, "kk")],
    }
    deadline = time.monotonic() + 120  # the catalog's and documents' events may still travel
    while True:
        response = httpx.post(
            f"{platform.gateway}/api/v1/applications",
            json={
                "service": SERVICE,
                "form": FORM | {"child_name": MISSPELT},
                "documents": documents,
            },
            headers=citizen["headers"] | {"Idempotency-Key": f"web-revision-{citizen['id']}"},
            timeout=10,
        )
        if response.status_code not in (404, 422) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.timeout(300)
def test_an_officer_names_what_to_fix_and_the_citizen_fixes_exactly_that(
    platform: Platform, audited_desk: Any, audited_phone: Any, tmp_path: Path
) -> None:
    desk, phone = audited_desk, audited_phone
    citizen = register_citizen(platform, "Andi Perbaikan")
    username, headers, _ = officer_of(platform, AGENCY)
    application = apply_misspelt(platform, citizen)
    tracking = application["tracking_number"]
    api = f"{platform.gateway}/api/v1/applications/{application['id']}"
    for ids in application["documents"].values():
        wait_until_readable(platform, headers, ids[0])

    # -- the officer sends it back, naming the child's name and the family card ------------------
    sign_in_at_desk(desk, username)
    expect(desk.get_by_role("heading", level=1, name="Kotak masuk")).to_be_visible()
    desk.goto(f"/petugas/permohonan/{application['id']}")
    actions = desk.get_by_role("region", name="Tindakan")
    actions.get_by_role("button", name="Mulai periksa").click()
    announced = desk.get_by_role("status").filter(has_text="Status sekarang")
    expect(announced).to_contain_text("Diperiksa petugas")
    actions.get_by_role("button", name="Minta perbaikan berkas").click()
    dialog = desk.get_by_role("dialog", name=f"Minta perbaikan berkas: {tracking}")
    expect(dialog).to_be_visible()
    name_box = dialog.get_by_role("checkbox", name=re.compile("^Nama anak"))
    expect(name_box.locator("xpath=..")).to_contain_text(MISSPELT)  # the answer it has now
    name_box.check()
    dialog.get_by_role("checkbox", name=re.compile("^Kartu Keluarga orang tua")).check()
    dialog.get_by_role("button", name="Kirim ke warga").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Tulis catatan untuk setiap butir")
    name_note = dialog.get_by_label("Catatan: Nama anak")
    expect(name_note).to_be_focused()
    sent_back = httpx.get(api, headers=headers, timeout=10).json()
    assert sent_back["state"]["code"] == "in_review", "nothing was sent without the notes"
    name_note.fill("Nama anak salah eja, sesuaikan dengan surat lahir.")
    dialog.get_by_label("Catatan: Kartu Keluarga orang tua").fill("Foto KK terpotong.")
    assert label_in_name_mismatches(desk) == []
    assert violations(desk) == [], "the send-back dialog"
    screenshot(desk, "revision-1-officer-names-what-to-fix")
    dialog.get_by_role("button", name="Kirim ke warga").click()
    expect(dialog).to_be_hidden()
    expect(announced).to_contain_text("Status sekarang: Perlu perbaikan berkas.")
    history = desk.get_by_role("region", name="Riwayat").get_by_role("listitem")
    expect(history.first).to_contain_text("Nama anak salah eja")
    expect(history.first).to_contain_text("Foto KK terpotong.")

    # -- the citizen, on a phone, sees exactly those two and fixes them in one go ----------------
    phone.goto("/masuk")
    phone.get_by_label("NIK atau nomor ponsel").fill(citizen["phone"])
    phone.get_by_label("Kata sandi").fill(PASSWORD)
    phone.get_by_role("button", name="Masuk").click()
    phone.get_by_role("heading", name="Permohonan saya").wait_for()
    phone.goto(f"/permohonan/{application['id']}")
    fix = phone.get_by_role("region", name="Yang harus Anda perbaiki")
    expect(fix).to_contain_text("Nama anak salah eja, sesuaikan dengan surat lahir.")
    expect(fix).to_contain_text("Foto KK terpotong.")
    expect(fix.get_by_role("textbox")).to_have_count(2)  # the name and a note, nothing else
    child_name = fix.get_by_label("Nama anak *")
    expect(child_name).to_have_value(MISSPELT)
    expect(fix.get_by_label(re.compile("^Tanggal lahir"))).to_have_count(0)
    resubmit = fix.get_by_role("button", name="Ajukan ulang")
    resubmit.click()  # no new family card yet: the phone says so first
    expect(fix.get_by_role("alert")).to_contain_text("Unggah dokumen pengganti.")
    child_name.fill(CORRECT)
    fix.get_by_label("Kartu Keluarga orang tua (dokumen baru)").set_input_files(
        str(pdf_file(tmp_path, "kk-baru"))
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360, "fits a 360 px phone"
    assert violations(phone) == [], "what the citizen must fix"
    screenshot(phone, "revision-2-citizen-fixes")
    resubmit.click()
    expect(fix).to_have_count(0)
    expect(phone.locator(".timeline li").first).to_contain_text(
        re.compile(rf"{MISSPELT}\W+menjadi {CORRECT}")
    )
    expect(phone.locator(".timeline li").first).to_contain_text("dokumen diganti")
    screenshot(phone, "revision-3-citizen-history")

    fixed = httpx.get(api, headers=headers, timeout=10).json()
    assert fixed["state"]["code"] == "submitted"
    assert fixed["form"]["child_name"] == CORRECT
    assert fixed["documents"]["kk"] != application["documents"]["kk"]
    assert [c["name"] for c in fixed["history"][-1]["changes"]] == ["child_name", "kk"]

    # -- the officer sees the corrected answer and what changed ---------------------------------
    desk.reload()
    answers = desk.locator(".answers")
    expect(answers.locator("div").filter(has_text="Nama anak")).to_contain_text(CORRECT)
    history = desk.get_by_role("region", name="Riwayat").get_by_role("listitem")
    expect(history.first).to_contain_text("Ajukan ulang")
    expect(history.first).to_contain_text(re.compile(rf"Nama anak: {MISSPELT}\W+menjadi {CORRECT}"))
    expect(history.first).to_contain_text("Kartu Keluarga orang tua: dokumen diganti")
    screenshot(desk, "revision-4-officer-sees-the-change")
