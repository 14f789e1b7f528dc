"""The officer workspace (/petugas/) in a real browser on the real deployables: an officer of
Disdukcapil signs in, finds a citizen's birth-certificate application in the inbox, reads the
form with its labels and previews the documents, is stopped without a note where one is needed,
loses a race against a second tab, and takes the application through to completion."""

from __future__ import annotations

import io
import re
import time
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
    staff_member,
    upload_document,
)

pytestmark = pytest.mark.e2e

SERVICE = "akta-kelahiran"  # Disdukcapil's birth certificate: the review workflow
AGENCY = "DISDUKCAPIL"
FORM = {
    "child_name": "Nur Aisyah",
    "birth_date": "2026-11-20",
    "birth_place": "Sinjai",
    "sex": "p",
    "mother_nik": "7307015506900001",
}


def upload_image(platform: Platform, citizen: dict[str, Any], requirement: str) -> str:
    """Upload a small PNG (a photographed family card) as the citizen's phone would; its id."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 300), "white")
    ImageDraw.Draw(image).rectangle([10, 10, 470, 290], outline="navy", width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    response = httpx.post(
        f"{platform.gateway}/api/v1/documents",
        files={"file": (f"{requirement}.png", out.getvalue(), "image/png")},
        data={"service": SERVICE, "requirement": requirement},
        headers=citizen["headers"],
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def apply(platform: Platform, citizen: dict[str, Any]) -> dict[str, Any]:
    """Submit a birth-certificate application with a PDF and a photo, as in test_journey."""
    documents = {
        "surat_keterangan_lahir": [upload_document(platform, citizen, "surat_keterangan_lahir")],
        "kk": [upload_image(platform, citizen, "kk")],
    }
    deadline = time.monotonic() + 120  # generous: the events may queue on a busy machine
    while True:
        response = httpx.post(
            f"{platform.gateway}/api/v1/applications",
            json={"service": SERVICE, "form": FORM, "documents": documents},
            headers=citizen["headers"] | {"Idempotency-Key": f"web-officer-{citizen['id']}"},
            timeout=10,
        )
        # The catalog's and documents' events may still be on their way to the read models.
        if response.status_code not in (404, 422) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 201, response.text
    return dict(response.json())


def officer_of(platform: Platform, agency: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A new officer of `agency`: username, Authorization header and profile."""
    headers = staff_member(platform, "officer", agency)
    me = httpx.get(f"{platform.gateway}/api/v1/auth/me", headers=headers, timeout=10).json()
    return str(me["username"]), headers, dict(me)


