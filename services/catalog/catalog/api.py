"""The catalog's routes, under /api/v1/catalog: public reads, administrators' writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from catalog import service
from catalog.models import (
    CATEGORY_LABELS,
    Agency,
    AgencyInput,
    AgencyKind,
    Category,
    CategoryView,
    Channel,
    Service,
    ServiceInput,
    ServiceSummary,
)
from catalog.search_cache import SearchCache
from catalog.settings import Settings
from mpp_shared import etags, pagination
from mpp_shared.auth import Principal, require
from mpp_shared.etags import IfMatch, IfNoneMatch
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.problems import Problem
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

Admin = Annotated[Principal, require("mpp_admin", "agency_admin")]


def _may_edit(caller: Principal, agency: str) -> None:
    if not caller.is_staff_of(agency) or caller.role == "officer":
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": "Anda hanya dapat mengubah layanan instansi Anda.",
                "en": "You may only change your own agency's services.",
            },
        )


async def _agency_missing(rt: RuntimeDep, code: str) -> bool:
    return not await service.agency_exists(rt.engine, code=code)


def _search(request: Request) -> SearchCache:
    cache: SearchCache = request.app.state.search
    return cache


@router.get("/categories")
async def list_categories(rt: RuntimeDep, request: Request) -> list[CategoryView]:
    """List the service categories with their labels and how many published services each has."""
    counts = await _search(request).category_counts(rt.engine)
    return [
        CategoryView(code=code, label=label, services=counts.get(code, 0))
        for code, label in CATEGORY_LABELS.items()
    ]


@router.get("/agencies")
async def list_agencies(
    rt: RuntimeDep,
    kind: AgencyKind | None = None,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> pagination.Page[Agency]:
    """List the agencies serving at the mall."""
    return await service.list_agencies(rt.engine, kind=kind, cursor=cursor, limit=limit)


@router.get("/agencies/{code}")
async def get_agency(rt: RuntimeDep, code: str, response: Response) -> Agency:
    """Show one agency with its counters and opening hours."""
    agency = await service.get_agency(rt.engine, code=code)
    response.headers["ETag"] = f'"{agency.version}"'
    return agency


@router.put("/agencies/{code}")
async def put_agency(
    rt: RuntimeDep,
    request: Request,
    code: str,
    data: AgencyInput,
    caller: Admin,
    response: Response,
    if_match: IfMatch = None,
) -> Agency:
    """Create or replace an agency (MPP administrators; agency administrators their own)."""
    if caller.role != "mpp_admin" and (caller.agency != code or await _agency_missing(rt, code)):
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": "Anda hanya dapat mengubah instansi Anda sendiri.",
                "en": "You may only change your own agency.",
            },
        )
    if data.code != code:
        raise Problem(
            422,
            "validation",
            errors=[
                {
                    "field": "code",
                    "in": "body",
                    "message": {
                        "id": "Kode di badan permintaan harus sama dengan kode di alamat.",
                        "en": "The code in the body must match the code in the path.",
                    },
                }
            ],
        )
    agency, created = await service.put_agency(
        rt.engine, data=data, if_match=etags.edit_version(if_match)
    )
    _search(request).changed()
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{agency.version}"'
    return agency


@router.get("/services")
async def list_services(
    rt: RuntimeDep,
    request: Request,
    q: Annotated[
        str | None, Query(max_length=200, description="Words as a citizen would type them")
    ] = None,
    agency: str | None = None,
    category: Category | None = None,
    channel: Channel | None = None,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> pagination.Page[ServiceSummary]:
    """Find published services: by words (best match first, with why) or by filters."""
    filters = {"agency": agency, "category": category, "channel": channel}
    if q and q.strip():
        return await _search(request).page(
            rt.engine, query=q, filters=filters, limit=limit, cursor=cursor
        )
    return await _search(request).listing(rt.engine, filters=filters, limit=limit, cursor=cursor)


@router.get("/popular")
async def popular_services(
    rt: RuntimeDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> list[ServiceSummary]:
    """What the home shows first: the published services with the most applications in the
    last days (`popular_days`), then the mall's featured ones (`featured_services`)."""
    settings: Settings = rt.settings  # type: ignore[assignment]
    response.headers["Cache-Control"] = "public, max-age=300"
    return await _search(request).popular(
        rt.engine,
        days=settings.popular_days,
        featured=settings.featured_services,
        limit=limit,
    )


