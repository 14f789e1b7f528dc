"""The citizen's application page on a 360 px phone shows what was sent (the answers under their
labels, a choice by its label, a date in words, each document openable), the expected date and
what happens next, in plain words."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, Platform, register_citizen, screenshot
from .test_journey import apply

pytestmark = pytest.mark.e2e


def test_the_application_page_shows_what_was_sent_and_what_happens_next(
    phone: Any, platform: Platform
) -> None:
    citizen = register_citizen(platform, "Warga Pengirim")
    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    application = submitted.json()

    phone.goto("/masuk")
    phone.get_by_label("NIK atau nomor ponsel").fill(citizen["phone"])
    phone.get_by_label("Kata sandi").fill(PASSWORD)
    phone.get_by_role("button", name="Masuk").click()
    phone.get_by_role("heading", name="Permohonan saya").wait_for()
    phone.goto(f"/permohonan/{application['id']}")

    sent = phone.locator("section", has=phone.get_by_role("heading", name="Yang Anda kirim"))
    expect(sent).to_be_visible()
    answers = sent.locator("ul.answers").first
    expect(answers.locator("li", has_text="Nama anak")).to_contain_text("Nur Aisyah")
    expect(answers.locator("li", has_text="Jenis kelamin")).to_contain_text("Perempuan")  # not "p"
    expect(answers.locator("li", has_text="Tanggal lahir")).to_contain_text("2026")
    expect(answers.locator("li", has_text="Tanggal lahir")).not_to_contain_text("2026-11-20")
    assert "mother_nik" not in sent.inner_text()  # labels, never keys

    # Both documents, each opened by a link asked for on the tap.
    views = sent.get_by_role("button", name="Lihat")
    expect(views).to_have_count(2)
    with phone.context.expect_page() as opened:
        views.first.click()
    document = opened.value
    document.wait_for_url(re.compile(r"^https?://"))  # a blank tab at once, then the link
    found = httpx.get(document.url, timeout=10)
    assert found.status_code == 200 and found.content.startswith(b"%PDF")
    document.close()

    nxt = phone.locator("section", has=phone.get_by_role("heading", name="Apa selanjutnya"))
    expect(nxt).to_contain_text("Langkah berikutnya: Mulai periksa, oleh petugas.")
    expect(nxt).to_contain_text("Target selesai")
    screenshot(phone, "citizen-application-sent")
