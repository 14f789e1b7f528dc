"""axe-core (the accessibility engine browsers' own audits use) on the pages people spend their
day on: the citizen home, a service page and the apply form on a 360 px phone, the officer's inbox
at a desk, the command center on a wall screen. No critical and no serious violation.

axe is put into the page by the test (its own copy, from the web build's development
dependencies), in a browser profile that lets the test's script past the page's
Content-Security-Policy; the apps themselves ship nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from .conftest import PASSWORD, REPO, Platform, _page, register_citizen, staff_account

pytestmark = pytest.mark.e2e

AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

_RUN = """async () => {
  const found = await axe.run(document, { resultTypes: ["violations"] });
  return found.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
}"""


def violations(page: Any) -> list[str]:
    """axe's critical and serious violations on the page as it is now (after a moment for the
    data of its panels: the command center keeps a live stream open, so the network never
    idles)."""
    page.wait_for_timeout(1000)
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(_RUN)
    return found


@pytest.fixture
def audited_phone(
    browser: Any, platform: Platform, request: pytest.FixtureRequest
) -> Iterator[Any]:
    yield from _page(browser, platform, request, bypass_csp=True, locale="id-ID", **PHONE)


@pytest.fixture
def audited_desk(browser: Any, platform: Platform, request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _page(
        browser,
        platform,
        request,
        bypass_csp=True,
        locale="id-ID",
        viewport={"width": 1366, "height": 800},
    )


def test_the_citizen_home_a_service_page_and_the_apply_form(
    audited_phone: Any, platform: Platform, tmp_path: Path
) -> None:
    page = audited_phone
    assert AXE.exists(), "axe-core is a development dependency of web/ (npm ci)"
    page.goto("/")
    page.get_by_role("heading", name="Paling sering diajukan").wait_for()
    assert violations(page) == [], "citizen home"

    page.goto("/layanan/akta-kelahiran")
    page.get_by_role("heading", name="Akta Kelahiran").first.wait_for()
    assert violations(page) == [], "service page"

    citizen = register_citizen(platform, "Warga Aksesibel")
    page.goto("/masuk")
    page.get_by_label("NIK atau nomor ponsel").fill(citizen["phone"])
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Permohonan saya").wait_for()
    page.goto("/layanan/akta-kelahiran/ajukan")
    page.locator("form").first.wait_for()
    assert violations(page) == [], "apply form"

    for name, colour in (("depan", "navy"), ("belakang", "maroon")):
        Image.new("RGB", (300, 400), colour).save(tmp_path / f"kk-{name}.jpg")
        page.get_by_label("Ambil foto Kartu Keluarga orang tua *").set_input_files(
            str(tmp_path / f"kk-{name}.jpg")
        )
    page.get_by_text("Halaman 2").wait_for()
    assert violations(page) == [], "apply form with the pages of a photographed document"


def test_the_officer_inbox_and_the_command_center(audited_desk: Any, platform: Platform) -> None:
    page = audited_desk
    page.goto("/petugas/")
    page.get_by_label("Nama pengguna").fill(staff_account(platform, "officer", "DISDUKCAPIL"))
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Kotak masuk").first.wait_for()
    assert violations(page) == [], "officer inbox"

    page.context.clear_cookies()
    page.goto("/ops/")
    page.get_by_label("Nama pengguna").fill(staff_account(platform, "ops_viewer"))
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Pusat Komando MPP Kabupaten Sinjai").wait_for()
    assert violations(page) == [], "command center"


def test_the_audit_sees_a_violation_when_there_is_one(audited_phone: Any) -> None:
    """The audit itself works: a button without a name (critical) planted on the home is found."""
    audited_phone.goto("/")
    audited_phone.get_by_role("heading", name="Paling sering diajukan").wait_for()
    audited_phone.evaluate("document.body.append(document.createElement('button'))")
    assert any("button-name" in found for found in violations(audited_phone))