@router.get("/services/{id_or_slug}", response_model=Service)
async def get_service(
    rt: RuntimeDep,
    id_or_slug: str,
    request: Request,
    response: Response,
    version: Annotated[int | None, Query(ge=1, description="An earlier published version")] = None,
    if_none_match: IfNoneMatch = None,
) -> Service | Response:
    """Show a published service with its full service standard, form and workflow."""
    found: Service | Response
    cached = await _search(request).published_page(rt.engine, id_or_slug) if not version else None
    if cached is not None:  # the current version, as JSON made once per publication
        current, body = cached
        found, etag = (
            Response(body, media_type="application/json"),
            f'"{current.id}.v{current.version}"',
        )
    else:  # an earlier version, or a slug the service had before
        found, etag = await service.get_published(rt.engine, id_or_slug=id_or_slug, version=version)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    (found.headers if isinstance(found, Response) else response.headers).update(headers)
    return found


@router.get("/services/{id_or_slug}/draft")
async def get_draft(rt: RuntimeDep, id_or_slug: str, caller: Admin, response: Response) -> Service:
    """Show the draft administrators edit (the published content when there is no draft)."""
    found, edit_version = await service.get_draft(rt.engine, id_or_slug=id_or_slug)
    _may_edit(caller, found.agency)
    response.headers["ETag"] = f'"{edit_version}"'
    return found


@router.post("/services", status_code=201)
async def create_service(
    rt: RuntimeDep,
    data: ServiceInput,
    caller: Admin,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Service:
    """Create a service as a draft (Idempotency-Key honoured)."""
    _may_edit(caller, data.agency)
    created, edit_version, new = await service.create_service(
        rt.engine,
        data=data,
        scope=f"{caller.subject}:catalog.services",
        idempotency_key=idempotency_key,
    )
    response.status_code = 201 if new else 200
    response.headers["ETag"] = f'"{edit_version}"'
    response.headers["Location"] = f"/api/v1/catalog/services/{created.id}/draft"
    return created


@router.put("/services/{id_or_slug}/draft")
async def update_draft(
    rt: RuntimeDep,
    id_or_slug: str,
    data: ServiceInput,
    caller: Admin,
    response: Response,
    if_match: IfMatch = None,
) -> Service:
    """Replace a service's draft (send If-Match with the draft's ETag)."""
    current, _ = await service.get_draft(rt.engine, id_or_slug=id_or_slug)
    _may_edit(caller, current.agency)
    _may_edit(caller, data.agency)
    updated, edit_version = await service.update_draft(
        rt.engine, id_or_slug=id_or_slug, data=data, if_match=etags.edit_version(if_match)
    )
    response.headers["ETag"] = f'"{edit_version}"'
    return updated


@router.post("/services/{id_or_slug}/publish")
async def publish(
    rt: RuntimeDep, request: Request, id_or_slug: str, caller: Admin, if_match: IfMatch = None
) -> Service:
    """Publish the draft as the next version, after the publishing checks."""
    current, _ = await service.get_draft(rt.engine, id_or_slug=id_or_slug)
    _may_edit(caller, current.agency)
    published = await service.publish(
        rt.engine, id_or_slug=id_or_slug, if_match=etags.edit_version(if_match)
    )
    _search(request).changed()
    return published


@router.post("/services/{id_or_slug}/withdraw")
async def withdraw(
    rt: RuntimeDep, request: Request, id_or_slug: str, caller: Admin, if_match: IfMatch = None
) -> Service:
    """Withdraw a published service: no new applications; its versions stay readable."""
    current, _ = await service.get_draft(rt.engine, id_or_slug=id_or_slug)
    _may_edit(caller, current.agency)
    withdrawn = await service.withdraw(
        rt.engine, id_or_slug=id_or_slug, if_match=etags.edit_version(if_match)
    )
    _search(request).changed()
    return withdrawn
