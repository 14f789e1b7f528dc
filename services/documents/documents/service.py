"""Citizens' documents: uploads checked before anyone may attach them, private access, deletion
and the clean-up of uploads never attached.

Blobs go to S3 first and metadata second, so there is never metadata without its blob; a blob
whose metadata could not be written is removed again. S3 away is a 503 and nothing is kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from minio import Minio
from minio.error import MinioException
from urllib3.exceptions import HTTPError as Urllib3Error

from documents import checks, store
from documents.settings import Settings
from mpp_shared import idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.documents import DocumentDeleted, DocumentRejected, DocumentUploaded
from mpp_shared.events import Event, new_event
from mpp_shared.ids import new_id
from mpp_shared.outbox import VersionConflict
from mpp_shared.problems import Problem

log = logging.getLogger(__name__)
Db = store.Db
Document = store.Document
SOURCE = topics.source_of("documents")
S3_ERRORS = (MinioException, Urllib3Error, OSError)
DEFAULT_FORMATS = ["pdf", "jpeg", "png"]


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


def refused(exc: checks.Refused) -> Problem:
    """An upload's refusal as a 413, 415 or 422 problem naming the reason."""
    status = {"too-large": 413, "unsupported-type": 415}.get(exc.reason, 422)
    return Problem(status, detail=exc.messages, reason=exc.reason)


async def limits_for(
    db: Db, settings: Settings, *, service: str | None, requirement: str | None
) -> tuple[int, list[str]]:
    """The byte limit and formats of a requirement (from the catalog), or the defaults."""
    found = await store.limits(db, service, requirement) if service and requirement else None
    megabytes = found["max_size_mb"] if found else settings.default_max_upload_mb
    return megabytes * 1024 * 1024, (found["formats"] if found else DEFAULT_FORMATS)


def _event(kind: str, document_id: str, data: Any) -> Event:
    return new_event(
        type=f"documents.document.{kind}.v1", source=SOURCE, subject=document_id, data=data
    )


def _uploaded(document: Document) -> Event:
    return _event(
        "uploaded",
        document["_id"],
        DocumentUploaded(
            document_id=document["_id"],
            owner=document["owner"],
            content_type=document["content_type"],
            size=document["size"],
            sha256=document["sha256"],
            requirement=document.get("requirement"),
        ),
    )


async def put(s3: Minio, bucket: str, key: str, content: bytes, content_type: str) -> None:
    try:
        await asyncio.to_thread(
            s3.put_object, bucket, key, io.BytesIO(content), len(content), content_type
        )
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc


async def remove(s3: Minio, bucket: str, key: str) -> None:
    try:
        await asyncio.to_thread(s3.remove_object, bucket, key)
    except S3_ERRORS as exc:
        log.warning("could not remove %s: %s", key, exc)


async def inspect(data: bytes, *, formats: list[str], max_bytes: int) -> checks.Checked:
    """The checks, off the event loop: decoding and re-encoding images is CPU work."""
    return await asyncio.to_thread(checks.inspect, data, formats=formats, max_bytes=max_bytes)


# --- uploads ------------------------------------------------------------------------------------


