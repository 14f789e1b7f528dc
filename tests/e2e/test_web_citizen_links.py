"""The links in the mall's messages open what they promise, on a cheap phone against the real
gateway and services: the tracking page from the 'approved' SMS, the survey from the
'completed' SMS; and a complaint's steps as its citizen sees them, each told to the citizen and
the forwarding told to the agency."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from mpp_shared.settings import DEVELOPMENT_SECRET
from mpp_shared.testing import eventually, mailbox, sms_address

from .conftest import (
    PASSWORD,
    Platform,
    register_citizen,
    run_async,
    screenshot,
    sign_in,
    staff_member,
)
from .test_journey import apply
from .test_web_citizen_more import sign_in_here

pytestmark = pytest.mark.e2e


def sms_with(citizen: dict[str, Any], *words: str) -> str:
    """The SMS the citizen's phone received that says all of `words`."""

    async def found() -> list[str]:
        texts = [str(m["Text"]) for m in await mailbox(sms_address("+62" + citizen["phone"][1:]))]
        return [text for text in texts if all(word in text for word in words)]

    [text] = run_async(eventually(found, timeout=60))
    return text


def path_of_link(text: str) -> str:
    """The path of the message's one link, to open on this platform's gateway."""
    [link] = re.findall(r"https?://\S+", text)
    return "/" + link.split("/", 3)[3]


@pytest.mark.timeout(300)
def test_the_sms_links_open_the_tracking_page_and_the_applications_survey(
    phone: Any, platform: Platform
) -> None:
    citizen = register_citizen(platform, "Nurhaedah")
    officer = staff_member(platform, "officer", "DISDUKCAPIL")
    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    application = submitted.json()
    number = application["tracking_number"]
    actions = f"{platform.gateway}/api/v1/applications/{application['id']}/actions"
    for action in ("start_review", "approve"):
        assert httpx.post(f"{actions}/{action}", headers=officer, timeout=10).status_code == 200

    approved = sms_with(citizen, number, "DISETUJUI")
    assert len(approved) <= 160, approved
    phone.goto(path_of_link(approved))  # on a phone nobody signed in on
    expect(phone.get_by_role("heading", name="Lacak permohonan")).to_be_visible()
    expect(phone.get_by_text(number)).to_be_visible()
    expect(phone.get_by_text("Disetujui").first).to_be_visible()
    screenshot(phone, "citizen-sms-track-approved")

    assert httpx.post(f"{actions}/complete", headers=officer, timeout=10).status_code == 200
    completed = sms_with(citizen, number, "SELESAI")
    assert len(completed) <= 160, completed
    survey = path_of_link(completed)
    assert survey == f"/survei/{application['id']}"
    phone.goto(survey)
    sign_in_here(phone, citizen)  # the survey is the applicant's: signed in, it opens
    expect(phone.get_by_role("heading", name="Survei kepuasan")).to_be_visible()
    expect(phone.locator("fieldset.survey-element")).to_have_count(9)
    expect(phone).to_have_url(re.compile(rf"/survei/{application['id']}$"))
    screenshot(phone, "citizen-sms-survey")


