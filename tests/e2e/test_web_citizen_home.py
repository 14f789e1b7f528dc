"""The citizen app's home on a 360 px phone: what citizens apply for most comes first (counted
from the applications made, the mall's featured services until there are enough), then the
categories as tiles; a tile lists its category."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from mpp_shared.testing import eventually

from .conftest import Platform, label_in_name_mismatches, register_citizen, run_async, screenshot
from .faults.load import SERVICE as WATER_FAULT
from .faults.load import form as water_fault_form

pytestmark = pytest.mark.e2e


def popular(platform: Platform) -> list[dict[str, Any]]:
    found = httpx.get(f"{platform.gateway}/api/v1/catalog/popular", params={"limit": 6})
    assert found.status_code == 200, found.text
    return list(found.json())


def test_the_home_puts_what_citizens_apply_for_first_then_category_tiles(
    phone: Any, platform: Platform
) -> None:
    citizen = register_citizen(platform, "Warga Beranda")
    for _ in range(3):
        made = httpx.post(
            f"{platform.gateway}/api/v1/applications",
            json={"service": WATER_FAULT, "form": water_fault_form(), "documents": {}},
            headers=citizen["headers"] | {"Idempotency-Key": f"home-{uuid.uuid4()}"},
            timeout=10,
        )
        assert made.status_code == 201, made.text

    async def counted() -> bool:  # the catalog learns of them from applications' events
        return WATER_FAULT in [s["slug"] for s in popular(platform)]

    run_async(eventually(counted, timeout=30))
    shown = popular(platform)
    # The mall's featured services fill the list after those applied for: KTP-el first of them.
    assert "ktp-el-baru" in [s["slug"] for s in shown]

    phone.goto("/")
    most = phone.get_by_role("heading", name="Paling sering diajukan")
    expect(most).to_be_visible()
    cards = phone.locator(
        "h2:has-text('Paling sering diajukan') + ul.services .service-card strong"
    )
    expect(cards).to_have_count(len(shown))
    assert cards.all_inner_texts() == [s["name"]["id"] for s in shown]
    # Not the whole catalog in id order any more: the categories, as tiles with their counts.
    tiles = phone.locator("ul.tiles a")
    population = tiles.filter(has_text="Kependudukan")
    expect(population).to_contain_text("layanan")
    assert phone.locator("ul.services .service-card").count() == len(shown)
    assert not label_in_name_mismatches(phone)
    screenshot(phone, "citizen-home")

    population.click()
    expect(phone).to_have_url(re.compile(r"/\?kategori=identity$"))
    expect(phone.get_by_role("link", name="KTP-el Baru")).to_be_visible()
    expect(phone.locator("nav.chips a[aria-current='true']")).to_have_text("Kependudukan")
    screenshot(phone, "citizen-home-category")

    phone.goto("/")
    phone.get_by_role("link", name="Semua layanan").click()
    expect(phone.locator("ul.services .service-card")).to_have_count(20)  # the first page
    expect(phone.get_by_role("button", name="Tampilkan lebih banyak")).to_be_visible()
