"""The citizen app in a real browser on a 360 px phone: its first-load weight, registration with
the SMS code, and an application that survives going offline and is recorded exactly once."""

from __future__ import annotations

import io
import re
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from mpp_shared.testing import eventually, mailbox, sms_address

from .conftest import (
    PASSWORD,
    Platform,
    label_in_name_mismatches,
    register_citizen,
    run_async,
    screenshot,
)
from .test_journey import apply

pytestmark = pytest.mark.e2e

# A first visit on a slow 3G phone: everything the page fetches, compressed, headers included.
FIRST_LOAD_BUDGET = 250_000
SERVICE = "akta-kelahiran"


def pdf_file(folder: Path, name: str) -> Path:
    """A small real PDF, as a scanned letter would be."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, f"{name}: surat untuk uji")
    page.save()
    path = folder / f"{name}.pdf"
    path.write_bytes(out.getvalue())
    return path


def sign_in(page: Any, username: str) -> None:
    page.goto("/masuk")
    page.get_by_label("NIK atau nomor ponsel").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Permohonan saya").wait_for()


def test_first_load_fits_the_slow_3g_budget(phone: Any, platform: Platform) -> None:
    """Bytes on the wire for the first visit, as Chromium counts them (encoded, with headers)."""
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    phone.goto("/", wait_until="networkidle")
    phone.locator(".service-card").first.wait_for()
    total = sum(sizes.values())
    listing = "\n".join(
        f"{sizes[r]:>8} {urls.get(r, '?')}" for r in sorted(sizes, key=sizes.get, reverse=True)
    )
    print(f"first load: {total} bytes in {len(sizes)} requests\n{listing}")
    screenshot(phone, "citizen-0-home")
    assert sizes, "the page loaded nothing?"
    assert total < FIRST_LOAD_BUDGET, f"first load {total} B over {FIRST_LOAD_BUDGET} B:\n{listing}"
    # Every file came from the gateway itself: no CDN.
    foreign = [u for u in urls.values() if not u.startswith((platform.gateway, "data:"))]
    assert not foreign, foreign


def register_in_browser(phone: Any, name: str, *, show_error: bool = False) -> str:
    """Register on the phone and verify it with the code the SMS brought; its number."""
    phone_number = f"0813{secrets.randbelow(10**8):08d}"
    nik = f"730701{secrets.randbelow(28) + 41}{secrets.randbelow(12) + 1:02d}85{secrets.randbelow(9000) + 1000}"
    phone.goto("/")
    phone.get_by_role("link", name="Akun").click()
    phone.get_by_role("link", name="Daftar dengan NIK").click()
    phone.get_by_label("NIK").fill("12345" if show_error else nik)
    phone.get_by_label("Nama lengkap").fill(name)
    phone.get_by_label("Nomor ponsel").fill(phone_number)
    phone.get_by_label("Kata sandi").fill(PASSWORD)
    phone.get_by_role("button", name="Daftar dan kirim kode").click()
    if show_error:
        alert = phone.get_by_role("alert")
        alert.wait_for()
        assert "NIK" in alert.inner_text(), alert.inner_text()
        assert phone.get_by_label("NIK").get_attribute("aria-invalid") == "true"
        screenshot(phone, "citizen-1-register-error")
        phone.get_by_label("NIK").fill(nik)
        phone.get_by_role("button", name="Daftar dan kirim kode").click()
    phone.get_by_role("heading", name="Verifikasi nomor ponsel").wait_for()

    async def sms() -> list[dict[str, Any]]:
        return await mailbox(sms_address("+62" + phone_number[1:]))

    [message] = run_async(eventually(sms, timeout=30))
    code = re.search(r"\b(\d{6})\b", str(message["Text"]))
    assert code is not None
    phone.get_by_label("Kode dari SMS").fill(code.group(1))
    phone.get_by_role("button", name="Verifikasi").click()
    phone.get_by_role("heading", name="Layanan apa yang Anda perlukan?").wait_for()
    return phone_number


def fill_birth_application(phone: Any, folder: Path) -> None:
    """The birth-certificate form and its two mandatory documents, uploaded."""
    phone.goto(f"/layanan/{SERVICE}/ajukan")
    phone.get_by_label("Nama anak *").fill("Muh. Fadli")
    phone.get_by_label("Tanggal lahir *").fill("2026-11-02")
    phone.get_by_label("Tempat lahir *").fill("Sinjai")
    phone.get_by_label("Laki-laki").check()
    phone.get_by_label("NIK ibu *").fill("7307015506900001")
    phone.get_by_label(re.compile("^Surat keterangan lahir")).set_input_files(
        str(pdf_file(folder, "surat-lahir"))
    )
    phone.get_by_label(re.compile("^Kartu Keluarga orang tua")).set_input_files(
        str(pdf_file(folder, "kk"))
    )
    phone.get_by_text("terunggah").nth(1).wait_for()
    phone.get_by_text("Draf tersimpan di ponsel ini.").wait_for()


def test_register_verify_phone_and_find_a_service(phone: Any, platform: Platform) -> None:
    register_in_browser(phone, "Andi Tenri", show_error=True)

    phone.get_by_role("searchbox").fill("bikin akte lahir anak")
    # Other tests add their own "Akta ..." services: the mall's is Disdukcapil's.
    phone.get_by_role("link", name=re.compile("^Akta Kelahiran Disdukcapil")).click()
    phone.get_by_role("heading", name="Akta Kelahiran").wait_for()
    assert phone.get_by_text("Kartu Keluarga orang tua").is_visible()
    assert phone.get_by_text("Gratis").first.is_visible()
    screenshot(phone, "citizen-2-service")

    phone.get_by_role("button", name="Switch to English").click()
    phone.get_by_role("heading", name="Birth Certificate").wait_for()
    assert phone.get_by_role("heading", name="Requirements").is_visible()
    assert phone.evaluate("document.documentElement.lang") == "en"
    screenshot(phone, "citizen-3-service-en")


def test_a_draft_survives_offline_and_is_submitted_once(
    phone: Any, platform: Platform, tmp_path: Path
) -> None:
    citizen = register_citizen(platform, "Nurhayati")
    sign_in(phone, citizen["phone"])
    fill_birth_application(phone, tmp_path)
    screenshot(phone, "citizen-4-apply-filled")

    # The service worker took over the page: with no network at all the app and draft reopen.
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.context.set_offline(True)
    phone.reload()
    assert phone.get_by_label("Nama anak *").input_value() == "Muh. Fadli"
    assert phone.get_by_label("Laki-laki").is_checked()
    phone.get_by_role("button", name="Kirim permohonan").click()
    phone.get_by_text("Tidak ada koneksi. Permohonan disimpan di ponsel").wait_for()
    screenshot(phone, "citizen-5-queued-offline")

    # Back online, the first attempt reaches the mall but its answer is lost on the way back:
    # the phone cannot know it was recorded and sends it again, with the same key.
    answered: list[int] = []

    def lose_answer(route: Any) -> None:
        response = route.fetch()
        answered.append(response.status)
        if len(answered) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    phone.route("**/api/v1/applications", lose_answer)
    phone.context.set_offline(False)
    phone.get_by_text("Permohonan terkirim.").wait_for(timeout=90_000)
    screenshot(phone, "citizen-6-sent")
    tracking = phone.locator(".success strong").nth(1).inner_text()
    assert tracking.startswith("SNJ-DISDUKCAPIL-")
    code = phone.locator(".success strong").nth(2).inner_text()
    assert answered[:2] == [201, 200], answered  # created, then the same one returned

    mine = httpx.get(
        f"{platform.gateway}/api/v1/applications", headers=citizen["headers"], timeout=10
    ).json()
    assert [a["tracking_number"] for a in mine["items"]] == [tracking]
    detail = httpx.get(
        f"{platform.gateway}/api/v1/applications/{mine['items'][0]['id']}",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    assert detail["check_code"] == code, "the receipt shows the check code"
    phone.get_by_role("link", name="Lihat permohonan").click()
    phone.get_by_text(tracking).wait_for()
    assert phone.get_by_text(code, exact=True).is_visible(), "and so does the application"
    assert phone.get_by_text("Diajukan").first.is_visible()
    screenshot(phone, "citizen-7-application")


def submitted_application(platform: Platform, citizen: dict[str, Any]) -> dict[str, Any]:
    """A birth-certificate application the citizen has just submitted, through the API."""
    response = apply(platform, citizen)
    assert response.status_code == 201, response.text
    return dict(response.json())


def state_of(platform: Platform, citizen: dict[str, Any], application: dict[str, Any]) -> str:
    read = httpx.get(
        f"{platform.gateway}/api/v1/applications/{application['id']}",
        headers=citizen["headers"],
        timeout=10,
    )
    assert read.status_code == 200, read.text
    return str(read.json()["state"]["code"])


def test_cancelling_asks_first_below_the_timeline_and_only_a_yes_cancels(
    phone: Any, platform: Platform
) -> None:
    citizen = register_citizen(platform, "Sitti Rahmah")
    application = submitted_application(platform, citizen)
    sign_in(phone, citizen["phone"])
    phone.goto(f"/permohonan/{application['id']}")
    cancel = phone.get_by_role("button", name="Batalkan permohonan")
    expect(cancel).to_be_visible()
    # Nothing to do but wait on a just-submitted application: no action card at the top, and
    # the way to cancel comes after the timeline.
    expect(phone.get_by_role("heading", name="Tindakan")).to_have_count(0)
    assert phone.locator(".timeline").evaluate(
        "(timeline, button) => Boolean(timeline.compareDocumentPosition(button)"
        " & Node.DOCUMENT_POSITION_FOLLOWING)",
        cancel.element_handle(),
    ), "the cancel button follows the timeline"
    assert cancel.bounding_box()["y"] > phone.locator(".timeline").bounding_box()["y"]

    cancel.click()
    dialog = phone.get_by_role("dialog", name="Batalkan permohonan ini?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(application["tracking_number"])
    expect(dialog).to_contain_text("tidak diproses lagi")
    expect(dialog).to_contain_text("tidak dapat diurungkan")
    keep = dialog.get_by_role("button", name="Tidak, lanjutkan permohonan")
    expect(keep).to_be_focused()  # the safe choice first: Enter keeps the application
    screenshot(phone, "citizen-8-cancel-confirm")

    phone.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(cancel).to_be_focused()
    cancel.click()
    keep.click()
    expect(dialog).to_be_hidden()
    cancel.focus()  # where a keyboard user is after Escape (checked above)
    phone.keyboard.press("Enter")  # on the cancel button again: opens the question, no more
    expect(dialog).to_be_visible()
    phone.keyboard.press("Enter")  # on "keep it"
    expect(dialog).to_be_hidden()
    assert state_of(platform, citizen, application) == "submitted", "dismissing kept it"
    expect(phone.locator(".badge").filter(has_text="Diajukan").first).to_be_visible()

    # In English the question is English; yes cancels.
    phone.get_by_role("button", name="Switch to English").click()
    phone.get_by_role("button", name="Cancel the application").click()
    dialog = phone.get_by_role("dialog", name="Cancel this application?")
    expect(dialog).to_contain_text("cannot be undone")
    screenshot(phone, "citizen-9-cancel-confirm-en")
    dialog.get_by_role("button", name="Yes, cancel it").click()
    expect(dialog).to_have_count(0)
    expect(phone.locator(".badge").filter(has_text="Cancelled").first).to_be_visible()
    expect(phone.get_by_role("button", name="Cancel the application")).to_have_count(0)
    assert state_of(platform, citizen, application) == "cancelled"
    screenshot(phone, "citizen-10-cancelled")


def test_reading_a_message_lowers_the_unread_count(phone: Any, platform: Platform) -> None:
    citizen = register_citizen(platform, "Andi Besse")
    submitted_application(platform, citizen)  # the mall tells the citizen it arrived

    def unread() -> int:
        inbox = httpx.get(
            f"{platform.gateway}/api/v1/notifications",
            headers=citizen["headers"],
            timeout=10,
        ).json()
        return int(inbox["unread"])

    deadline = time.monotonic() + 60
    while unread() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    sign_in(phone, citizen["phone"])
    phone.goto("/kotak-masuk")
    count = phone.get_by_text(re.compile(r"^\d+ belum dibaca$"))
    expect(count).to_be_visible()
    before = int(count.inner_text().split()[0])
    assert before >= 1
    phone.locator("li.unread summary").first.click()
    expect(count).to_have_text(f"{before - 1} belum dibaca")
    screenshot(phone, "citizen-11-inbox-read")
    assert unread() == before - 1, "the mall counts it read too"


def test_the_account_ticks_email_only_for_an_address(phone: Any, platform: Platform) -> None:
    without = register_citizen(platform, "Daeng Baji")
    sign_in(phone, without["phone"])
    phone.goto("/akun")
    email = phone.get_by_role("checkbox", name=re.compile("^E-mail"))
    expect(email).not_to_be_checked()
    expect(email).to_be_disabled()
    expect(phone.get_by_text("belum ada alamat e-mail di akun ini")).to_be_visible()
    expect(phone.get_by_label("SMS")).to_be_checked()
    screenshot(phone, "citizen-12-account-no-email")

    phone.get_by_role("button", name="Keluar").click()
    with_address = register_citizen(
        platform, "Daeng Ngai", email=f"ngai.{secrets.token_hex(3)}@contoh.id"
    )
    sign_in(phone, with_address["phone"])
    phone.goto("/akun")
    email = phone.get_by_role("checkbox", name=re.compile("^E-mail"))
    expect(email).to_be_checked()
    expect(email).to_be_enabled()


def test_the_language_button_is_named_by_what_it_shows(phone: Any, platform: Platform) -> None:
    """axe's label-content-name-mismatch, on the citizen pages and the staff sign-in pages, in
    both languages: the button shows EN (or ID) and its name starts with it."""
    pages = ["/", f"/layanan/{SERVICE}", "/lacak", "/cek-dokumen", "/masuk", "/petugas/", "/ops/"]
    for shown, name, chosen in (
        ("EN", "EN: Switch to English", "en"),
        ("ID", "ID: Ganti ke Bahasa Indonesia", "id"),
    ):
        for path in pages:
            phone.goto(path, wait_until="networkidle")
            button = phone.get_by_role("button", name=name, exact=True)
            expect(button).to_have_text(shown)
            assert label_in_name_mismatches(phone) == [], path
        screenshot(phone, f"citizen-13-lang-button-{shown.lower()}")
        button.click()  # the other language from here on
        expect(phone.locator("html")).to_have_attribute("lang", chosen)
