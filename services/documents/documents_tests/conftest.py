"""The documents app in-process on the real PostgreSQL, bus and S3 server; events from the other
services handed to its consumers as if they came from Kafka; sample files."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from reportlab.pdfgen import canvas
from sqlalchemy.ext.asyncio import AsyncEngine

from documents.app import create_app
from documents.settings import Settings
from mpp_shared import events, topics
from mpp_shared.testing import Tokens, feeder, in_process, settings_for

AGENCY = "DISDUKCAPIL"


def pdf_bytes(text: str = "Surat keterangan lahir", pages: int = 1) -> bytes:
    """A small real PDF."""
    out = io.BytesIO()
    page = canvas.Canvas(out)
    for number in range(pages):
        page.drawString(72, 720, f"{text} {number + 1}")
        page.showPage()
    page.save()
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A phone photo: a JPEG whose EXIF holds a GPS position."""
    image = Image.new("RGB", (320, 240), "navy")
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (5.0, 7.0, 30.0), "E", (120.0, 15.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def documents_settings(namespace: str, **overrides: Any) -> Settings:
    return settings_for(Settings, namespace, **({"cleanup_interval_seconds": 3600} | overrides))


async def started(settings: Settings, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(
        create_app(settings), base_url="http://documents", tokens=tokens
    ) as client:
        yield client


@pytest.fixture(scope="session")
def settings(namespace: str) -> Settings:
    return documents_settings(namespace)


@pytest.fixture(scope="session")
async def documents(
    settings: Settings, tokens: Tokens, postgres: Any, kafka: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The documents API in-process; `documents.app` is the FastAPI app."""
    async for client in started(settings, tokens):
        yield client
    s3 = blobs_client(settings)
    for item in s3.list_objects(settings.bucket_name, recursive=True):
        s3.remove_object(settings.bucket_name, item.object_name)
    s3.remove_bucket(settings.bucket_name)


def blobs_client(settings: Settings) -> Any:
    from mpp_shared import blobs

    return blobs.create_s3(settings)


def objects(settings: Settings) -> list[str]:
    """Every object key in the bucket now."""
    s3 = blobs_client(settings)
    return sorted(o.object_name for o in s3.list_objects(settings.bucket_name, recursive=True))


def event(kind: str, subject: str, data: Any, source: str) -> events.Event:
    return events.new_event(type=kind, source=topics.source_of(source), subject=subject, data=data)


@pytest.fixture
def feed(documents: httpx.AsyncClient) -> Callable[..., Any]:
    """Hand events to the service's consumer handlers, as if they came from Kafka."""
    return feeder(documents)


def citizen_id() -> str:
    return f"citizen-{secrets.token_hex(4)}"


def now() -> datetime:
    return datetime.now(UTC)


def engine_of(client: httpx.AsyncClient) -> AsyncEngine:
    """The database of an in-process documents app."""
    engine: AsyncEngine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    return engine


@pytest.fixture
async def direct() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client, for presigned S3 URLs."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def post_form(
    direct: httpx.AsyncClient, ticket: dict[str, Any], content: bytes, content_type: str = ""
) -> httpx.Response:
    """Send `content` to S3 with an upload ticket's presigned form, as a browser would."""
    return await direct.post(
        ticket["upload_url"],
        data=ticket["fields"],
        files={"file": ("upload", content, content_type or "application/octet-stream")},
    )


def huge_png() -> bytes:
    """81 megapixels of one colour: a PNG of a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (9000, 9000), 1).save(out, format="PNG")
    return out.getvalue()
