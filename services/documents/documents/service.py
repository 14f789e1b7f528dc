"""Citizens' documents: uploads checked before anyone may attach them, private access, deletion
and the clean-up of uploads never attached.

Blobs go to S3 first and metadata second, so there is never metadata without its blob; a blob
whose metadata could not be written is removed again. S3 away is a 503 and nothing is kept.
Blobs are removed only after the change that frees them is committed (a presigned upload once
it is settled, a document's content once it is deleted), so a concurrent request never finds
metadata whose blob is gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Object, PostPolicy
from minio.error import MinioException
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential
from urllib3.exceptions import HTTPError as Urllib3Error

from documents import checks, store
from documents import pages as documents_pages
from documents.settings import Settings
from documents.store import Document
from mpp_shared import db, idempotency, outbox, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.documents import (
    DocumentDeleted,
    DocumentFacts,
    DocumentRejected,
    DocumentUploaded,
)
from mpp_shared.events import Event, new_event
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem

log = logging.getLogger(__name__)
SOURCE = topics.source_of("documents")
S3_ERRORS = (MinioException, Urllib3Error, OSError)
DEFAULT_FORMATS = ["pdf", "jpeg", "png"]
READ_CHUNK = 1024 * 1024


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def s3_unavailable() -> Problem:
    """The answer while S3 cannot be reached: try again later, nothing was kept."""
    return Problem(
        503,
        "unavailable",
        detail={
            "id": "Penyimpanan dokumen sedang tidak tersedia. Tidak ada yang tersimpan; silakan "
            "coba lagi sebentar lagi.",
            "en": "Document storage is unavailable. Nothing was kept; please try again shortly.",
        },
        headers={"Retry-After": "10"},
    )


def refused(exc: checks.Refused, **extensions: Any) -> Problem:
    """An upload's refusal as a 413, 415 or 422 problem naming the reason."""
    status = {"too-large": 413, "unsupported-type": 415}.get(exc.reason, 422)
    return Problem(status, detail=exc.messages, reason=exc.reason, **extensions)


async def limits_for(
    engine: AsyncEngine, settings: Settings, *, service: str | None, requirement: str | None
) -> tuple[int, list[str]]:
    """The byte limit and formats of a requirement (from the catalog), or the defaults."""
    found = None
    if service and requirement:
        async with engine.connect() as connection:
            found = await store.limits(connection, service, requirement)
    if found is None:
        return settings.default_max_upload_mb * 1024 * 1024, DEFAULT_FORMATS
    return found.max_size_mb * 1024 * 1024, found.formats


def _event(data: DocumentFacts) -> Event:
    return new_event(data, source=SOURCE, subject=data.document_id)


def _uploaded(document: Document, checked: checks.Checked) -> Event:
    return _event(
        DocumentUploaded(
            document_id=document.id,
            owner=document.owner,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            requirement=document.requirement,
        ),
    )


async def put(s3: Minio, bucket: str, key: str, content: bytes, content_type: str) -> None:
    try:
        await asyncio.to_thread(
            s3.put_object, bucket, key, io.BytesIO(content), len(content), content_type
        )
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc


async def copy(
    s3: Minio, bucket: str, *, source: str, etag: str, key: str, content_type: str
) -> bool:
    """Copy `source` to `key` inside S3, if it still holds the bytes with `etag`; False when it
    does not any more (replaced, or removed by a concurrent finish)."""
    try:
        await asyncio.to_thread(
            s3.copy_object,
            bucket,
            key,
            CopySource(bucket, source, match_etag=etag),
            metadata={"Content-Type": content_type},
            metadata_directive=REPLACE,
        )
    except MinioException as exc:
        if getattr(exc, "code", "") in ("PreconditionFailed", "NoSuchKey"):
            return False
        raise s3_unavailable() from exc
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc
    return True


async def remove(s3: Minio, bucket: str, key: str) -> None:
    try:
        await asyncio.to_thread(s3.remove_object, bucket, key)
    except S3_ERRORS as exc:
        log.warning("could not remove %s: %s", key, exc)


async def inspect(
    data: bytes, *, formats: list[str], max_bytes: int, sha256: str | None = None
) -> checks.Checked:
    """The checks, off the event loop: decoding and re-encoding images is CPU work."""
    return await asyncio.to_thread(
        checks.inspect, data, formats=formats, max_bytes=max_bytes, sha256=sha256
    )


# --- uploads ------------------------------------------------------------------------------------


