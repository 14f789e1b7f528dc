"""Routes of documents: uploads (through the API, or a presigned form straight to S3), private
access, deletion; issued outputs and their public verification."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from minio import Minio
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from documents import checks, issuing, pages, service
from documents.models import (
    AccessLine,
    DocumentView,
    FileCheck,
    Link,
    NewPin,
    NewPinInput,
    OutputView,
    PinInput,
    RevokeInput,
    UploadStart,
    UploadTicket,
    Verification,
)
from documents.outputs.store import Output
from documents.settings import Settings
from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal, Principal, require
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.problems import Problem
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["documents"])
Citizen = Annotated[Principal, require("citizen")]
# Multipart overhead allowed beyond the file itself (boundaries, part headers, small fields).
FORM_OVERHEAD = 64 * 1024
LARGEST = 50 * 1024 * 1024


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _s3(request: Request) -> Minio:
    s3: Minio = request.app.state.s3
    return s3


class _TooLarge(Exception):
    pass


async def _form_within(request: Request, max_bytes: int, max_files: int = 1) -> Any:
    """The multipart form, read no further than `max_bytes` (chunked bodies included)."""
    received = 0
    original = request.receive

    async def receive() -> Any:
        nonlocal received
        message = await original()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise _TooLarge
        return message

    limited = Request(request.scope, receive)
    return await limited.form(max_files=max_files, max_fields=5)


@router.post("/documents", status_code=201)
async def upload(
    rt: RuntimeDep,
    request: Request,
    response: Response,
    caller: Citizen,
    idempotency_key: IdempotencyKey = None,
) -> DocumentView:
    """Upload a document (multipart: `file`, optional `service` and `requirement`)."""
    settings, s3 = _settings(request), _s3(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > LARGEST + FORM_OVERHEAD:
        raise service.refused(checks.too_large(LARGEST))
    try:
        form = await _form_within(request, LARGEST + FORM_OVERHEAD)
    except _TooLarge:
        raise service.refused(checks.too_large(LARGEST)) from None
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise Problem(
            422,
            "validation",
            errors=[
                {
                    "field": "file",
                    "in": "body",
                    "message": {"id": "Wajib diisi.", "en": "Field required"},
                }
            ],
        )
    data = await file.read()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    document, created = await service.upload(
        rt.engine,
        s3,
        settings=settings,
        caller=caller,
        data=data,
        filename=file.filename,
        service=fields.get("service") or None,
        requirement=fields.get("requirement") or None,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/documents/{document.id}"
    return DocumentView.of(document)


@router.post(
    "/documents/pages",
    status_code=201,
    responses={
        413: {"description": "The pages, or the PDF they make, are over the limit (`too-large`)"},
        415: {
            "description": "A page is not a photo, or the requirement takes no PDF "
            "(`unsupported-type`; `page` names the page, from 1)"
        },
        422: {"description": "A page is cut off or too large in pixels, or too many pages"},
    },
)
async def upload_pages(
    rt: RuntimeDep,
    request: Request,
    response: Response,
    caller: Citizen,
    idempotency_key: IdempotencyKey = None,
) -> DocumentView:
    """Upload the photos of one document's pages (multipart: `pages`, one part a page in order;
    optional `filename`, `service`, `requirement`): kept as one PDF."""
    settings, s3 = _settings(request), _s3(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > LARGEST + FORM_OVERHEAD:
        raise service.refused(checks.too_large(LARGEST))
    try:
        form = await _form_within(request, LARGEST + FORM_OVERHEAD, pages.MAX_PAGES)
    except _TooLarge:
        raise service.refused(checks.too_large(LARGEST)) from None
    except HTTPException as exc:  # how Starlette refuses a form of too many files
        if exc.status_code == 400 and str(exc.detail).startswith("Too many files"):
            raise service.refused(pages.too_many_pages()) from None
        raise
    files = [part for part in form.getlist("pages") if isinstance(part, UploadFile)]
    if not files:
        raise Problem(
            422,
            "validation",
            errors=[
                {
                    "field": "pages",
                    "in": "body",
                    "message": {"id": "Wajib diisi.", "en": "Field required"},
                }
            ],
        )
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    document, created = await service.upload_pages(
        rt.engine,
        s3,
        settings=settings,
        caller=caller,
        pages=[await part.read() for part in files],
        filename=fields.get("filename") or None,
        service=fields.get("service") or None,
        requirement=fields.get("requirement") or None,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/documents/{document.id}"
    return DocumentView.of(document)


@router.post(
    "/documents/uploads",
    status_code=201,
    responses={413: {"description": "The announced size is over the requirement's limit"}},
)
async def start_upload(
    rt: RuntimeDep,
    request: Request,
    caller: Citizen,
    start: UploadStart,
    idempotency_key: IdempotencyKey = None,
) -> UploadTicket:
    """Get a presigned form to POST the content, of exactly the announced size, straight to
    storage; then call finalize."""
    settings = _settings(request)
    document, form = await service.start_upload(
        rt.engine,
        _s3(request),
        settings=settings,
        caller=caller,
        filename=start.filename,
        size=start.size,
        service=start.service,
        requirement=start.requirement,
        idempotency_key=idempotency_key,
    )
    return UploadTicket(
        document=DocumentView.of(document),
        upload_url=form.url,
        fields=form.fields,
        expires_in=settings.upload_url_minutes * 60,
        finalize_url=f"/api/v1/documents/{document.id}/finalize",
    )


@router.post(
    "/documents/{document_id}/finalize",
    responses={
        409: {"description": "Nothing uploaded yet (`content-missing`), or replaced meanwhile"},
        413: {"description": "The stored file is over the limit (`too-large`); it is removed"},
        422: {
            "description": "The stored file is not the size announced (`size-mismatch`); it is "
            "removed and the same form may send the right one"
        },
    },
)
async def finalize(
    rt: RuntimeDep, request: Request, caller: Citizen, document_id: str
) -> DocumentView:
    """Check the content sent to storage: the document becomes available or rejected."""
    document = await service.finish_upload(
        rt.engine, _s3(request), settings=_settings(request), caller=caller, document_id=document_id
    )
    return DocumentView.of(document)


@router.get("/documents")
async def my_documents(
    rt: RuntimeDep,
    caller: Citizen,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> pagination.Page[DocumentView]:
    """The citizen's documents, newest first."""
    found = await service.of_owner(rt.engine, caller=caller, cursor=cursor, limit=limit)
    return pagination.keyset_page(
        [DocumentView.of(d) for d in found], limit=limit, key=lambda d: (d.created_at, d.id)
    )


