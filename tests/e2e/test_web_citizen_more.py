"""The citizen app's other pages on a cheap phone, against the real gateway and services:
checking an issued document (typed, scanned, a file, the PIN download), booking a counter visit
and cancelling it, a complaint answered by the agency, and the satisfaction survey."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import httpx
import pytest
import segno
from playwright.sync_api import expect

from mpp_shared.testing import eventually, mailbox, sms_address

from .conftest import PASSWORD, Platform, register_citizen, run_async, screenshot, staff_member
from .test_journey import SERVICE, apply

pytestmark = pytest.mark.e2e


def wait_for(call: Any, done: Any, timeout: float = 60) -> Any:
    """Call until `done(result)`: the services' read models catch up through Kafka."""
    deadline = time.monotonic() + timeout
    while True:
        result = call()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


@pytest.fixture(scope="module")
def completed(platform: Platform) -> dict[str, Any]:
    """A citizen's birth-certificate application, approved and completed, its document issued."""
    citizen = register_citizen(platform, "Rahmawati Said")
    officer = staff_member(platform, "officer", "DISDUKCAPIL")
    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    application = submitted.json()
    path = f"{platform.gateway}/api/v1/applications/{application['id']}/actions"
    for action in ("start_review", "approve", "complete"):
        acted = httpx.post(f"{path}/{action}", headers=officer, timeout=10)
        assert acted.status_code == 200, (action, acted.text)
    output = wait_for(
        lambda: httpx.get(
            f"{platform.gateway}/api/v1/documents/outputs",
            params={"application_id": application["id"]},
            headers=citizen["headers"],
            timeout=10,
        ),
        lambda r: r.status_code == 200,
        timeout=120,
    )
    assert output.status_code == 200, output.text
    return {
        "citizen": citizen,
        "application": application,
        "code": output.json()["verification_code"],
    }


def sign_in_here(page: Any, citizen: dict[str, Any]) -> None:
    """A private page shows the sign-in first, then itself."""
    page.get_by_label("NIK atau nomor ponsel").fill(citizen["phone"])
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()


@pytest.mark.timeout(420)  # the first test also waits for the issued document and the PIN
def test_verify_a_document_typed_scanned_by_file_and_with_the_pin(
    phone: Any, platform: Platform, completed: dict[str, Any]
) -> None:
    code, application = completed["code"], completed["application"]
    phone.goto(f"/verify/{code}")
    verdict = phone.get_by_role("status").filter(has_text="SAH")
    expect(verdict).to_contain_text("dokumen asli")
    expect(phone.get_by_text(application["tracking_number"])).to_be_visible()
    expect(phone.get_by_text("R******** S***")).to_be_visible()
    expect(phone.get_by_text("Akta Kelahiran").first).to_be_visible()
    screenshot(phone, "citizen-verify-valid")

    # The holder opens the document with the PIN the SMS brought.
    async def pin_sms() -> list[str]:
        phone_number = "+62" + completed["citizen"]["phone"][1:]
        texts = [str(m["Text"]) for m in await mailbox(sms_address(phone_number))]
        return [text for text in texts if code in text and "PIN" in text]

    [pin_text] = run_async(eventually(pin_sms, timeout=60))
    pin = re.search(rf"{re.escape(application['tracking_number'])}: (\d{{6}})\b", pin_text)
    assert pin is not None, pin_text
    phone.get_by_label("PIN").fill("000000" if pin.group(1) != "000000" else "111111")
    phone.get_by_role("button", name="Buka dokumen").click()
    expect(phone.get_by_role("alert")).to_contain_text("PIN salah")
    expect(phone.get_by_role("link", name="Unduh dokumen")).to_have_count(0)
    phone.get_by_label("PIN").fill(pin.group(1))
    phone.get_by_role("button", name="Buka dokumen").click()
    link = phone.get_by_role("link", name="Unduh dokumen")
    expect(link).to_be_visible()
    original = httpx.get(str(link.get_attribute("href")), timeout=30)
    assert original.status_code == 200 and original.content.startswith(b"%PDF")

    # The file someone hands over: the original, then a copy changed by one byte.
    check = phone.get_by_label("Berkas PDF")
    check.set_input_files(
        files=[{"name": "akta.pdf", "mimeType": "application/pdf", "buffer": original.content}]
    )
    expect(phone.get_by_role("status").filter(has_text="Berkas asli")).to_be_visible()
    changed = original.content + b"\n"
    check.set_input_files(
        files=[{"name": "akta-ubah.pdf", "mimeType": "application/pdf", "buffer": changed}]
    )
    expect(phone.get_by_role("status").filter(has_text="Bukan berkas asli")).to_contain_text(
        "BUKAN dokumen yang diterbitkan"
    )
    screenshot(phone, "citizen-verify-file-check")

    phone.goto("/verify/NOPE123")
    expect(phone.get_by_role("status").filter(has_text="TIDAK DITEMUKAN")).to_contain_text(
        "NOPE123"
    )
    screenshot(phone, "citizen-verify-unknown")

    # The QR code printed on the document, photographed, is read on the phone.
    phone.goto("/cek-dokumen")
    photo = io.BytesIO()
    segno.make_qr(f"{platform.gateway}/verify/{code}").save(photo, kind="png", scale=10, border=4)
    phone.get_by_label("Foto kode QR").set_input_files(
        files=[{"name": "qr.png", "mimeType": "image/png", "buffer": photo.getvalue()}]
    )
    expect(phone).to_have_url(re.compile(rf"/verify/{re.escape(code)}$"))
    expect(phone.get_by_role("status").filter(has_text="SAH")).to_be_visible()

    # And typed by hand, in lower case without dashes.
    phone.goto("/cek-dokumen")
    phone.get_by_label("Kode verifikasi").fill(code.replace("-", "").lower())
    phone.get_by_role("button", name="Periksa", exact=True).click()
    expect(phone.get_by_text(application["tracking_number"])).to_be_visible()
    screenshot(phone, "citizen-verify-form")