async def find(engine: AsyncEngine, document_id: str) -> Document | None:
    """A document's metadata by id."""
    async with engine.connect() as connection:
        return await store.find(connection, document_id)


async def upload(
    engine: AsyncEngine,
    s3: Minio,
    *,
    settings: Settings,
    caller: Principal,
    data: bytes,
    filename: str | None,
    service: str | None,
    requirement: str | None,
    idempotency_key: str | None,
) -> tuple[Document, bool]:
    """Check and keep an upload sent through the API; a retry with the same key answers the same."""
    document_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:documents", key=idempotency_key
    )
    # Without a key the id is new: nothing to find.
    existing = await find(engine, document_id) if idempotency_key is not None else None
    if existing is not None:
        return existing, False
    max_bytes, formats = await limits_for(
        engine, settings, service=service, requirement=requirement
    )
    try:
        checked = await inspect(data, formats=formats, max_bytes=max_bytes)
    except checks.Refused as exc:
        raise refused(exc) from None
    return await _keep(
        engine,
        s3,
        settings=settings,
        caller=caller,
        document_id=document_id,
        checked=checked,
        filename=filename,
        service=service,
        requirement=requirement,
    )


async def upload_pages(
    engine: AsyncEngine,
    s3: Minio,
    *,
    settings: Settings,
    caller: Principal,
    pages: list[bytes],
    filename: str | None,
    service: str | None,
    requirement: str | None,
    idempotency_key: str | None,
) -> tuple[Document, bool]:
    """Make the photos of a document's pages into one PDF, checked and kept as an upload of it
    would be; a retry with the same key answers the same."""
    document_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:documents", key=idempotency_key
    )
    existing = await find(engine, document_id) if idempotency_key is not None else None
    if existing is not None:
        return existing, False
    max_bytes, formats = await limits_for(
        engine, settings, service=service, requirement=requirement
    )
    try:
        if "pdf" not in formats:
            raise documents_pages.pdf_not_accepted(formats)
        # Decoding and laying out photos is CPU work: off the event loop.
        pdf = await asyncio.to_thread(documents_pages.combine, pages, max_bytes=max_bytes)
        checked = await inspect(pdf, formats=formats, max_bytes=max_bytes)
    except documents_pages.PageRefused as exc:
        raise refused(exc, page=exc.page) from None
    except checks.Refused as exc:
        raise refused(exc) from None
    return await _keep(
        engine,
        s3,
        settings=settings,
        caller=caller,
        document_id=document_id,
        checked=checked,
        filename=filename,
        service=service,
        requirement=requirement,
    )


async def _keep(
    engine: AsyncEngine,
    s3: Minio,
    *,
    settings: Settings,
    caller: Principal,
    document_id: str,
    checked: checks.Checked,
    filename: str | None,
    service: str | None,
    requirement: str | None,
) -> tuple[Document, bool]:
    """Store a checked upload, then its metadata and its event; False when a retry with the same
    key kept it first."""
    key = f"documents/{caller.subject}/{document_id}"
    await put(s3, settings.bucket_name, key, checked.content, checked.content_type)
    now = _now()
    document = Document(
        id=document_id,
        owner=caller.subject,
        status="available",
        filename=checks.safe_filename(filename),
        service=service,
        requirement=requirement,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        object_key=key,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.transaction(engine) as connection:
            inserted = await store.add(connection, document)
            if inserted:
                await outbox.record(connection, [_uploaded(document, checked)])
    except BaseException:
        await remove(s3, settings.bucket_name, key)  # no blob without its metadata
        raise
    if not inserted:  # a retry with the same key, sent while the first was being kept
        found = await find(engine, document_id)
        assert found is not None
        return found, False
    return document, True


async def start_upload(
    engine: AsyncEngine,
    s3: Minio,
    *,
    settings: Settings,
    caller: Principal,
    filename: str | None,
    size: int,
    service: str | None,
    requirement: str | None,
    idempotency_key: str | None,
) -> tuple[Document, UploadForm]:
    """A pending document and a presigned form to POST its content, of exactly `size` bytes,
    to S3 directly."""
    max_bytes, _ = await limits_for(engine, settings, service=service, requirement=requirement)
    if size > max_bytes:
        raise refused(checks.too_large(max_bytes))
    document_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:documents", key=idempotency_key
    )
    now = _now()
    document = Document(
        id=document_id,
        owner=caller.subject,
        status="pending",
        filename=checks.safe_filename(filename),
        service=service,
        requirement=requirement,
        declared_size=size,
        upload_key=f"uploads/{caller.subject}/{document_id}",
        created_at=now,
        updated_at=now,
    )
    async with db.transaction(engine) as connection:
        if not await store.add(connection, document):
            found = await store.find(connection, document_id)
            assert found is not None
            document = found
    assert document.upload_key is not None and document.declared_size is not None
    form = await upload_form(
        s3,
        settings,
        document.upload_key,
        size=document.declared_size,
        expires=dt.timedelta(minutes=settings.upload_url_minutes),
    )
    return document, form