@router.get("/documents/outputs")
async def output_of_application(
    rt: RuntimeDep,
    request: Request,
    caller: CurrentPrincipal,
    application_id: Annotated[str, Query()],
) -> OutputView:
    """The output issued for an application (its holder or the issuing agency's staff)."""
    output = await issuing.holder_view(rt.engine, caller=caller, application_id=application_id)
    return _output_view(_settings(request), output)


def _output_view(settings: Settings, output: Output) -> OutputView:
    return OutputView.model_validate(
        output.model_dump() | {"verify_url": issuing.verify_url(settings, output.verification_code)}
    )


@router.get(
    "/documents/outputs/{output_id}/content",
    response_model=None,
    responses={
        200: {"model": Link, "description": "The link (`redirect=false`)"},
        307: {"description": "A redirect to the PDF"},
    },
)
async def output_content(
    rt: RuntimeDep,
    request: Request,
    caller: CurrentPrincipal,
    output_id: str,
    redirect: bool = True,
) -> RedirectResponse | Link:
    """The issued document, for its signed-in holder (or the issuing agency's staff), without a
    PIN: a redirect to a link valid for a minute (or the link, `redirect=false`)."""
    url, expires_in = await issuing.holder_download(
        rt.engine, _s3(request), settings=_settings(request), caller=caller, output_id=output_id
    )
    if redirect:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    return Link(url=url, expires_in=expires_in)


@router.post("/documents/outputs/{output_id}/pin")
async def new_pin(
    rt: RuntimeDep,
    request: Request,
    caller: Citizen,
    output_id: str,
    body: NewPinInput | None = None,
) -> NewPin:
    """A new PIN for the holder, also sent to them, to give to someone without the app. The PIN
    sent just before keeps working unless `revoke_previous`; older ones stop."""
    revoke_previous = body.revoke_previous if body else False
    pin = await issuing.new_pin(
        rt.engine,
        settings=_settings(request),
        pins=request.app.state.pins,
        caller=caller,
        output_id=output_id,
        revoke_previous=revoke_previous,
    )
    return NewPin(pin=pin, previous_still_valid=not revoke_previous)