def test_book_a_counter_visit_see_the_ticket_and_cancel_it(phone: Any, platform: Platform) -> None:
    services = httpx.get(
        f"{platform.gateway}/api/v1/catalog/services", params={"channel": "booking"}, timeout=10
    ).json()["items"]
    assert services, "the seeded catalog offers counter bookings"
    slug = services[0]["slug"]
    slots = wait_for(
        lambda: httpx.get(
            f"{platform.gateway}/api/v1/bookings/slots", params={"service": slug}, timeout=10
        ),
        lambda r: r.status_code == 200 and any(d["seats_left"] for d in r.json()["days"]),
    )
    assert slots.status_code == 200, slots.text
    citizen = register_citizen(platform, "Andi Tenri")

    phone.goto(f"/layanan/{slug}/antrean")
    sign_in_here(phone, citizen)
    expect(phone.get_by_role("heading", name="Pilih hari")).to_be_visible()
    phone.locator(".pick-grid").first.locator("button:enabled").first.click()
    expect(phone.get_by_role("heading", name=re.compile("Pilih jam"))).to_be_focused()
    times = phone.locator(".pick-grid").nth(1).locator("button:enabled")
    times.first.click()
    phone.get_by_role("button", name="Pesan antrean ini").click()
    expect(phone).to_have_url(re.compile(r"/antrean/[^/]+$"))

    mine = httpx.get(
        f"{platform.gateway}/api/v1/bookings", headers=citizen["headers"], timeout=10
    ).json()["items"]
    [booking] = mine
    assert booking["state"] == "booked" and booking["service_slug"] == slug
    assert phone.url.endswith(f"/antrean/{booking['id']}")
    expect(phone.get_by_text(booking["ticket_code"], exact=True)).to_be_visible()
    qr = phone.get_by_role("img", name=re.compile(booking["ticket_code"]))
    expect(qr).to_be_visible()
    phone.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    screenshot(phone, "citizen-booking-ticket")

    phone.get_by_role("button", name="Batalkan antrean").click()
    phone.get_by_role("button", name="Ya, batalkan").click()
    expect(phone.get_by_role("status").filter(has_text="Antrean dibatalkan")).to_be_visible()
    expect(qr).to_have_count(0)
    cancelled = httpx.get(
        f"{platform.gateway}/api/v1/bookings/{booking['id']}", headers=citizen["headers"]
    ).json()
    assert cancelled["state"] == "cancelled"

    phone.goto("/antrean")
    cancelled_item = phone.get_by_role("link").filter(has_text=booking["ticket_code"])
    expect(cancelled_item).to_contain_text("Dibatalkan")
    screenshot(phone, "citizen-booking-list")


