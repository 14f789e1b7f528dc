"""What an issued output certifies, and how its holder and others get it, on the real store, bus
and S3: the application's answers printed under the service's own title and labels; the holder
downloading without a PIN; a new PIN not killing the one just sent; strangers' wrong PINs not
locking the holder out."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from documents import issuing
from documents.settings import Settings
from mpp_shared.contracts.applications import (
    OUTPUT_CONTENT_KIND,
    ApplicationApproved,
    OutputContent,
    OutputLine,
)
from mpp_shared.contracts.catalog import LocalizedText
from mpp_shared.pii import Vault
from mpp_shared.settings import DEVELOPMENT_SECRET
from mpp_shared.testing import Tokens

from ..conftest import citizen_id
from .test_outputs import approve, pin_of

STRANGER = {"X-Forwarded-For": "203.0.113.7"}  # someone holding only the printed code
HOLDER_PHONE = {"X-Forwarded-For": "198.51.100.20"}  # the holder, without the app


def line(label_id: str, label_en: str, value: str = "", kind: str = "text") -> OutputLine:
    return OutputLine.model_validate(
        {"label": {"id": label_id, "en": label_en}, "value": value, "kind": kind}
    )


BIRTH = OutputContent(
    title=LocalizedText(id="Kutipan Akta Kelahiran", en="Birth Certificate (Extract)"),
    lines=[
        line("Nama anak", "Child's name", "Siti Nurḥalizah"),
        line("Tempat lahir", "Place of birth", "Sinjai"),
        line("Tanggal lahir", "Date of birth", "2026-11-20", "date"),
        line("Jenis kelamin", "Sex", "Perempuan"),
        line("Nama ayah", "Father's name", "Đặng Văn Hùng"),
        line("Nama ibu", "Mother's name", "Andi Ṭayyibah"),
        line("Pelapor", "Reported by", kind="holder_name"),
    ],
)


async def issued(
    documents: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any], **changes: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    owner = citizen_id()
    approved = await approve(feed, owner, **changes)
    holder = tokens.headers("citizen", subject=owner)
    found = await documents.get(
        f"/api/v1/documents/outputs?application_id={approved.application_id}", headers=holder
    )
    assert found.status_code == 200, found.text
    return found.json(), holder


async def pdf_text(documents: httpx.AsyncClient, direct: httpx.AsyncClient, **kw: Any) -> str:
    link = await documents.get(**kw)
    assert link.status_code == 200, link.text
    content = (await direct.get(link.json()["url"])).content
    return PdfReader(io.BytesIO(content)).pages[0].extract_text()


async def test_the_output_prints_the_answers_under_its_own_title_and_labels_in_order(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    feed: Callable[..., Any],
    direct: httpx.AsyncClient,
) -> None:
    output, holder = await issued(documents, tokens, feed, name="Đặng Thị Mai", output=BIRTH)
    text = await pdf_text(
        documents,
        direct,
        url=f"/api/v1/documents/outputs/{output['id']}/content?redirect=false",
        headers=holder,
    )

    assert "Kutipan Akta Kelahiran" in text and "Birth Certificate (Extract)" in text
    printed = [
        "Nama anak",
        "Siti Nurḥalizah",
        "Tempat lahir",
        "Sinjai",
        "Tanggal lahir",
        "20 November 2026",  # the answer's ISO date, written out
        "Jenis kelamin",
        "Perempuan",
        "Nama ayah",
        "Đặng Văn Hùng",
        "Nama ibu",
        "Andi Ṭayyibah",
        "Pelapor",
        "Đặng Thị Mai",  # the applicant's name, which identity's event told
        "Nomor lacak",
    ]
    places = [text.find(fact) for fact in printed]
    assert -1 not in places, [fact for fact, at in zip(printed, places, strict=True) if at < 0]
    assert places == sorted(places), "in the order the service defines"

    public = (await documents.get(f"/api/v1/verify/{output['verification_code']}")).json()
    assert public["title"] == {"id": "Kutipan Akta Kelahiran", "en": "Birth Certificate (Extract)"}
    assert (public["holder"], public["issued_at"][:10]) == (
        "Đ*** T** M**",
        output["issued_at"][:10],
    )
    assert "Mai" not in str(public)


def test_content_sealed_with_another_key_is_refused_not_issued_without_it(
    settings: Settings,
) -> None:
    approved = ApplicationApproved(
        application_id="app-sealed",
        tracking_number="SNJ-DISDUKCAPIL-20261205-000009",
        service_id="svc-1",
        service_version=1,
        agency="DISDUKCAPIL",
        citizen_id="c-1",
        state="approved",
        electronic_output=True,
    )
    theirs = Vault("another-key", kind=OUTPUT_CONTENT_KIND)
    foreign = theirs.encrypt(BIRTH.model_dump_json(), context=approved.application_id)
    with pytest.raises(issuing.SealedOutputUnreadable):
        issuing.opened_output(settings, approved.model_copy(update={"output_sealed": foreign}))
    # Bound to its application: copied onto another decision, it does not open either.
    ours = Vault(DEVELOPMENT_SECRET, kind=OUTPUT_CONTENT_KIND)
    moved = ours.encrypt(BIRTH.model_dump_json(), context="app-other")
    with pytest.raises(issuing.SealedOutputUnreadable):
        issuing.opened_output(settings, approved.model_copy(update={"output_sealed": moved}))


async def test_an_output_its_service_does_not_define_keeps_the_service_name_as_title(
    documents: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    output, _ = await issued(documents, tokens, feed)

    public = (await documents.get(f"/api/v1/verify/{output['verification_code']}")).json()

    assert public["title"] == {"id": "Akta Kelahiran", "en": "Birth Certificate"}


async def test_the_signed_in_holder_downloads_without_a_pin_and_no_one_else_does(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    feed: Callable[..., Any],
    direct: httpx.AsyncClient,
) -> None:
    output, holder = await issued(documents, tokens, feed, output=BIRTH)
    path = f"/api/v1/documents/outputs/{output['id']}/content"

    redirect = await documents.get(path, headers=holder)
    assert redirect.status_code == 307 and redirect.headers["cache-control"] == "no-store"
    pdf = (await direct.get(redirect.headers["location"])).content
    assert (
        pdf.startswith(b"%PDF")
        and "Siti Nurḥalizah" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    )

    other = await documents.get(path, headers=tokens.headers("citizen", subject=citizen_id()))
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    anonymous = await documents.get(path)
    assert anonymous.status_code == 401


async def test_a_new_pin_keeps_the_one_just_sent_unless_asked_to_revoke_it(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    settings: Settings,
    feed: Callable[..., Any],
) -> None:
    output, holder = await issued(documents, tokens, feed)
    code = output["verification_code"]
    first = await pin_of(settings, output["id"])
    pins = f"/api/v1/documents/outputs/{output['id']}/pin"

    async def works(pin: str) -> bool:
        tried = await documents.post(f"/api/v1/verify/{code}/download", json={"pin": pin})
        assert tried.status_code in (200, 403), tried.text
        return tried.status_code == 200

    second = await documents.post(pins, headers=holder)
    assert second.json()["previous_still_valid"] is True
    assert await works(first) and await works(second.json()["pin"])

    third = (await documents.post(pins, headers=holder)).json()["pin"]
    assert await works(second.json()["pin"]) and await works(third)
    assert not await works(first), "only the PIN sent just before stays good"

    fourth = await documents.post(pins, json={"revoke_previous": True}, headers=holder)
    assert fourth.json()["previous_still_valid"] is False
    assert not await works(third)
    assert await works(fourth.json()["pin"])


async def test_wrong_pins_from_a_stranger_lock_the_stranger_not_the_holder(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    settings: Settings,
    feed: Callable[..., Any],
) -> None:
    output, holder = await issued(documents, tokens, feed)
    code = output["verification_code"]
    pin = await pin_of(settings, output["id"])
    wrong = "000000" if pin != "000000" else "111111"
    download = f"/api/v1/verify/{code}/download"
    for _ in range(settings.pin_attempts):
        guess = await documents.post(download, json={"pin": wrong}, headers=STRANGER)
        assert guess.status_code == 403

    stranger = await documents.post(download, json={"pin": pin}, headers=STRANGER)
    assert (stranger.status_code, stranger.json()["reason"]) == (429, "pin-locked")
    english = await documents.post(
        download, json={"pin": pin}, headers=STRANGER | {"Accept-Language": "en"}
    )
    assert "Too many wrong PINs" in english.json()["detail"]

    from_holder = await documents.post(download, json={"pin": pin}, headers=HOLDER_PHONE)
    assert from_holder.status_code == 200, from_holder.text
    signed_in = await documents.get(
        f"/api/v1/documents/outputs/{output['id']}/content?redirect=false", headers=holder
    )
    assert signed_in.status_code == 200


async def test_many_addresses_guessing_together_are_capped_for_the_day(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    settings: Settings,
    feed: Callable[..., Any],
) -> None:
    output, holder = await issued(documents, tokens, feed)
    code = output["verification_code"]
    pin = await pin_of(settings, output["id"])
    wrong = "000000" if pin != "000000" else "111111"
    download = f"/api/v1/verify/{code}/download"
    for index in range(settings.pin_attempts_per_day):
        address = {"X-Forwarded-For": f"192.0.2.{index // settings.pin_attempts + 1}"}
        guess = await documents.post(download, json={"pin": wrong}, headers=address)
        assert guess.status_code == 403, (index, guess.text)

    capped = await documents.post(download, json={"pin": pin}, headers=HOLDER_PHONE)
    assert capped.status_code == 429
    # The holder signed in still gets it, and a new PIN forgets the guesses.
    fresh = (
        await documents.post(f"/api/v1/documents/outputs/{output['id']}/pin", headers=holder)
    ).json()["pin"]
    unlocked = await documents.post(download, json={"pin": fresh}, headers=HOLDER_PHONE)
    assert unlocked.status_code == 200
