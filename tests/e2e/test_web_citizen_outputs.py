"""The issued document in the citizen app on a 360 px phone: the application's page links to
it once issued and the signed-in holder downloads it without a PIN; the verification page shows
the document's title, the holder's masked name and the issue date."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from mpp_shared.testing import eventually

from .conftest import (
    Platform,
    label_in_name_mismatches,
    register_citizen,
    run_async,
    screenshot,
    staff_member,
)
from .test_journey import FORM, apply
from .test_web_citizen import sign_in

pytestmark = pytest.mark.e2e

ANSWERS = FORM | {
    "child_name": "Siti Nurḥalizah",
    "father_name": "Đặng Văn Hùng",
    "mother_name": "Andi Ṭayyibah",
    "child_order": 2,
}


def issued_application(platform: Platform, citizen: dict[str, Any]) -> dict[str, Any]:
    """A birth-certificate application approved by an officer, once its output is issued."""
    created = apply(platform, citizen, form=ANSWERS)
    assert created.status_code == 201, created.text
    path = f"{platform.gateway}/api/v1/applications/{created.json()['id']}"
    officer = staff_member(platform, "officer", "DISDUKCAPIL")
    for action in ("start_review", "approve"):
        done = httpx.post(f"{path}/actions/{action}", headers=officer, timeout=10)
        assert done.status_code == 200, done.text

    def linked() -> dict[str, Any] | None:
        read = httpx.get(path, headers=citizen["headers"], timeout=10)
        return read.json() if read.json().get("output") else None

    application: dict[str, Any] = run_async(eventually(linked, timeout=60))
    return application


def test_the_holder_downloads_the_issued_document_and_anyone_sees_what_it_is(
    phone: Any, platform: Platform
) -> None:
    citizen = register_citizen(platform, "Rahmawati Daeng")
    application = issued_application(platform, citizen)
    output = application["output"]
    sign_in(phone, citizen["phone"])

    phone.goto(f"/permohonan/{application['id']}")
    card = phone.locator(".card", has=phone.get_by_role("heading", name="Dokumen hasil layanan"))
    expect(card).to_be_visible()
    expect(card).to_contain_text(output["verification_code"])
    download = card.get_by_role("button", name="Unduh dokumen (PDF)")
    expect(download).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360, "fits a 360 px phone"
    assert label_in_name_mismatches(phone) == []
    screenshot(phone, "citizen-outputs-1-application")

    # Signed in, no PIN: the button opens the PDF from storage.
    with phone.expect_request(lambda request: ".pdf" in request.url) as opened:
        download.click()
    pdf = httpx.get(opened.value.url, timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    facts = ["Kutipan Akta Kelahiran", "Nama anak", "Siti Nurḥalizah", "Nama ayah"]
    facts += ["Đặng Văn Hùng", "Nama ibu", "Andi Ṭayyibah", "Pelapor", "Rahmawati Daeng"]
    places: list[int] = []
    for fact in facts:
        places.append(text.find(fact, places[-1] + 1 if places else 0))
    assert -1 not in places, list(zip(facts, places, strict=True))

    phone.goto(f"/permohonan/{application['id']}")
    phone.get_by_role("link", name="Cek keaslian").click()
    expect(phone.get_by_text("SAH — dokumen asli")).to_be_visible()
    facts_list = phone.locator("dl.facts-stack")
    expect(facts_list).to_contain_text("Kutipan Akta Kelahiran")
    expect(facts_list).to_contain_text("R******** D****")  # the holder, masked
    expect(facts_list).not_to_contain_text("Rahmawati")
    issued_on = phone.evaluate(
        "(at) => new Intl.DateTimeFormat('id-ID', {dateStyle: 'medium',"
        " timeZone: 'Asia/Makassar'}).format(new Date(at))",
        output["issued_at"],
    )
    expect(facts_list).to_contain_text(issued_on)  # the day it was issued
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "citizen-outputs-2-verify")