async def finish_upload(
    engine: AsyncEngine, s3: Minio, *, settings: Settings, caller: Principal, document_id: str
) -> Document:
    """Check what was POSTed to S3: the document becomes available or rejected (retry-safe).
    Content of another size than announced is refused and removed before a byte of it is read."""
    document = await visible(engine, caller=caller, document_id=document_id, owner_only=True)
    if document.status != "pending" or document.upload_key is None:
        return document  # finished already: the same answer again
    declared = document.declared_size
    assert declared is not None
    max_bytes, formats = await limits_for(
        engine, settings, service=document.service, requirement=document.requirement
    )
    bucket, upload_key = settings.bucket_name, document.upload_key
    stored = await _arrived(engine, s3, settings=settings, caller=caller, document=document)
    if isinstance(stored, Document):
        return stored  # settled by a concurrent finish
    # S3 takes only the announced size through the form, but the service must not rely on it: a
    # server that ignores the policy (or a key replaced by other means) must not make us read it.
    size = stored.size or 0
    if size > max_bytes or size != declared:
        # Left pending: the citizen may send the right file through the same form.
        await remove(s3, bucket, upload_key)
        raise refused(
            checks.too_large(max_bytes) if size > max_bytes else checks.size_differs(size, declared)
        )
    try:
        read = await asyncio.to_thread(_read_exactly, s3, bucket, upload_key, declared)
    except MinioException as exc:
        if getattr(exc, "code", "") != "NoSuchKey":
            raise s3_unavailable() from exc
        return await _not_uploaded(engine, caller=caller, document_id=document_id)
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc
    if read is None:  # replaced by content of another size since it was measured
        return await _changed_meanwhile(engine, caller=caller, document_id=document_id)
    data, sha256, etag = read
    try:
        checked = await inspect(data, formats=formats, max_bytes=max_bytes, sha256=sha256)
    except checks.Refused as exc:
        rejected = DocumentRejected(
            document_id=document_id, owner=document.owner, reason=exc.messages["en"]
        )
        return await _settle(
            engine,
            s3,
            settings=settings,
            document=document,
            fields={
                "status": "rejected",
                "reason": exc.messages["en"],
                "reason_id": exc.messages["id"],
            },
            event=_event(rejected),
        )
    key = f"documents/{document.owner}/{document_id}"
    if checked.content is data and etag:
        # Kept byte for byte (a PDF): copied inside S3 rather than sent back, and only if the
        # citizen has not POSTed something else with the still-valid form since it was read.
        copied = await copy(
            s3,
            bucket,
            source=upload_key,
            etag=etag,
            key=key,
            content_type=checked.content_type,
        )
        if not copied:
            return await _changed_meanwhile(engine, caller=caller, document_id=document_id)
    else:
        await put(s3, bucket, key, checked.content, checked.content_type)
    fields = {
        "status": "available",
        "object_key": key,
        "content_type": checked.content_type,
        "size": checked.size,
        "sha256": checked.sha256,
    }
    return await _settle(
        engine,
        s3,
        settings=settings,
        document=document,
        fields=fields,
        event=_uploaded(document, checked),
    )


def _read_exactly(s3: Minio, bucket: str, key: str, size: int) -> tuple[bytes, str, str] | None:
    """The object's bytes, SHA-256 and ETag, read and hashed chunk by chunk; None as soon as it
    turns out not to hold exactly `size` bytes."""
    response = s3.get_object(bucket, key)
    whole = False
    try:
        etag = response.headers.get("ETag", "").strip('"')
        digest = hashlib.sha256()
        content = bytearray(size)  # the size is known and bounded: filled in place
        received = 0
        for chunk in response.stream(READ_CHUNK):
            end = received + len(chunk)
            if end > size:
                return None
            digest.update(chunk)
            content[received:end] = chunk
            received = end
        if received != size:
            return None
        whole = True
        return bytes(content), digest.hexdigest(), etag
    finally:
        if not whole:  # a connection with a body left on it cannot serve another request
            response.close()
        response.release_conn()