@router.post("/documents/outputs/{output_id}/revoke")
async def revoke(
    rt: RuntimeDep, request: Request, caller: CurrentPrincipal, output_id: str, body: RevokeInput
) -> OutputView:
    """Revoke an issued output (its agency's staff); the verification page says so."""
    output = await issuing.revoke(rt.engine, caller=caller, output_id=output_id, reason=body.reason)
    return _output_view(_settings(request), output)


@router.get("/documents/{document_id}")
async def read(rt: RuntimeDep, caller: CurrentPrincipal, document_id: str) -> DocumentView:
    """A document's metadata (its owner, and officers of an agency handling it)."""
    document = await service.visible(rt.engine, caller=caller, document_id=document_id)
    await service.record_access(rt.engine, caller=caller, document=document, action="metadata")
    return DocumentView.of(document)


@router.get("/documents/{document_id}/content", response_model=None)
async def content(
    rt: RuntimeDep,
    request: Request,
    caller: CurrentPrincipal,
    document_id: str,
    redirect: bool = True,
) -> RedirectResponse | Link:
    """The content: a redirect to a link valid for a minute (or the link, `redirect=false`)."""
    url, expires_in = await service.download_url(
        rt.engine, _s3(request), settings=_settings(request), caller=caller, document_id=document_id
    )
    if redirect:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    return Link(url=url, expires_in=expires_in)


@router.get("/documents/{document_id}/access-log")
async def access_log(rt: RuntimeDep, caller: Citizen, document_id: str) -> list[AccessLine]:
    """Who accessed one's document, how and when."""
    lines = await service.access_log(rt.engine, caller=caller, document_id=document_id)
    return [AccessLine.model_validate(line.model_dump()) for line in lines]


@router.delete("/documents/{document_id}", status_code=204)
async def delete(rt: RuntimeDep, request: Request, caller: Citizen, document_id: str) -> Response:
    """Delete one's document, unless a submitted application refers to it."""
    await service.delete(
        rt.engine, _s3(request), settings=_settings(request), caller=caller, document_id=document_id
    )
    return Response(status_code=204)


@router.get("/verify/{code}", tags=["verification"])
async def verify(rt: RuntimeDep, code: str) -> Verification:
    """Public: is the document with this code authentic, valid or revoked (names masked)."""
    output = await issuing.by_code(rt.engine, code)
    return issuing.public_view(output, now=dt.datetime.now(dt.UTC))


@router.post("/verify/{code}/check", tags=["verification"])
async def check(rt: RuntimeDep, request: Request, code: str) -> FileCheck:
    """Public: is this PDF (multipart `file`) exactly the document issued under the code."""
    output = await issuing.by_code(rt.engine, code)
    try:
        form = await _form_within(request, 20 * 1024 * 1024)
    except _TooLarge:
        raise service.refused(checks.too_large(20 * 1024 * 1024)) from None
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise Problem(422, "validation")
    return issuing.check_file(_settings(request), output, await file.read())


@router.post("/verify/{code}/download", tags=["verification"])
async def download(rt: RuntimeDep, request: Request, code: str, body: PinInput) -> Link:
    """Public: the document itself, for whoever has its PIN (a few wrong PINs lock it)."""
    output = await issuing.by_code(rt.engine, code)
    settings = _settings(request)
    url, expires_in = await issuing.unlock(
        rt.engine,
        _s3(request),
        settings=settings,
        output=output,
        pin=body.pin,
        client=issuing.client_key(settings, _client_address(request)),
    )
    return Link(url=url, expires_in=expires_in)


def _client_address(request: Request) -> str:
    """The caller's address: the last the gateway put in X-Forwarded-For (it appends the address
    it took the call from, after its own trusted-proxy handling), else the connection's."""
    forwarded = request.headers.get("x-forwarded-for", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or (request.client.host if request.client else "unknown")