def agency_admin_with_email(platform: Platform, agency: str) -> tuple[dict[str, str], str]:
    """An agency administrator with an e-mail address: its Authorization header and address."""
    username = f"agencyadmin.{secrets.token_hex(3)}"
    email = f"{username}@contoh.id"
    created = httpx.post(
        f"{platform.gateway}/api/v1/auth/staff",
        json={
            "username": username,
            "name": "Kepala Dinas Dukcapil",
            "role": "agency_admin",
            "agency": agency,
            "email": email,
            "password": PASSWORD,
        },
        headers=sign_in(platform, "admin", DEVELOPMENT_SECRET),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return sign_in(platform, username, PASSWORD), email


def step(page: Any, name: str) -> Any:
    """A step of the complaint, by the words it starts with."""
    steps = page.get_by_role("list", name="Tahapan pengaduan").get_by_role("listitem")
    return steps.filter(has_text=re.compile(f"^{re.escape(name)}"))


@pytest.mark.timeout(300)
def test_a_complaint_shows_each_step_and_the_agency_is_told_when_it_is_forwarded(
    phone: Any, platform: Platform
) -> None:
    admin, admin_email = agency_admin_with_email(platform, "DISDUKCAPIL")
    citizen = register_citizen(platform, "Sitti Rahma")
    filed = httpx.post(
        f"{platform.gateway}/api/v1/complaints",
        json={
            "agency": "DISDUKCAPIL",
            "subject": "Berkas saya hilang di loket",
            "description": "Berkas KK yang saya serahkan di loket tidak tercatat petugas.",
        },
        headers=citizen["headers"] | {"Idempotency-Key": secrets.token_hex(8)},
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    complaint = filed.json()
    tracking = complaint["tracking_id"]

    phone.goto(f"/pengaduan/{complaint['id']}")
    sign_in_here(phone, citizen)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Berkas saya hilang di loket")
    expect(step(phone, "Pengaduan diajukan")).to_contain_text("Selesai")
    forwarding = step(phone, "Diverifikasi MPP dan diteruskan")
    expect(forwarding).to_contain_text("Sedang berjalan")
    expect(forwarding).to_have_attribute("aria-current", "step")
    expect(step(phone, "Ditanggapi instansi")).to_contain_text("Berikutnya")
    screenshot(phone, "citizen-complaint-steps-received")

    path = f"{platform.gateway}/api/v1/complaints/{complaint['id']}"
    forwarded = httpx.post(
        f"{path}/forward", json={}, headers=staff_member(platform, "mpp_admin"), timeout=10
    )
    assert forwarded.status_code == 200, forwarded.text

    # The agency's administrator is e-mailed: it is theirs to answer, and by when.
    async def told() -> list[dict[str, Any]]:
        return [m for m in await mailbox(admin_email) if tracking in m["Subject"]]

    [mail] = run_async(eventually(told, timeout=60))
    assert "menunggu tanggapan" in mail["Subject"]
    assert "Mohon tanggapi paling lambat" in mail["Text"]

    # The citizen reads the step in the inbox, and its link opens the complaint.
    phone.goto("/kotak-masuk")
    message = phone.locator("li").filter(has_text=f"Pengaduan {tracking} diteruskan")
    expect(message).to_be_visible(timeout=60_000)
    message.locator("summary").click()
    expect(message).to_contain_text("diteruskan ke Dinas Kependudukan dan Pencatatan Sipil")
    link = message.get_by_role("link").filter(has_text=f"/pengaduan/{complaint['id']}")
    screenshot(phone, "citizen-complaint-inbox-forwarded")
    href = str(link.get_attribute("href"))
    phone.goto(href if href.startswith("/") else path_of_link(href))  # here, not the public host
    expect(step(phone, "Diverifikasi MPP dan diteruskan")).to_contain_text("Selesai")
    expect(step(phone, "Diverifikasi MPP dan diteruskan")).to_contain_text(
        "Dinas Kependudukan dan Pencatatan Sipil"
    )
    expect(step(phone, "Ditanggapi instansi")).to_have_attribute("aria-current", "step")
    screenshot(phone, "citizen-complaint-steps-forwarded")

    answered = httpx.post(
        f"{path}/respond", json={"message": "Berkas Anda ditemukan di loket 3."}, headers=admin
    )
    assert answered.status_code == 200, answered.text
    phone.reload()
    expect(step(phone, "Ditanggapi instansi")).to_contain_text("Selesai")
    expect(step(phone, "Pengaduan ditutup")).to_have_attribute("aria-current", "step")
    expect(phone.get_by_text("Berkas Anda ditemukan di loket 3.")).to_be_visible()
    screenshot(phone, "citizen-complaint-steps-answered")