async def upload(
    db: Db,
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
    existing = await store.find(db, document_id)
    if existing is not None:
        return existing, False
    max_bytes, formats = await limits_for(db, settings, service=service, requirement=requirement)
    try:
        checked = await inspect(data, formats=formats, max_bytes=max_bytes)
    except checks.Refused as exc:
        raise refused(exc) from None
    key = f"documents/{caller.subject}/{document_id}"
    await put(s3, settings.bucket_name, key, checked.content, checked.content_type)
    now = _now()
    document: Document = {
        "_id": document_id,
        "owner": caller.subject,
        "status": "available",
        "filename": checks.safe_filename(filename),
        "service": service,
        "requirement": requirement,
        "content_type": checked.content_type,
        "size": checked.size,
        "sha256": checked.sha256,
        "object_key": key,
        "attached": False,
        "applications": [],
        "agencies": [],
        "created_at": now,
        "updated_at": now,
    }
    try:
        inserted = await store.insert(db, document, [_uploaded(document)])
    except BaseException:
        await remove(s3, settings.bucket_name, key)  # no blob without its metadata
        raise
    if not inserted:
        found = await store.find(db, document_id)
        assert found is not None
        return found, False
    return document | {"version": 1}, True


async def start_upload(
    db: Db,
    s3: Minio,
    *,
    settings: Settings,
    caller: Principal,
    filename: str | None,
    size: int,
    service: str | None,
    requirement: str | None,
    idempotency_key: str | None,
) -> tuple[Document, str]:
    """A pending document and a presigned URL to PUT its content to S3 directly."""
    max_bytes, _ = await limits_for(db, settings, service=service, requirement=requirement)
    if size > max_bytes:
        raise refused(checks.too_large(max_bytes))
    document_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:documents", key=idempotency_key
    )
    now = _now()
    document: Document = {
        "_id": document_id,
        "owner": caller.subject,
        "status": "pending",
        "filename": checks.safe_filename(filename),
        "service": service,
        "requirement": requirement,
        "declared_size": size,
        "upload_key": f"uploads/{caller.subject}/{document_id}",
        "object_key": None,
        "attached": False,
        "applications": [],
        "agencies": [],
        "created_at": now,
        "updated_at": now,
    }
    if not await store.insert(db, document, []):
        found = await store.find(db, document_id)
        assert found is not None
        document = found
    url = await presigned(
        s3,
        settings,
        "PUT",
        document["upload_key"],
        dt.timedelta(minutes=settings.upload_url_minutes),
    )
    return document, url


async def finish_upload(
    db: Db, s3: Minio, *, settings: Settings, caller: Principal, document_id: str
) -> Document:
    """Check what was PUT to S3: the document becomes available or rejected (retry-safe)."""
    document = await visible(db, caller=caller, document_id=document_id, owner_only=True)
    if document["status"] != "pending":
        return document  # finished already: the same answer again
    try:
        response = await asyncio.to_thread(
            s3.get_object, settings.bucket_name, document["upload_key"]
        )
        try:
            data = response.read()
        finally:
            response.close()
            response.release_conn()
    except MinioException as exc:
        if getattr(exc, "code", "") == "NoSuchKey":
            raise Problem(
                409,
                "conflict",
                detail={
                    "id": "Isi berkas belum diunggah ke alamat yang diberikan.",
                    "en": "The content has not been uploaded to the given URL yet.",
                },
                reason="content-missing",
            ) from None
        raise s3_unavailable() from exc
    except S3_ERRORS as exc:
        raise s3_unavailable() from exc
    max_bytes, formats = await limits_for(
        db, settings, service=document.get("service"), requirement=document.get("requirement")
    )
    try:
        if len(data) != document["declared_size"]:
            raise checks.Refused(
                "truncated",
                "Ukuran berkas tidak sesuai dengan yang diumumkan (terpotong?). Unggah ulang.",
                "The file's size differs from the size announced (cut off?). Upload again.",
            )
        checked = await inspect(data, formats=formats, max_bytes=max_bytes)
    except checks.Refused as exc:
        await remove(s3, settings.bucket_name, document["upload_key"])
        rejected = await _settle(
            db,
            document,
            {"status": "rejected", "reason": exc.messages["en"], "reason_id": exc.messages["id"]},
            [
                _event(
                    "rejected",
                    document_id,
                    DocumentRejected(
                        document_id=document_id, owner=document["owner"], reason=exc.messages["en"]
                    ),
                )
            ],
        )
        return rejected
    key = f"documents/{document['owner']}/{document_id}"
    await put(s3, settings.bucket_name, key, checked.content, checked.content_type)
    await remove(s3, settings.bucket_name, document["upload_key"])
    fields = {
        "status": "available",
        "object_key": key,
        "content_type": checked.content_type,
        "size": checked.size,
        "sha256": checked.sha256,
    }
    return await _settle(db, document, fields, [_uploaded(document | fields)])


