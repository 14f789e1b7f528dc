"""The command center on the wall screen: a staff member signs in, the figures arrive by
server-sent events, and an application submitted elsewhere shows up without reloading the page.
A citizen's account is refused."""

from __future__ import annotations

import re
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
    staff_account,
)
from .test_journey import apply

# The first test also pays for starting the platform, slow on a busy machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PUSHED_WITHIN_MS = 30_000


def sign_in_on_page(page: Any, username: str) -> None:
    page.goto("/ops/")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()


def tile(page: Any, label: str) -> Any:
    """The big figure of the headline tile named `label`."""
    return page.get_by_role("group", name=label).locator(".tile-value .changing")


def figure(locator: Any) -> int:
    text = locator.inner_text()
    digits = re.sub(r"\D", "", text)
    assert digits, f"no number in {text!r}"
    return int(digits)


def test_the_wall_shows_a_new_application_without_reloading(platform: Platform, wall: Any) -> None:
    citizen = register_citizen(platform, "Nurhayati")
    sign_in_on_page(wall, staff_account(platform, "ops_viewer"))

    expect(wall.get_by_role("heading", name="Pusat Komando MPP Kabupaten Sinjai")).to_be_visible()
    expect(wall.get_by_role("status").filter(has_text="Langsung")).to_be_visible(timeout=30_000)
    expect(wall.locator(".live-last time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    today, backlog = tile(wall, "Permohonan hari ini"), tile(wall, "Antrean terbuka")
    expect(today).to_have_text(re.compile(r"^\d+$"))
    before, open_before = figure(today), figure(backlog)
    # Every part of the first event arrived: deliveries per channel, and Kafka's health.
    expect(wall.get_by_role("table", name="Notifikasi hari ini per kanal")).to_be_visible()
    expect(wall.get_by_text("Kafka tersedia")).to_be_visible()
    expect(wall.get_by_role("table", name="Antrean per grup konsumen")).to_be_visible()
    wall.evaluate("window.stillTheSamePage = true")
    # The flash lasts a moment: watch for it from now, not after the figure is read.
    today.evaluate(
        """figure => {
            window.flashed = false;
            new MutationObserver(() => { window.flashed ||= figure.classList.contains("flash"); })
                .observe(figure, { attributes: true, attributeFilter: ["class"] });
        }"""
    )
    screenshot(wall, "ops-1-before")

    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text

    expect(today).to_have_text(str(before + 1), timeout=PUSHED_WITHIN_MS)
    wall.wait_for_function("window.flashed === true", timeout=5_000)  # the change lit up
    expect(backlog).to_have_text(str(open_before + 1), timeout=PUSHED_WITHIN_MS)
    assert wall.evaluate("window.stillTheSamePage") is True, "the page was not reloaded"
    disdukcapil = wall.get_by_role("row").filter(has_text="Disdukcapil Sinjai")
    expect(disdukcapil.get_by_role("cell").first).to_have_text(re.compile(r"^[1-9]\d*$"))
    screenshot(wall, "ops-2-after")

    # The agency filter narrows the table to the chosen agency.
    wall.get_by_label("Sorot instansi").select_option("DISDUKCAPIL")
    agencies = wall.get_by_role("table", name="Instansi, diurutkan dari yang paling banyak lewat")
    expect(agencies.get_by_role("row")).to_have_count(2)  # the header and Disdukcapil


def test_the_pipeline_panel_speaks_as_an_operator_does(platform: Platform, wall: Any) -> None:
    sign_in_on_page(wall, staff_account(platform, "ops_viewer"))
    pipeline = wall.get_by_role("region", name="Pemrosesan event")
    expect(pipeline.get_by_text("Kafka tersedia")).to_be_visible(timeout=30_000)
    expect(pipeline).to_contain_text("Pesan gagal (DLQ)")
    expect(pipeline.get_by_role("table", name="Pesan gagal per topik DLQ")).to_be_visible()
    expect(wall.locator("body")).not_to_contain_text("Surat mati")
    expect(wall.locator("body")).not_to_contain_text("Jalur peristiwa")
    assert label_in_name_mismatches(wall) == []
    screenshot(wall, "ops-3-pipeline")

    wall.get_by_role("button", name="EN: Switch to English", exact=True).click()
    pipeline = wall.get_by_role("region", name="Event processing")
    expect(pipeline).to_contain_text("Failed messages (DLQ)")
    expect(pipeline.get_by_role("table", name="Failed messages per DLQ topic")).to_be_visible()
    expect(wall.get_by_role("button", name="ID: Ganti ke Bahasa Indonesia")).to_have_text("ID")
    assert label_in_name_mismatches(wall) == []
    screenshot(wall, "ops-4-pipeline-en")


def test_a_citizen_is_refused(platform: Platform, desk: Any) -> None:
    citizen = register_citizen(platform, "Hasnah")
    live = httpx.get(f"{platform.gateway}/api/v1/ops/live", headers=citizen["headers"], timeout=10)
    assert live.status_code == 403, live.text

    sign_in_on_page(desk, citizen["phone"])
    expect(desk.get_by_role("alert")).to_contain_text("tidak memiliki akses")
    expect(desk.get_by_role("table")).to_have_count(0)
    desk.get_by_role("button", name="Keluar dan masuk dengan akun petugas").click()
    expect(desk.get_by_label("Nama pengguna")).to_be_visible()
