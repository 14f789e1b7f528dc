"""Photos of a document's pages, sent together, kept as one PDF on the real S3 server: checked
page by page as any photo is, and refused page by page with a reason."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from documents import checks
from documents.settings import Settings
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import (
    AGENCY,
    citizen_id,
    event,
    jpeg_with_gps,
    now,
    objects,
    pdf_bytes,
)


def photo(colour: str, size: tuple[int, int] = (300, 400), kind: str = "JPEG") -> bytes:
    """A page photographed: one colour, so that its place in the PDF can be told."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=kind)
    return out.getvalue()


def noise(side: int) -> bytes:
    """A photo that compresses badly: about `side * side * 1.2` bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        out, format="JPEG", quality=95
    )
    return out.getvalue()


async def send_pages(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    owner: str,
    pages: list[bytes],
    *,
    headers: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
) -> httpx.Response:
    return await documents.post(
        "/api/v1/documents/pages",
        files=[("pages", (f"IMG_{n}.jpg", page, "image/jpeg")) for n, page in enumerate(pages)],
        data=fields or {},
        headers=tokens.headers("citizen", subject=owner) | (headers or {}),
    )


async def content_of(documents: httpx.AsyncClient, tokens: Tokens, owner: str, id: str) -> bytes:
    link = await documents.get(
        f"/api/v1/documents/{id}/content?redirect=false",
        headers=tokens.headers("citizen", subject=owner),
    )
    async with httpx.AsyncClient(timeout=30) as direct:
        return (await direct.get(link.json()["url"])).content


@pytest.fixture
async def small_service(feed: Callable[..., Any]) -> str:
    """A service whose letter may be 1 MB of PDF or JPEG and whose photo takes no PDF."""
    published = ServicePublished.model_validate(
        {
            "service_id": "svc-halaman",
            "slug": "layanan-halaman",
            "version": 1,
            "agency": AGENCY,
            "category": "civil_status",
            "name": {"id": "Halaman", "en": "Pages"},
            "channels": ["online"],
            "requirements": [
                {
                    "code": "surat",
                    "name": {"id": "Surat", "en": "Letter"},
                    "document_kinds": ["letter"],
                    "max_size_mb": 1,
                    "formats": ["pdf", "jpeg"],
                },
                {
                    "code": "foto",
                    "name": {"id": "Foto", "en": "Photo"},
                    "document_kinds": ["photo"],
                    "max_size_mb": 1,
                    "formats": ["jpeg", "png"],
                },
            ],
            "form_schema": None,
            "workflow": None,
            "fee_amount": 0,
            "electronic_output": False,
            "published_at": now(),
        }
    )
    await feed(event("catalog.service.published.v1", "svc-halaman", published, "catalog"))
    return "layanan-halaman"


async def test_photos_of_pages_become_one_pdf_in_their_order_without_metadata(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings
) -> None:
    owner = citizen_id()
    pages = [jpeg_with_gps(), photo("red", kind="PNG"), photo("green", size=(400, 300))]
    response = await send_pages(documents, tokens, owner, pages, fields={"filename": "kk.pdf"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["content_type"], body["filename"]) == (
        "available",
        "application/pdf",
        "kk.pdf",
    )
    stored = await content_of(documents, tokens, owner, body["id"])
    assert b"PhoneMaker" not in stored, "the photos' metadata is not carried into the PDF"
    reader = PdfReader(io.BytesIO(stored))
    assert len(reader.pages) == 3
    centres = []
    for page in reader.pages:
        [image] = page.images
        assert image.image is not None
        width, height = image.image.size
        centre = image.image.convert("RGB").getpixel((width // 2, height // 2))
        assert isinstance(centre, tuple)
        centres.append(centre)
    navy, red, green = centres
    assert navy[2] > 100 > navy[0] and red[0] > 200 > red[1] and green[1] > 100 > green[0]
    cleaned = checks.inspect(pages[0], formats=["jpeg"], max_bytes=len(pages[0]))
    assert reader.pages[0].images[0].data == cleaned.content, "a JPEG is not encoded again"
    # Each on an A4 sheet turned its way: the red page stands, the green one lies.
    _, portrait, landscape = (page.mediabox for page in reader.pages)
    assert portrait.height > portrait.width and landscape.width > landscape.height

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == body["id"]]

    seen = await read_topic(
        KAFKA, settings.topic("documents.events"), until=lambda r: bool(ours(r))
    )
    [uploaded] = ours(seen)
    assert uploaded["type"] == "documents.document.uploaded.v1"
    assert uploaded["data"]["content_type"] == "application/pdf"
    assert uploaded["data"]["size"] == len(stored)


async def test_a_page_that_is_not_a_photo_is_refused_by_its_number_and_nothing_is_kept(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings
) -> None:
    owner = citizen_id()
    before = objects(settings)
    not_a_photo = await send_pages(documents, tokens, owner, [photo("white"), pdf_bytes()])
    assert not_a_photo.status_code == 415, not_a_photo.text
    assert not_a_photo.headers["content-type"] == "application/problem+json"
    problem = not_a_photo.json()
    assert (problem["reason"], problem["page"]) == ("unsupported-type", 2)
    assert problem["detail"].startswith("Halaman 2 bukan foto")

    cut = await send_pages(
        documents,
        tokens,
        owner,
        [photo("white")[:-200], photo("white")],
        headers={"Accept-Language": "en"},
    )
    assert (cut.status_code, cut.json()["reason"], cut.json()["page"]) == (422, "truncated", 1)
    assert cut.json()["detail"].startswith("Page 1: The file is incomplete")

    none = await documents.post(
        "/api/v1/documents/pages",
        data={"filename": "kk.pdf"},
        files={"other": ("x.jpg", photo("white"), "image/jpeg")},
        headers=tokens.headers("citizen", subject=owner),
    )
    assert (none.status_code, none.json()["errors"][0]["field"]) == (422, "pages")
    assert objects(settings) == before, "nothing half-stored"
    mine = await documents.get(
        "/api/v1/documents", headers=tokens.headers("citizen", subject=owner)
    )
    assert mine.json()["items"] == []


async def test_pages_are_held_to_the_requirement_s_size_and_formats(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, small_service: str
) -> None:
    owner = citizen_id()
    before = objects(settings)
    fields = {"service": small_service, "requirement": "surat"}
    each_fits = [noise(780), noise(780)]
    assert all(600_000 < len(page) < 1024 * 1024 for page in each_fits)
    together = await send_pages(documents, tokens, owner, each_fits, fields=fields)
    assert (together.status_code, together.json()["reason"]) == (413, "too-large"), together.text
    assert "lebih dari 1 MB" in together.json()["detail"]

    one_too_large = await send_pages(documents, tokens, owner, [noise(1000)], fields=fields)
    assert (one_too_large.status_code, one_too_large.json()["page"]) == (413, 1)

    many = await send_pages(
        documents, tokens, owner, [photo("white", (20, 20))] * 21, fields=fields
    )
    assert (many.status_code, many.json()["reason"]) == (422, "too-many-pages"), many.text

    # Each 40 megapixels and a few kilobytes: together more decoding than one request may ask.
    out = io.BytesIO()
    Image.new("1", (8000, 5000), 1).save(out, format="PNG")
    vast = await send_pages(documents, tokens, owner, [out.getvalue()] * 3, fields=fields)
    assert (vast.status_code, vast.json()["reason"]) == (422, "too-many-pixels"), vast.text
    assert "page" not in vast.json()

    no_pdf = await send_pages(
        documents,
        tokens,
        owner,
        [photo("white")],
        fields={"service": small_service, "requirement": "foto"},
    )
    assert (no_pdf.status_code, no_pdf.json()["reason"]) == (415, "unsupported-type")
    assert "bukan PDF" in no_pdf.json()["detail"]
    assert objects(settings) == before

    fits = await send_pages(documents, tokens, owner, [photo("white")] * 2, fields=fields)
    assert fits.status_code == 201, fits.text
    assert fits.json()["requirement"] == "surat"


async def test_the_same_idempotency_key_makes_one_pdf(
    documents: httpx.AsyncClient, tokens: Tokens
) -> None:
    owner = citizen_id()
    key = {"Idempotency-Key": "pages-abcdef12"}
    pages = [photo("white"), photo("black")]
    first = await send_pages(documents, tokens, owner, pages, headers=key)
    again = await send_pages(documents, tokens, owner, pages, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    mine = await documents.get(
        "/api/v1/documents", headers=tokens.headers("citizen", subject=owner)
    )
    assert [d["id"] for d in mine.json()["items"]] == [first.json()["id"]]