class _NotArrived(Exception):
    """Nothing under a pending upload's key, yet."""


async def _arrived(
    engine: AsyncEngine, s3: Minio, *, settings: Settings, caller: Principal, document: Document
) -> Object | Document:
    """The uploaded object as S3 describes it, or the document as a concurrent finish settled
    it (that finish removes the upload); a 409 when nothing arrived.

    An S3 store may show an object a moment after it acknowledged the upload (a replicated store
    read in another zone than the form was sent to, a proxy or cache that remembered the key
    missing when finalize was called early): the lookup is repeated for up to
    `upload_arrival_seconds` before a citizen whose upload was accepted is told it is missing."""
    assert document.upload_key is not None
    bucket, key = settings.bucket_name, document.upload_key

    async def look() -> Object | Document:
        try:
            return await asyncio.to_thread(s3.stat_object, bucket, key)
        except MinioException as exc:
            if getattr(exc, "code", "") != "NoSuchKey":
                raise s3_unavailable() from exc
        except S3_ERRORS as exc:
            raise s3_unavailable() from exc
        settled = await visible(engine, caller=caller, document_id=document.id, owner_only=True)
        if settled.status != "pending":
            return settled
        raise _NotArrived

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(_NotArrived),
        stop=stop_after_delay(settings.upload_arrival_seconds),
        wait=wait_exponential(multiplier=0.05, max=0.5),
        reraise=True,
    )
    try:
        found: Object | Document = await retrying(look)
    except _NotArrived:
        raise _content_missing() from None
    return found


def _content_missing() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Isi berkas belum diunggah ke alamat yang diberikan.",
            "en": "The content has not been uploaded to the given URL yet.",
        },
        reason="content-missing",
    )


async def _not_uploaded(engine: AsyncEngine, *, caller: Principal, document_id: str) -> Document:
    """A concurrent finish's answer (it removes the upload once it settled the document), or a
    409: nothing was uploaded yet."""
    settled = await visible(engine, caller=caller, document_id=document_id, owner_only=True)
    if settled.status != "pending":
        return settled
    raise _content_missing()


async def _changed_meanwhile(
    engine: AsyncEngine, *, caller: Principal, document_id: str
) -> Document:
    """A concurrent finish's answer, or a 409: the content was replaced while it was checked."""
    settled = await visible(engine, caller=caller, document_id=document_id, owner_only=True)
    if settled.status != "pending":
        return settled
    raise Problem(
        409,
        "conflict",
        detail={
            "id": "Isi berkas diganti saat diperiksa. Panggil finalize lagi.",
            "en": "The content was replaced while it was being checked. Call finalize again.",
        },
        reason="content-changed",
    )


async def _settle(
    engine: AsyncEngine,
    s3: Minio,
    *,
    settings: Settings,
    document: Document,
    fields: dict[str, Any],
    event: Event,
) -> Document:
    """Settle a pending upload once; a concurrent finish that settled it first gives the answer."""
    async with db.transaction(engine) as connection:
        settled = await store.settle(connection, document.id, **fields, updated_at=_now())
        if settled is not None:
            await outbox.record(connection, [event])
    if settled is None:
        found = await find(engine, document.id)
        assert found is not None
        return found
    assert document.upload_key is not None
    await remove(s3, settings.bucket_name, document.upload_key)
    return settled


# --- access -------------------------------------------------------------------------------------


def may_read(caller: Principal, document: Document) -> bool:
    """The owner, and officers of an agency handling an application that references it."""
    if caller.role == "citizen":
        return document.owner == caller.subject
    return caller.role in ("officer", "agency_admin") and caller.agency in document.agencies


async def visible(
    engine: AsyncEngine, *, caller: Principal, document_id: str, owner_only: bool = False
) -> Document:
    """A document the caller may see (or change, `owner_only`), else a 404."""
    document = await find(engine, document_id)
    if (
        document is None
        or document.status == "deleted"
        or not (document.owner == caller.subject if owner_only else may_read(caller, document))
    ):
        raise Problem(404, "not-found")
    return document


async def record_access(
    engine: AsyncEngine, *, caller: Principal, document: Document, action: str
) -> None:
    """Log who accessed which document, how and when."""
    async with db.transaction(engine) as connection:
        await store.log_access(
            connection,
            id=new_id(),
            document=document,
            actor=caller.subject,
            actor_role=caller.role,
            actor_agency=caller.agency,
            action=action,
            at=_now(),
        )


