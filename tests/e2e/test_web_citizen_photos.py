"""Document photos from a cheap phone: a 'take a photo' button beside 'choose a file', photos made
small on the phone before they go up, and the photos of a document's pages kept as one PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from .conftest import Platform, label_in_name_mismatches, register_citizen, screenshot
from .test_web_citizen import SERVICE, pdf_file, sign_in
from .test_web_citizen_forms import requests_to

pytestmark = pytest.mark.e2e


def photo_file(
    folder: Path, name: str, colour: tuple[int, int, int], size: tuple[int, int]
) -> Path:
    """A phone camera's JPEG of a page: one colour fading to white, `size` pixels."""
    fade = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, colour), Image.new("RGB", size, "white"), fade)
    path = folder / f"{name}.jpg"
    image.save(path, format="JPEG", quality=95)
    return path


def test_two_photos_of_a_kk_are_sent_as_one_pdf_of_two_pages_in_the_order_shown(
    phone: Any, platform: Platform, tmp_path: Path
) -> None:
    citizen = register_citizen(platform, "Andi Baso")
    sign_in(phone, citizen["phone"])
    uploads = requests_to(phone, "/api/v1/documents")
    phone.goto(f"/layanan/{SERVICE}/ajukan")
    phone.get_by_label("Nama anak *").fill("Muh. Fadli")
    phone.get_by_label("Tanggal lahir *").fill("2026-11-02")
    phone.get_by_label("Tempat lahir *").fill("Sinjai")
    phone.get_by_label("Laki-laki").check()
    phone.get_by_label("NIK ibu *").fill("7307015506900001")
    phone.get_by_label(re.compile("^Surat keterangan lahir")).set_input_files(
        str(pdf_file(tmp_path, "surat-lahir"))
    )
    phone.get_by_text("terunggah").wait_for()

    # Two buttons a thumb can find, named by what they show and by the document.
    kk = phone.locator(".requirement", has_text="Kartu Keluarga orang tua")
    camera = phone.get_by_label("Ambil foto Kartu Keluarga orang tua *")
    expect(camera).to_have_attribute("capture", "environment")
    expect(camera).to_have_attribute("accept", "image/*")
    expect(kk.locator("label.button", has_text="Ambil foto")).to_be_visible()
    expect(kk.locator("label.button", has_text="Pilih berkas")).to_be_visible()
    assert label_in_name_mismatches(phone) == []

    # A 12-megapixel photo, then a second page, taken one after the other.
    blue = photo_file(tmp_path, "kk-depan", (20, 40, 200), (3000, 4000))
    red = photo_file(tmp_path, "kk-belakang", (200, 30, 30), (1200, 1600))
    camera.set_input_files(str(blue))
    expect(kk.get_by_text("Halaman 1")).to_be_visible()
    camera.set_input_files(str(red))
    expect(kk.get_by_text("Halaman 2")).to_be_visible()
    expect(kk.get_by_text("kk.pdf · 2 halaman")).to_be_visible()
    expect(kk.get_by_text("dikirim bersama permohonan")).to_be_visible()
    thumbnails = kk.locator(".pages img")
    expect(thumbnails).to_have_count(2)
    assert thumbnails.evaluate_all("all => all.every(i => i.complete && i.naturalWidth > 0)"), (
        "the pages are shown (the page's Content-Security-Policy lets them in)"
    )
    screenshot(phone, "citizen-photos-1-two-pages")
    # The back was taken first by mistake: moved up, it is page 1.
    kk.get_by_role("button", name="Naikkan halaman 2").click()
    phone.get_by_text("Draf tersimpan di ponsel ini.").wait_for()
    assert not any("/documents/pages" in url for url in uploads), "pages go with the application"

    phone.get_by_role("button", name="Kirim permohonan").click()
    phone.get_by_text("Permohonan terkirim.").wait_for(timeout=60_000)
    expect(kk.get_by_text("kk.pdf · 2 halaman")).to_be_visible()
    screenshot(phone, "citizen-photos-2-sent")
    assert sum("/documents/pages" in url for url in uploads) == 1

    mine = httpx.get(
        f"{platform.gateway}/api/v1/applications", headers=citizen["headers"], timeout=10
    ).json()
    detail = httpx.get(
        f"{platform.gateway}/api/v1/applications/{mine['items'][0]['id']}",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    [document_id] = detail["documents"]["kk"]
    document = httpx.get(
        f"{platform.gateway}/api/v1/documents/{document_id}",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    assert (document["content_type"], document["status"]) == ("application/pdf", "available")
    link = httpx.get(
        f"{platform.gateway}/api/v1/documents/{document_id}/content?redirect=false",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    reader = PdfReader(io.BytesIO(httpx.get(link["url"], timeout=30).content))
    assert len(reader.pages) == 2
    images = [page.images[0].image for page in reader.pages]
    assert all(image is not None for image in images)
    first, second = (image.convert("RGB") for image in images if image is not None)
    # Made small on the phone: the 3000 x 4000 photo went up as 1500 x 2000.
    assert (first.size, second.size) == ((1200, 1600), (1500, 2000))
    red_seen, blue_seen = first.getpixel((600, 1590)), second.getpixel((750, 1990))
    assert isinstance(red_seen, tuple) and isinstance(blue_seen, tuple)
    assert red_seen[0] > 150 > red_seen[2], "page 1 is the red photo, moved up"
    assert blue_seen[2] > 150 > blue_seen[0], "page 2 is the blue one"


def test_photos_taken_offline_stay_on_the_phone_and_go_once_as_one_pdf_when_back_online(
    phone: Any, platform: Platform, tmp_path: Path
) -> None:
    citizen = register_citizen(platform, "Hasnah")
    sign_in(phone, citizen["phone"])
    phone.goto(f"/layanan/{SERVICE}/ajukan")
    phone.get_by_label("Nama anak *").fill("Andi Nurul")
    phone.get_by_label("Tanggal lahir *").fill("2026-11-02")
    phone.get_by_label("Tempat lahir *").fill("Sinjai")
    phone.get_by_label("Perempuan").check()
    phone.get_by_label("NIK ibu *").fill("7307015506900001")
    phone.get_by_label(re.compile("^Surat keterangan lahir")).set_input_files(
        str(pdf_file(tmp_path, "surat-lahir"))
    )
    phone.get_by_text("terunggah").wait_for()
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.wait_for_function("navigator.serviceWorker.controller !== null")

    # No signal in the village office: the photos are taken anyway and kept on the phone.
    phone.context.set_offline(True)
    camera = phone.get_by_label("Ambil foto Kartu Keluarga orang tua *")
    for name, colour in (("depan", (20, 40, 200)), ("belakang", (200, 30, 30))):
        camera.set_input_files(str(photo_file(tmp_path, name, colour, (900, 1200))))
    kk = phone.locator(".requirement", has_text="Kartu Keluarga orang tua")
    expect(kk.get_by_text("Halaman 2")).to_be_visible()
    phone.get_by_text("Draf tersimpan di ponsel ini.").wait_for()
    phone.reload()
    expect(kk.get_by_text("Halaman 2")).to_be_visible()
    phone.get_by_role("button", name="Kirim permohonan").click()
    phone.get_by_text("Tidak ada koneksi. Permohonan disimpan di ponsel").wait_for()

    # Back online, the pages reach the mall but the answer is lost: sent again, kept once.
    answered: list[int] = []

    def lose_answer(route: Any) -> None:
        response = route.fetch()
        answered.append(response.status)
        if len(answered) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    phone.route("**/api/v1/documents/pages", lose_answer)
    phone.context.set_offline(False)
    phone.get_by_text("Permohonan terkirim.").wait_for(timeout=90_000)
    assert answered[:2] == [201, 200], answered

    documents = httpx.get(
        f"{platform.gateway}/api/v1/documents", headers=citizen["headers"], timeout=10
    ).json()["items"]
    pdfs = [d for d in documents if d["requirement"] == "kk"]
    assert [d["content_type"] for d in pdfs] == ["application/pdf"], "one PDF, not two"
    link = httpx.get(
        f"{platform.gateway}/api/v1/documents/{pdfs[0]['id']}/content?redirect=false",
        headers=citizen["headers"],
        timeout=10,
    ).json()
    assert len(PdfReader(io.BytesIO(httpx.get(link["url"], timeout=30).content)).pages) == 2