async def _settle(db: Db, document: Document, fields: Document, events: list[Event]) -> Document:
    try:
        return await store.change(
            db,
            document_id=document["_id"],
            expected_version=document["version"],
            fields=fields | {"updated_at": _now()},
            new_events=events,
        )
    except VersionConflict:
        found = await store.find(db, document["_id"])  # a concurrent finish won: its answer
        assert found is not None
        return found


# --- access -------------------------------------------------------------------------------------


def may_read(caller: Principal, document: Document) -> bool:
    """The owner, and officers of an agency handling an application that references it."""
    if caller.role == "citizen":
        return bool(document["owner"] == caller.subject)
    return caller.role in ("officer", "agency_admin") and caller.agency in document["agencies"]


async def visible(
    db: Db, *, caller: Principal, document_id: str, owner_only: bool = False
) -> Document:
    """A document the caller may see (or change, `owner_only`), else a 404."""
    document = await store.find(db, document_id)
    allowed = (
        document is not None
        and document["status"] != "deleted"
        and (document["owner"] == caller.subject if owner_only else may_read(caller, document))
    )
    if not allowed:
        raise Problem(404, "not-found")
    assert document is not None
    return document


async def record_access(db: Db, *, caller: Principal, document: Document, action: str) -> None:
    """Log who accessed which document, how and when."""
    await store.log_access(
        db,
        {
            "_id": new_id(),
            "document_id": document["_id"],
            "owner": document["owner"],
            "actor": caller.subject,
            "actor_role": caller.role,
            "actor_agency": caller.agency,
            "action": action,
            "at": _now(),
        },
    )


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


async def download_url(
    db: Db, s3: Minio, *, settings: Settings, caller: Principal, document_id: str
) -> tuple[str, int]:
    """A short-lived URL to the content, for those who may read it; the access is logged."""
    document = await visible(db, caller=caller, document_id=document_id)
    if document["status"] != "available":
        raise Problem(
            409,
            "conflict",
            detail={"id": "Dokumen belum tersedia.", "en": "The document is not available."},
            reason=f"document-{document['status']}",
        )
    url = await presigned(
        s3,
        settings,
        "GET",
        document["object_key"],
        dt.timedelta(seconds=settings.download_url_seconds),
    )
    await record_access(db, caller=caller, document=document, action="download")
    return url, settings.download_url_seconds


async def delete(
    db: Db, s3: Minio, *, settings: Settings, caller: Principal, document_id: str
) -> None:
    """The owner removes a document no submitted application refers to."""
    document = await visible(db, caller=caller, document_id=document_id, owner_only=True)
    if document["attached"]:
        raise Problem(
            409,
            "conflict",
            detail={
                "id": "Dokumen ini dilampirkan pada permohonan yang sudah diajukan.",
                "en": "This document is attached to a submitted application.",
            },
            reason="document-attached",
        )
    await _erase(db, s3, settings=settings, document=document)


async def _erase(db: Db, s3: Minio, *, settings: Settings, document: Document) -> None:
    for key in (document.get("object_key"), document.get("upload_key")):
        if key:
            await remove(s3, settings.bucket_name, key)
    deleted = DocumentDeleted(document_id=document["_id"], owner=document["owner"])
    await _settle(
        db, document, {"status": "deleted"}, [_event("deleted", document["_id"], deleted)]
    )


async def clean_unattached(db: Db, s3: Minio, *, settings: Settings, now: dt.datetime) -> int:
    """Remove the uploads never attached within `unattached_hours`; returns how many."""
    old = await store.unattached_before(db, now - dt.timedelta(hours=settings.unattached_hours))
    for document in old:
        await _erase(db, s3, settings=settings, document=document)
    return len(old)


async def attach(db: Db, *, document_ids: list[str], application_id: str, agency: str) -> None:
    """Documents referenced by a submitted application: kept, and readable by its agency."""
    for document_id in document_ids:
        await db[store.DOCUMENTS].update_one(
            {"_id": document_id},
            {
                "$set": {"attached": True},
                "$addToSet": {"applications": application_id, "agencies": agency},
            },
        )