async def access_log(
    engine: AsyncEngine, *, caller: Principal, document_id: str
) -> list[store.Access]:
    """Who accessed one's document, how and when, oldest first."""
    document = await visible(engine, caller=caller, document_id=document_id, owner_only=True)
    async with engine.connect() as connection:
        return await store.access_log(connection, document.id)


async def of_owner(
    engine: AsyncEngine, *, caller: Principal, cursor: str | None, limit: int
) -> list[Document]:
    """The caller's documents, newest first, `limit + 1` of them."""
    async with engine.connect() as connection:
        return await store.of_owner(connection, caller.subject, cursor=cursor, limit=limit)


async def presigned(
    s3: Minio, settings: Settings, method: str, key: str, expires: dt.timedelta
) -> str:
    """A presigned URL for the address clients reach."""
    try:
        url: str = await asyncio.to_thread(
            s3.get_presigned_url, method, settings.bucket_name, key, expires=expires
        )
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc
    if settings.s3_public_endpoint:
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(netloc=settings.s3_public_endpoint))
    return url


class UploadForm(NamedTuple):
    """A presigned POST form: where to send it and the fields to send with the file."""

    url: str
    fields: dict[str, str]


async def upload_form(
    s3: Minio, settings: Settings, key: str, *, size: int, expires: dt.timedelta
) -> UploadForm:
    """A presigned POST form to upload `key`, which S3 accepts only with exactly `size` bytes.

    A presigned PUT cannot bound the size (it accepted 200 MB against 1 KB announced); a POST
    policy's `content-length-range` is checked by S3 itself before the object is stored."""
    policy = PostPolicy(settings.bucket_name, _now() + expires)
    policy.add_equals_condition("key", key)
    policy.add_content_length_range_condition(size, size)
    try:
        signed = await asyncio.to_thread(s3.presigned_post_policy, policy)
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc
    scheme = "https" if settings.s3_secure else "http"
    endpoint = settings.s3_public_endpoint or settings.s3_endpoint
    return UploadForm(f"{scheme}://{endpoint}/{settings.bucket_name}", {"key": key} | signed)


async def download_url(
    engine: AsyncEngine, s3: Minio, *, settings: Settings, caller: Principal, document_id: str
) -> tuple[str, int]:
    """A short-lived URL to the content, for those who may read it; the access is logged."""
    document = await visible(engine, caller=caller, document_id=document_id)
    if document.status != "available" or document.object_key is None:
        raise Problem(
            409,
            "conflict",
            detail={"id": "Dokumen belum tersedia.", "en": "The document is not available."},
            reason=f"document-{document.status}",
        )
    url = await presigned(
        s3,
        settings,
        "GET",
        document.object_key,
        dt.timedelta(seconds=settings.download_url_seconds),
    )
    await record_access(engine, caller=caller, document=document, action="download")
    return url, settings.download_url_seconds


def _attached() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Dokumen ini dilampirkan pada permohonan yang sudah diajukan.",
            "en": "This document is attached to a submitted application.",
        },
        reason="document-attached",
    )


async def delete(
    engine: AsyncEngine, s3: Minio, *, settings: Settings, caller: Principal, document_id: str
) -> None:
    """The owner removes a document no submitted application refers to."""
    document = await visible(engine, caller=caller, document_id=document_id, owner_only=True)
    if document.attached:
        raise _attached()
    if not await _erase(engine, s3, settings=settings, document=document):
        # Attached or deleted meanwhile: the change that came first decides.
        current = await find(engine, document_id)
        if current is not None and current.attached and current.status != "deleted":
            raise _attached()


async def _erase(engine: AsyncEngine, s3: Minio, *, settings: Settings, document: Document) -> bool:
    """Delete a document not attached, then its blobs; False when it was attached or gone."""
    deleted = DocumentDeleted(document_id=document.id, owner=document.owner)
    async with db.transaction(engine) as connection:
        erased = await store.mark_deleted(connection, document.id, now=_now())
        if erased:
            await outbox.record(connection, [_event(deleted)])
    if erased:
        for key in (document.object_key, document.upload_key):
            if key:
                await remove(s3, settings.bucket_name, key)
    return erased


async def clean_unattached(
    engine: AsyncEngine, s3: Minio, *, settings: Settings, now: dt.datetime
) -> int:
    """Remove the uploads never attached within `unattached_hours`; returns how many."""
    async with engine.connect() as connection:
        old = await store.unattached_before(
            connection, now - dt.timedelta(hours=settings.unattached_hours)
        )
    erased = 0
    for document in old:
        erased += await _erase(engine, s3, settings=settings, document=document)
    return erased
