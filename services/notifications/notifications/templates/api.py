"""Routes of message templates, for MPP administrators: list, read, save new versions, preview.

Saving follows the catalog's optimistic locking: GET answers `ETag: "<version>"`; a PUT that
changes an existing template must send it back as `If-Match` (428 without it, 412 when another
version was saved since). The first version of a template needs no `If-Match`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mpp_shared import db, etags
from mpp_shared.auth import Principal, require
from mpp_shared.etags import IfMatch
from mpp_shared.web import RuntimeDep
from notifications.templates import service
from notifications.templates.models import (
    Channel,
    Language,
    Preview,
    PreviewInput,
    Template,
    TemplateInput,
)

router = APIRouter(prefix="/api/v1/notifications/templates", tags=["templates"])

Admin = Annotated[Principal, require("mpp_admin")]


@router.get("")
async def list_templates(
    rt: RuntimeDep,
    caller: Admin,
    event_type: str | None = None,
    channel: Channel | None = None,
) -> list[Template]:
    """List the current templates, optionally of one event type or channel."""
    async with rt.engine.connect() as connection:
        return await service.list_templates(connection, event_type=event_type, channel=channel)


@router.post("/preview")
async def preview(rt: RuntimeDep, caller: Admin, data: PreviewInput) -> Preview:
    """Render a template (given text, or the current one) with a sample context."""
    async with rt.engine.connect() as connection:
        return await service.preview(connection, data=data)


@router.get("/{event_type}/{channel}/{language}")
async def get_template(
    rt: RuntimeDep,
    caller: Admin,
    event_type: str,
    channel: Channel,
    language: Language,
    response: Response,
) -> Template:
    """Show the current version of a template; its ETag is the version."""
    async with rt.engine.connect() as connection:
        found = await service.get(
            connection, event_type=event_type, channel=channel, language=language
        )
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.put("/{event_type}/{channel}/{language}")
async def put_template(
    rt: RuntimeDep,
    caller: Admin,
    event_type: str,
    channel: Channel,
    language: Language,
    data: TemplateInput,
    response: Response,
    if_match: IfMatch = None,
) -> Template:
    """Save a new version of a template (send If-Match with the ETag of the version edited)."""
    async with db.transaction(rt.engine) as connection:
        saved, created = await service.save(
            connection,
            event_type=event_type,
            channel=channel,
            language=language,
            data=data,
            if_match=etags.edit_version(if_match),
            author=caller.subject,
        )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{saved.version}"'
    return saved


@router.get("/{event_type}/{channel}/{language}/versions")
async def list_versions(
    rt: RuntimeDep,
    caller: Admin,
    event_type: str,
    channel: Channel,
    language: Language,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[Template]:
    """List a template's versions, newest first."""
    async with rt.engine.connect() as connection:
        return await service.versions(
            connection, event_type=event_type, channel=channel, language=language, limit=limit
        )