def test_file_a_complaint_read_the_answer_reply_and_close(phone: Any, platform: Platform) -> None:
    citizen = register_citizen(platform, "Baso Lallo")
    phone.goto("/pengaduan/baru")
    sign_in_here(phone, citizen)
    phone.get_by_label("Instansi yang diadukan (tidak wajib)").select_option("DISDUKCAPIL")
    phone.get_by_label("Judul").fill("Antrean KTP terlalu lama")
    phone.get_by_label("Uraian").fill(
        "Saya menunggu tiga jam di loket Disdukcapil tanpa kejelasan."
    )
    screenshot(phone, "citizen-complaint-new")
    phone.get_by_role("button", name="Kirim pengaduan").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Antrean KTP terlalu lama")
    expect(phone).to_have_url(re.compile(r"/pengaduan/(?!baru$)[^/]+$"))

    listed = httpx.get(
        f"{platform.gateway}/api/v1/complaints", headers=citizen["headers"], timeout=10
    ).json()["items"]
    [complaint] = listed
    assert complaint["agency"] == "DISDUKCAPIL" and complaint["state"]["code"] == "received"
    expect(phone.get_by_text(complaint["tracking_id"])).to_be_visible()
    expect(phone.get_by_text("Diterima, sedang diverifikasi").first).to_be_visible()
    expect(
        phone.get_by_text("Diverifikasi dan diteruskan ke instansi paling lambat")
    ).to_be_visible()

    phone.get_by_role("link", name="Pengaduan saya").click()
    item = phone.get_by_role("link").filter(has_text="Antrean KTP terlalu lama")
    expect(item).to_contain_text(complaint["tracking_id"])
    screenshot(phone, "citizen-complaint-list")

    # The mall forwards it, the agency answers; the citizen reads the answer and replies.
    path = f"{platform.gateway}/api/v1/complaints/{complaint['id']}"
    forwarded = httpx.post(f"{path}/forward", json={}, headers=staff_member(platform, "mpp_admin"))
    assert forwarded.status_code == 200, forwarded.text
    answer = "Mohon maaf, loket kedua dibuka mulai Senin depan."
    officer = staff_member(platform, "officer", "DISDUKCAPIL")
    responded = httpx.post(f"{path}/respond", json={"message": answer}, headers=officer)
    assert responded.status_code == 200, responded.text

    item.click()
    expect(phone.get_by_text(answer)).to_be_visible()
    expect(phone.get_by_text("Ditutup otomatis jika tidak dibalas pada")).to_be_visible()
    phone.get_by_label("Balasan Anda").fill("Terima kasih, saya akan datang Senin.")
    phone.get_by_role("button", name="Kirim balasan").click()
    expect(phone.get_by_role("status").filter(has_text="Balasan terkirim")).to_be_visible()
    expect(phone.get_by_text("Instansi wajib menanggapi paling lambat")).to_be_visible()
    screenshot(phone, "citizen-complaint-answered")

    phone.get_by_role("button", name="Tutup pengaduan").click()
    phone.get_by_role("button", name="Ya, tutup").click()
    expect(phone.get_by_role("status").filter(has_text="Pengaduan ditutup")).to_be_visible()
    closed = httpx.get(path, headers=citizen["headers"]).json()
    assert closed["state"]["code"] == "closed"
    assert [line["action"]["code"] for line in closed["timeline"]] == [
        "file",
        "forward",
        "respond",
        "reply",
        "close",
    ]