def wait_until_readable(platform: Platform, headers: dict[str, str], document_id: str) -> None:
    """The documents service learns from the submission event that the agency may read it."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(
            f"{platform.gateway}/api/v1/documents/{document_id}", headers=headers, timeout=10
        )
        if response.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert response.status_code == 200, response.text


def sign_in_at_desk(page: Any, username: str) -> None:
    page.goto("/petugas/")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.timeout(300)
def test_an_officer_works_an_application_from_inbox_to_completion(
    platform: Platform, desk: Any
) -> None:
    citizen = register_citizen(platform, "Rahmawati Petugas")
    username, headers, me = officer_of(platform, AGENCY)
    api = f"{platform.gateway}/api/v1/applications"

    # -- the inbox: open before the application arrives, it shows it by itself ---------------
    desk.clock.install()
    sign_in_at_desk(desk, username)
    expect(desk.get_by_role("heading", level=1, name="Kotak masuk")).to_be_visible()
    expect(desk.get_by_text("Diperbarui")).to_be_visible()
    application = apply(platform, citizen)
    tracking = application["tracking_number"]
    for ids in application["documents"].values():  # the agency may read them once told
        wait_until_readable(platform, headers, ids[0])
    desk.clock.fast_forward("01:01")  # the quiet refresh every minute
    expect(desk.get_by_role("link", name=tracking)).to_be_visible()

    banner = desk.get_by_role("banner")
    expect(banner).to_contain_text("Dinas Kependudukan dan Pencatatan Sipil Kabupaten Sinjai")
    expect(banner).to_contain_text(me["name"])
    row = desk.get_by_role("row").filter(has=desk.get_by_role("link", name=tracking))
    expect(row).to_contain_text("Akta Kelahiran")
    expect(row).to_contain_text("Diajukan")
    expect(row).to_contain_text("dalam ")  # due in some hours or days, with the date
    # Submitted minutes ago, with its day to be checked in: not yet near its deadline.
    expect(row).not_to_contain_text("Mendekati tenggat")
    expect(desk.get_by_text("sisa waktunya kurang dari satu hari kerja")).to_be_visible()
    inbox = httpx.get(f"{api}/inbox", headers=headers, timeout=10).json()
    assert inbox["open"] >= 1 and inbox["by_state"]["submitted"] >= 1
    counts = desk.get_by_role("list", name="Ringkasan")
    expect(counts).to_contain_text(f"{inbox['open']} Terbuka")
    expect(counts).to_contain_text(f"{inbox['nearing_due']} Mendekati tenggat")
    expect(counts).to_contain_text(f"{inbox['overdue']} Terlambat")
    screenshot(desk, "officer-1-inbox")

    filters = desk.get_by_role("navigation", name="Saring menurut status")
    filters.get_by_role("link", name=f"Diajukan {inbox['by_state']['submitted']}").click()
    expect(desk).to_have_url(f"{platform.gateway}/petugas/?state=submitted")
    expect(desk.get_by_role("link", name=tracking)).to_be_visible()
    desk.get_by_role("button", name="Muat ulang").click()
    expect(desk.get_by_role("status").filter(has_text="Daftar diperbarui.")).to_be_attached()
    # Who applied, beside the service: the name arrives from the identity service's events.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = httpx.get(f"{api}/inbox", headers=headers, timeout=10).json()["items"]
        if any(i["id"] == application["id"] and i["applicant_name"] for i in items):
            break
        time.sleep(0.5)
    desk.get_by_role("button", name="Muat ulang").click()
    expect(row).to_contain_text("Rahmawati Petugas")
    expect(row).to_contain_text("Akta Kelahiran")
    assert label_in_name_mismatches(desk) == []

    # -- the detail: focus, labels of the answers, the citizen, the documents ------------------
    identity_reads: list[str] = []
    desk.on(
        "request",
        lambda request: (
            identity_reads.append(request.url) if "/api/v1/auth/citizens/" in request.url else None
        ),
    )
    desk.get_by_role("link", name=tracking).click()
    heading = desk.get_by_role("heading", level=1, name=tracking)
    expect(heading).to_be_focused()
    answers = desk.locator(".answers")
    expect(answers.locator("div").filter(has_text="Nama anak")).to_contain_text("Nur Aisyah")
    expect(answers.locator("div").filter(has_text="Jenis kelamin")).to_contain_text("Perempuan")
    expect(answers.locator("div").filter(has_text="Tanggal lahir")).to_contain_text("20 Nov 2026")
    applicant = desk.get_by_role("region", name="Pemohon")
    expect(applicant).not_to_contain_text(citizen["nik"])
    assert identity_reads == [], "the page asks for the applicant's identity only on request"
    # A birth certificate is civil registry work: the agency sees the whole NIK.
    applicant.get_by_role("button", name="Lihat data pemohon").click()
    expect(applicant).to_contain_text("Rahmawati Petugas")
    expect(applicant).to_contain_text(citizen["nik"])
    assert len(identity_reads) == 1, identity_reads

    documents = desk.get_by_role("region", name="Dokumen persyaratan")
    expect(documents).to_contain_text("Kartu Keluarga orang tua")
    documents.get_by_role("button", name="Pratinjau kk.png").click()
    image = documents.get_by_role("img", name="Pratinjau kk.png")
    expect(image).to_be_visible()
    desk.wait_for_function(
        "img => img.complete && img.naturalWidth === 480", arg=image.element_handle()
    )
    documents.get_by_role("button", name="Pratinjau surat_keterangan_lahir.pdf").click()
    frame = documents.locator("iframe[title='Pratinjau surat_keterangan_lahir.pdf']")
    expect(frame).to_be_visible()
    pdf = httpx.get(str(frame.get_attribute("src")), timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    expect(documents.get_by_role("link", name="Buka di tab baru (kk.png)")).to_have_attribute(
        "href", str(image.get_attribute("src"))
    )
    screenshot(desk, "officer-2-detail")

    # -- an action that needs a note is refused without one ------------------------------------
    actions = desk.get_by_role("region", name="Tindakan")
    actions.get_by_role("button", name="Tolak").click()
    note = actions.get_by_label("Catatan untuk warga")
    expect(note).to_be_focused()
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(actions).to_contain_text('Tulis catatan untuk "Tolak"')
    read = httpx.get(f"{api}/{application['id']}", headers=headers, timeout=10).json()
    assert read["state"]["code"] == "submitted", "nothing was sent"

    # -- two tabs: the second one acts on what it showed and loses the race --------------------
    other = desk.context.new_page()
    other_errors = watch_errors(other)
    other.goto(f"/petugas/permohonan/{application['id']}")
    expect(other.get_by_role("button", name="Mulai periksa")).to_be_visible()

    actions.get_by_role("button", name="Mulai periksa").click()
    announced = desk.get_by_role("status").filter(has_text="Status sekarang")
    expect(announced).to_contain_text("Status sekarang: Diperiksa petugas.")
    expect(desk.locator(".detail-head")).to_contain_text("Diperiksa petugas")
    screenshot(desk, "officer-3-in-review")

    other.get_by_role("button", name="Mulai periksa").click()
    expect(other.get_by_role("alert")).to_contain_text(
        "'Mulai periksa' tidak dapat dilakukan saat permohonan berstatus 'Diperiksa petugas'."
    )
    expect(other.locator(".detail-head")).to_contain_text("Diperiksa petugas")
    expect(other.get_by_role("button", name="Setujui")).to_be_visible()
    screenshot(other, "officer-4-conflict")
    other.close()
    assert not other_errors, other_errors

    # -- approve with a note, then complete ----------------------------------------------------
    actions.get_by_label("Catatan untuk warga").fill("Berkas lengkap dan sesuai.")
    actions.get_by_role("button", name="Setujui").click()
    expect(announced).to_contain_text("Status sekarang: Disetujui.")
    # "Selesaikan" takes the place "Setujui" had, and it issues the document: it asks first.
    complete = actions.get_by_role("button", name="Selesaikan", exact=True)
    complete.click()
    confirm = desk.get_by_role("dialog", name=f'"Selesaikan" untuk {tracking}?')
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Dokumen hasil layanan diterbitkan")
    expect(confirm).to_contain_text("tidak dapat dibatalkan")
    expect(confirm.get_by_role("button", name="Kembali")).to_be_focused()
    screenshot(desk, "officer-5a-confirm-complete")
    desk.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    complete.click()
    confirm.get_by_role("button", name="Kembali").click()
    expect(confirm).to_be_hidden()
    still = httpx.get(f"{api}/{application['id']}", headers=headers, timeout=10).json()
    assert still["state"]["code"] == "approved", "going back completed nothing"
    complete.click()
    confirm.get_by_role("button", name="Ya, selesaikan").click()
    expect(announced).to_contain_text("Status sekarang: Selesai.")
    expect(actions).to_contain_text("Permohonan ini sudah selesai diproses.")
    history = desk.get_by_role("region", name="Riwayat").get_by_role("listitem")
    expect(history).to_have_count(4)
    expect(history.nth(0)).to_contain_text("Selesaikan")
    expect(history.nth(0)).to_contain_text(re.compile(r"Disetujui\W+menjadi Selesai"))
    expect(history.nth(1)).to_contain_text("Berkas lengkap dan sesuai.")
    expect(history.nth(2)).to_contain_text("Mulai periksa")
    expect(history.nth(3)).to_contain_text("Pengajuan")
    screenshot(desk, "officer-5-completed")

    done = httpx.get(f"{api}/{application['id']}", headers=headers, timeout=10).json()
    assert done["state"]["code"] == "completed"
    assert [line["action"] for line in done["history"]] == [
        "submit",
        "start_review",
        "approve",
        "complete",
    ]
    assert done["history"][2]["note"] == "Berkas lengkap dan sesuai."

    # -- in English ----------------------------------------------------------------------------
    desk.get_by_role("button", name="Switch to English").click()
    expect(desk.locator("html")).to_have_attribute("lang", "en")
    expect(desk.get_by_role("heading", name="Form answers")).to_be_visible()
    expect(answers.locator("div").filter(has_text="Child's name")).to_contain_text("Nur Aisyah")
    expect(answers.locator("div").filter(has_text="Sex")).to_contain_text("Female")
    expect(desk.locator(".detail-head")).to_contain_text("Completed")
    assert label_in_name_mismatches(desk) == []
    history = desk.get_by_role("region", name="History").get_by_role("listitem")
    expect(history.nth(0)).to_contain_text(re.compile(r"Approved\W+to Completed"))
    screenshot(desk, "officer-6-detail-en")

    # -- back in the inbox, the completed application is gone ----------------------------------
    desk.get_by_role("navigation", name="Workspace menu").get_by_role("link", name="Inbox").click()
    expect(desk.get_by_role("heading", level=1, name="Inbox")).to_be_focused()
    expect(desk.get_by_role("link", name=tracking)).to_have_count(0)
    after = httpx.get(f"{api}/inbox", headers=headers, timeout=10).json()
    expect(desk.get_by_role("list", name="Summary")).to_contain_text(f"{after['open']} Open")


def test_other_roles_are_told_the_workspace_is_for_officers(platform: Platform, desk: Any) -> None:
    viewer = staff_member(platform, "ops_viewer")
    username = httpx.get(f"{platform.gateway}/api/v1/auth/me", headers=viewer, timeout=10).json()[
        "username"
    ]
    sign_in_at_desk(desk, username)
    expect(desk.get_by_role("alert")).to_contain_text("Ruang kerja ini untuk petugas instansi.")
    screenshot(desk, "officer-0-not-for-this-role")
    desk.get_by_role("button", name="Keluar").click()
    expect(desk.get_by_label("Nama pengguna")).to_be_visible()
