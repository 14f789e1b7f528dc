"""Uploads on the real S3 server: checked, cleaned, private; refusals keep nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from minio import Minio
from PIL import Image

from documents import service, store
from documents.settings import Settings
from mpp_shared.contracts.applications import ApplicationSubmitted
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import (
    AGENCY,
    blobs_client,
    citizen_id,
    documents_settings,
    engine_of,
    event,
    jpeg_with_gps,
    now,
    objects,
    pdf_bytes,
    post_form,
    started,
)


async def send(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    owner: str,
    content: bytes,
    name: str = "surat.pdf",
    **fields: str,
) -> httpx.Response:
    return await documents.post(
        "/api/v1/documents",
        files={"file": (name, content, "application/pdf")},
        data=fields,
        headers=tokens.headers("citizen", subject=owner),
    )


async def test_a_pdf_is_kept_privately_with_its_hash_and_announced(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, direct: httpx.AsyncClient
) -> None:
    owner = citizen_id()
    content = pdf_bytes()
    response = await send(documents, tokens, owner, content, "../../etc/<b>surat.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["content_type"]) == ("available", "application/pdf")
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["filename"] == "bsurat.pdf", "no path, no markup"

    link = await documents.get(
        f"/api/v1/documents/{body['id']}/content?redirect=false",
        headers=tokens.headers("citizen", subject=owner),
    )
    assert link.status_code == 200
    downloaded = await direct.get(link.json()["url"])
    assert downloaded.content == content
    redirect = await documents.get(
        f"/api/v1/documents/{body['id']}/content", headers=tokens.headers("citizen", subject=owner)
    )
    assert redirect.status_code == 307

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == body["id"]]

    seen = await read_topic(
        KAFKA, settings.topic("documents.events"), until=lambda r: bool(ours(r))
    )
    [uploaded] = ours(seen)
    assert uploaded["type"] == "documents.document.uploaded.v1"
    assert uploaded["data"]["owner"] == owner
    assert "surat" not in json.dumps(uploaded), "file names do not travel"


async def test_photos_lose_their_gps_and_other_metadata(
    documents: httpx.AsyncClient, tokens: Tokens, direct: httpx.AsyncClient
) -> None:
    owner = citizen_id()
    photo = jpeg_with_gps()
    assert b"PhoneMaker" in photo
    response = await send(documents, tokens, owner, photo, "IMG_0001.pdf")  # the name lies
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/jpeg"
    link = await documents.get(
        f"/api/v1/documents/{response.json()['id']}/content?redirect=false",
        headers=tokens.headers("citizen", subject=owner),
    )
    stored = (await direct.get(link.json()["url"])).content
    assert b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif().get_ifd(0x8825), "no GPS"
        assert image.size == (320, 240)


async def test_bad_files_are_refused_with_a_reason_and_nothing_is_kept(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    small = ServicePublished.model_validate(
        {
            "service_id": "svc-kecil",
            "slug": "layanan-kecil",
            "version": 1,
            "agency": AGENCY,
            "category": "civil_status",
            "name": {"id": "Kecil", "en": "Small"},
            "channels": ["online"],
            "requirements": [
                {
                    "code": "foto",
                    "name": {"id": "Foto", "en": "Photo"},
                    "document_kinds": ["photo"],
                    "max_size_mb": 1,
                    "formats": ["jpeg", "png"],
                }
            ],
            "form_schema": None,
            "workflow": None,
            "fee_amount": 0,
            "electronic_output": False,
            "published_at": now(),
        }
    )
    await feed(event("catalog.service.published.v1", "svc-kecil", small, "catalog"))
    before = objects(settings)
    exe = b"MZ\x90\x00\x03" + b"\x00" * 2000
    cases = [
        (await send(documents, tokens, owner, exe, "surat.pdf"), 415, "unsupported-type"),
        (await send(documents, tokens, owner, pdf_bytes()[:-300], "potong.pdf"), 422, "truncated"),
        (
            await send(documents, tokens, owner, jpeg_with_gps()[:-500], "potong.jpg"),
            422,
            "truncated",
        ),
        (
            await send(
                documents, tokens, owner, pdf_bytes(), service="layanan-kecil", requirement="foto"
            ),
            415,
            "unsupported-type",
        ),
        (
            await send(
                documents,
                tokens,
                owner,
                b"\xff\xd8\xff" + b"0" * (1024 * 1024 + 10),
                service="layanan-kecil",
                requirement="foto",
            ),
            413,
            "too-large",
        ),
        (await send(documents, tokens, owner, b""), 422, "empty"),
    ]
    for response, status, reason in cases:
        assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
        assert response.headers["content-type"] == "application/problem+json"
    english = await documents.post(
        "/api/v1/documents",
        files={"file": ("x.pdf", exe, "application/pdf")},
        headers=tokens.headers("citizen", subject=owner) | {"Accept-Language": "en"},
    )
    assert "content is not PDF" in english.json()["detail"]
    assert objects(settings) == before, "nothing half-stored"
    mine = await documents.get(
        "/api/v1/documents", headers=tokens.headers("citizen", subject=owner)
    )
    assert mine.json()["items"] == []


async def test_s3_down_is_a_503_and_no_metadata_is_kept(
    namespace: str, tokens: Tokens, postgres: Any, kafka: str
) -> None:
    away = documents_settings(namespace, s3_endpoint="127.0.0.1:9")
    owner = citizen_id()
    async for client in started(away, tokens):
        response = await send(client, tokens, owner, pdf_bytes())
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        async with engine_of(client).connect() as connection:
            assert await store.of_owner(connection, owner, cursor=None, limit=10) == []


async def test_a_presigned_upload_is_checked_on_finalize_and_retry_safe(
    documents: httpx.AsyncClient, tokens: Tokens, direct: httpx.AsyncClient
) -> None:
    owner = citizen_id()
    headers = tokens.headers("citizen", subject=owner)
    content = pdf_bytes("Kartu keluarga", pages=2)
    ticket = await documents.post(
        "/api/v1/documents/uploads",
        json={"filename": "kk.pdf", "size": len(content)},
        headers=headers,
    )
    assert ticket.status_code == 201, ticket.text
    early = await documents.post(ticket.json()["finalize_url"], headers=headers)
    assert (early.status_code, early.json()["reason"]) == (409, "content-missing")
    sent = await post_form(direct, ticket.json(), content)
    assert sent.status_code == 204, sent.text
    first, again = await asyncio.gather(
        documents.post(ticket.json()["finalize_url"], headers=headers),
        documents.post(ticket.json()["finalize_url"], headers=headers),
    )
    assert first.json()["status"] == again.json()["status"] == "available", first.text
    assert first.json()["sha256"] == hashlib.sha256(content).hexdigest()

    cut = await documents.post(
        "/api/v1/documents/uploads",
        json={"filename": "kk.pdf", "size": len(content)},
        headers=headers,
    )
    refused = await post_form(direct, cut.json(), content[: len(content) // 2])
    assert refused.status_code == 400, "S3 itself takes only the announced size"
    assert "EntityTooSmall" in refused.text
    missing = await documents.post(cut.json()["finalize_url"], headers=headers)
    assert (missing.status_code, missing.json()["reason"]) == (409, "content-missing")


class LaggingS3:
    """The real S3 client, but uploads show only from `shown_at` (monotonic) on, as on a store
    that acknowledges an upload before every reader sees it (a replica in another zone)."""

    def __init__(self, s3: Minio, *, shown_at: float) -> None:
        self.s3 = s3
        self.shown_at = shown_at
        self.hidden = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)

    def stat_object(self, bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.startswith("uploads/") and time.monotonic() < self.shown_at:
            self.hidden += 1
            key += ".not-yet"  # the server's own answer for a key it does not hold
        return self.s3.stat_object(bucket, key, *args, **kwargs)


async def test_an_upload_s3_shows_a_moment_after_accepting_it_is_found_on_finalize(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    direct: httpx.AsyncClient,
) -> None:
    owner = citizen_id()
    headers = tokens.headers("citizen", subject=owner)
    content = pdf_bytes("Ijazah")
    ticket = await documents.post(
        "/api/v1/documents/uploads", json={"size": len(content)}, headers=headers
    )
    assert (await post_form(direct, ticket.json(), content)).status_code == 204
    state = documents.app.state  # type: ignore[attr-defined]
    s3 = state.s3
    state.s3 = lagging = LaggingS3(s3, shown_at=time.monotonic() + 0.5)
    try:
        finished = await documents.post(ticket.json()["finalize_url"], headers=headers)
    finally:
        state.s3 = s3
    assert finished.status_code == 200, finished.text
    assert finished.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert lagging.hidden, "the upload was hidden at first"


async def test_a_presigned_pdf_is_kept_as_checked_whatever_is_sent_with_its_form_later(
    documents: httpx.AsyncClient, tokens: Tokens, direct: httpx.AsyncClient
) -> None:
    owner = citizen_id()
    headers = tokens.headers("citizen", subject=owner)
    content = pdf_bytes("Akta kelahiran")
    ticket = await documents.post(
        "/api/v1/documents/uploads", json={"size": len(content)}, headers=headers
    )
    await post_form(direct, ticket.json(), content, "text/html")
    finished = await documents.post(ticket.json()["finalize_url"], headers=headers)
    assert finished.json()["status"] == "available", finished.text
    later = b"<script>alert(1)</script>".ljust(len(content))  # the form is still valid
    assert (await post_form(direct, ticket.json(), later)).status_code == 204

    link = await documents.get(
        f"/api/v1/documents/{finished.json()['id']}/content?redirect=false", headers=headers
    )
    stored = await direct.get(link.json()["url"])
    assert stored.content == content
    assert stored.headers["Content-Type"] == "application/pdf", "the checked type, not the form's"


async def test_content_replaced_after_it_was_read_is_not_copied(settings: Settings) -> None:
    s3 = blobs_client(settings)
    source, key = f"uploads/{citizen_id()}/x", f"documents/{citizen_id()}/x"
    s3.put_object(settings.bucket_name, source, io.BytesIO(b"checked"), 7)
    read = s3.stat_object(settings.bucket_name, source)
    s3.put_object(settings.bucket_name, source, io.BytesIO(b"replaced"), 8)

    copied = await service.copy(
        s3,
        settings.bucket_name,
        source=source,
        etag=str(read.etag),
        key=key,
        content_type="application/pdf",
    )
    assert copied is False
    assert key not in objects(settings)


async def test_only_the_owner_and_the_handling_agency_may_see_a_document(
    documents: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    created = (await send(documents, tokens, owner, pdf_bytes())).json()
    path = f"/api/v1/documents/{created['id']}"
    officer = tokens.headers("officer", subject="officer-9", agency=AGENCY)
    for stranger in (
        tokens.headers("citizen", subject=citizen_id()),
        officer,
        tokens.headers("ops_viewer"),
    ):
        assert (await documents.get(path, headers=stranger)).status_code == 404
    submitted = ApplicationSubmitted(
        application_id="app-1",
        tracking_number="SNJ-DISDUKCAPIL-20261127-000001",
        service_id="svc",
        service_version=1,
        agency=AGENCY,
        citizen_id=owner,
        state="submitted",
        document_ids=[created["id"]],
    )
    await feed(event("applications.application.submitted.v1", "app-1", submitted, "applications"))
    assert (await documents.get(path, headers=officer)).status_code == 200
    link = await documents.get(f"{path}/content?redirect=false", headers=officer)
    assert link.status_code == 200
    other_agency = tokens.headers("officer", agency="SAMSAT")
    assert (await documents.get(path, headers=other_agency)).status_code == 404
    log = await documents.get(
        f"{path}/access-log", headers=tokens.headers("citizen", subject=owner)
    )
    assert [(a["actor_role"], a["action"]) for a in log.json()] == [
        ("officer", "metadata"),
        ("officer", "download"),
    ]
    attached = await documents.delete(path, headers=tokens.headers("citizen", subject=owner))
    assert (attached.status_code, attached.json()["reason"]) == (409, "document-attached")


async def test_deleting_and_cleaning_unattached_uploads(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings
) -> None:
    owner = citizen_id()
    headers = tokens.headers("citizen", subject=owner)
    kept = (await send(documents, tokens, owner, pdf_bytes())).json()
    gone = (await send(documents, tokens, owner, pdf_bytes("lain"))).json()
    assert (
        await documents.delete(f"/api/v1/documents/{gone['id']}", headers=headers)
    ).status_code == 204
    assert (
        await documents.get(f"/api/v1/documents/{gone['id']}", headers=headers)
    ).status_code == 404
    s3 = documents.app.state.s3  # type: ignore[attr-defined]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=settings.unattached_hours, minutes=1)
    engine = engine_of(documents)
    assert await service.clean_unattached(engine, s3, settings=settings, now=later) >= 1
    assert (
        await documents.get(f"/api/v1/documents/{kept['id']}", headers=headers)
    ).status_code == 404
    assert not [k for k in objects(settings) if owner in k], "their blobs are gone too"


async def test_the_same_idempotency_key_uploads_once(
    documents: httpx.AsyncClient, tokens: Tokens
) -> None:
    owner = citizen_id()
    headers = tokens.headers("citizen", subject=owner) | {"Idempotency-Key": "upload-abcdef12"}
    content = pdf_bytes()
    first = await documents.post(
        "/api/v1/documents", files={"file": ("a.pdf", content)}, headers=headers
    )
    again = await documents.post(
        "/api/v1/documents", files={"file": ("a.pdf", content)}, headers=headers
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


async def test_the_same_idempotency_key_sent_twice_at_once_uploads_once(
    documents: httpx.AsyncClient, tokens: Tokens
) -> None:
    owner = citizen_id()
    headers = tokens.headers("citizen", subject=owner) | {"Idempotency-Key": "upload-together"}
    content = pdf_bytes("bersamaan")
    first, again = await asyncio.gather(
        *(
            documents.post("/api/v1/documents", files={"file": ("a.pdf", content)}, headers=headers)
            for _ in range(2)
        )
    )
    assert sorted((first.status_code, again.status_code)) == [200, 201]
    assert first.json()["id"] == again.json()["id"]
    mine = await documents.get(
        "/api/v1/documents", headers=tokens.headers("citizen", subject=owner)
    )
    assert [d["id"] for d in mine.json()["items"]] == [first.json()["id"]]


async def test_of_a_deletion_and_a_submission_at_once_exactly_one_wins(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    outcomes = set()
    for round in range(4):
        owner = citizen_id()
        headers = tokens.headers("citizen", subject=owner)
        created = (await send(documents, tokens, owner, pdf_bytes(f"lomba {round}"))).json()
        submitted = ApplicationSubmitted(
            application_id=f"app-race-{round}-{owner}",
            tracking_number="SNJ-DISDUKCAPIL-20261127-000003",
            service_id="svc",
            service_version=1,
            agency=AGENCY,
            citizen_id=owner,
            state="submitted",
            document_ids=[created["id"]],
        )
        attach = event("applications.application.submitted.v1", "app", submitted, "applications")
        deleted, _ = await asyncio.gather(
            documents.delete(f"/api/v1/documents/{created['id']}", headers=headers), feed(attach)
        )
        async with engine_of(documents).connect() as connection:
            document = await store.find(connection, created["id"])
        assert document is not None
        if deleted.status_code == 204:
            assert document.status == "deleted"
            assert not [k for k in objects(settings) if created["id"] in k]
        else:
            assert (deleted.status_code, deleted.json()["reason"]) == (409, "document-attached")
            assert (document.status, document.attached) == ("available", True)
            assert [k for k in objects(settings) if created["id"] in k], "its blob is kept"
        outcomes.add(deleted.status_code)
    assert outcomes <= {204, 409}


async def test_the_list_is_newest_first_and_pages_by_upload_time(
    documents: httpx.AsyncClient, tokens: Tokens
) -> None:
    owner = citizen_id()
    ids = []
    for number in range(5):
        # Keyed uploads get ids derived from their key: not in upload order.
        headers = tokens.headers("citizen", subject=owner) | {
            "Idempotency-Key": f"key-{number:08d}"
        }
        sent = await documents.post(
            "/api/v1/documents", files={"file": ("a.pdf", pdf_bytes(str(number)))}, headers=headers
        )
        ids.append(sent.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (
            await documents.get(
                f"/api/v1/documents{query}", headers=tokens.headers("citizen", subject=owner)
            )
        ).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    garbage = await documents.get(
        "/api/v1/documents?cursor=bm9wZQ", headers=tokens.headers("citizen", subject=owner)
    )
    assert garbage.status_code == 400