@pytest.mark.timeout(420)
def test_answer_the_satisfaction_survey(
    phone: Any, platform: Platform, completed: dict[str, Any]
) -> None:
    def respondents() -> int:
        ikm = httpx.get(f"{platform.gateway}/api/v1/surveys/ikm", params={"service": SERVICE})
        return int(ikm.json()["respondents"])

    before = respondents()
    application = completed["application"]
    phone.goto(f"/permohonan/{application['id']}/survei")
    sign_in_here(phone, completed["citizen"])
    expect(phone.get_by_role("heading", name="Survei kepuasan")).to_be_visible()
    phone.get_by_role("button", name="Kirim survei").click()
    expect(phone.get_by_role("alert")).to_contain_text("Jawab semua pertanyaan")

    elements = phone.locator("fieldset.survey-element")
    expect(elements).to_have_count(9)
    chosen = {f"u{n}": 4 if n % 3 else 3 for n in range(1, 10)}
    for n in range(1, 10):
        elements.nth(n - 1).get_by_role("radio").nth(chosen[f"u{n}"] - 1).check()
    expect(phone.get_by_text("9 dari 9 pertanyaan terjawab")).to_be_visible()
    expect(phone.get_by_role("alert")).to_have_count(0)
    phone.get_by_label("Saran atau komentar (tidak wajib)").fill("Petugas ramah dan cepat.")
    screenshot(phone, "citizen-survey-form")
    phone.get_by_role("button", name="Kirim survei").click()
    expect(phone.get_by_role("status").filter(has_text="Terima kasih")).to_be_visible()
    screenshot(phone, "citizen-survey-thanks")

    stored = httpx.get(
        f"{platform.gateway}/api/v1/applications/{application['id']}/survey",
        headers=completed["citizen"]["headers"],
    ).json()
    assert stored["scores"] == chosen and stored["comment"] == "Petugas ramah dan cepat."
    assert respondents() == before + 1

    phone.reload()  # answered once: the answers and the thanks, no form
    expect(phone.get_by_role("status").filter(has_text="Terima kasih")).to_be_visible()
    expect(phone.get_by_role("button", name="Kirim survei")).to_have_count(0)
    expect(phone.get_by_text("Petugas ramah dan cepat.")).to_be_visible()


@pytest.mark.timeout(420)
def test_the_sms_link_opens_the_tracking_page_and_a_wrong_code_finds_nothing(
    phone: Any, platform: Platform, completed: dict[str, Any]
) -> None:
    application = completed["application"]
    number, code = application["tracking_number"], application["check_code"]

    async def received_sms() -> list[str]:
        phone_number = "+62" + completed["citizen"]["phone"][1:]
        texts = [str(m["Text"]) for m in await mailbox(sms_address(phone_number))]
        return [text for text in texts if number in text and "diterima" in text]

    [sms] = run_async(eventually(received_sms, timeout=60))
    link = re.search(r"https?://\S+", sms)
    assert link is not None, sms
    path = "/" + link.group(0).split("/", 3)[3]  # the platform's gateway, not the SMS's host
    assert path == f"/track/{number}-{code}"

    phone.goto(path)  # opened on a phone nobody signed in on
    expect(phone.get_by_role("heading", name="Lacak permohonan")).to_be_visible()
    expect(phone.get_by_text(number)).to_be_visible()
    expect(phone.get_by_text("Akta Kelahiran").first).to_be_visible()
    expect(phone.locator("ol.timeline li")).to_have_count(4)  # submitted to completed
    screenshot(phone, "citizen-track")

    phone.goto(f"/track/{number}-{'222222' if code != '222222' else '333333'}")
    expect(phone.get_by_role("alert")).to_contain_text("TIDAK DITEMUKAN")
    expect(phone.get_by_label("Nomor pelacakan")).to_have_value(number)
    phone.get_by_label("Kode lacak").fill(code.lower())
    phone.get_by_role("button", name="Lacak", exact=True).click()
    expect(phone.get_by_text(number)).to_be_visible()
    expect(phone.get_by_role("alert")).to_have_count(0)
