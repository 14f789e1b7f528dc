"""Routes of notifications: the citizen's inbox and preferences, Web Push subscriptions,
providers' delivery receipts, the command center's delivery figures, and the sandbox's failure
switch for developers and tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mpp_shared import db, pagination
from mpp_shared.auth import Principal, require
from mpp_shared.problems import Problem, field_errors
from mpp_shared.web import RuntimeDep
from notifications import figures, messages, providers, store
from notifications.contacts import store as contacts
from notifications.models import DEFAULT_CHANNELS, InboxItem, Preferences
from notifications.settings import Settings

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Citizen = Annotated[Principal, require("citizen")]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", "ops_viewer")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class Inbox(pagination.Page[InboxItem]):
    """One page of the inbox, and how many are unread in all."""

    unread: int


@router.get("")
async def inbox(
    rt: RuntimeDep,
    caller: Citizen,
    unread_only: Annotated[bool, Query(alias="unread")] = False,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> Inbox:
    """The citizen's inbox, newest first."""
    async with rt.engine.connect() as connection:
        found = await store.inbox_page(
            connection,
            citizen_id=caller.subject,
            unread_only=unread_only,
            cursor=cursor,
            limit=limit,
        )
        unread = await store.unread_count(connection, caller.subject)
    items = [InboxItem.model_validate(m.model_dump()) for m in found]
    page = pagination.keyset_page(items, limit=limit, key=lambda i: (i.created_at, i.id))
    return Inbox(items=page.items, next_cursor=page.next_cursor, unread=unread)


@router.get("/unread-count")
async def unread_count(rt: RuntimeDep, caller: Citizen) -> dict[str, int]:
    """How many inbox messages are unread (for the app's badge)."""
    async with rt.engine.connect() as connection:
        return {"unread": await store.unread_count(connection, caller.subject)}


@router.post("/{message_id}/read", status_code=204)
async def mark_read(rt: RuntimeDep, caller: Citizen, message_id: str) -> Response:
    """Mark one inbox message read (again is fine)."""
    async with db.transaction(rt.engine) as connection:
        marked = await store.mark_read(
            connection,
            citizen_id=caller.subject,
            message_id=message_id,
            now=dt.datetime.now(dt.UTC),
        )
    if not marked:
        raise Problem(404, "not-found")
    return Response(status_code=204)


@router.get("/preferences")
async def get_preferences(rt: RuntimeDep, caller: Citizen) -> Preferences:
    """The channels the citizen wants and their quiet hours."""
    async with rt.engine.connect() as connection:
        return await contacts.find_preferences(connection, caller.subject)


@router.put("/preferences")
async def put_preferences(rt: RuntimeDep, caller: Citizen, chosen: Preferences) -> Preferences:
    """Choose channels (the inbox is always on) and quiet hours."""
    unknown = set(chosen.channels) - set(DEFAULT_CHANNELS)
    if unknown:
        raise Problem(
            422,
            "validation",
            errors=[
                {
                    "field": f"channels.{name}",
                    "in": "body",
                    "message": {"id": "Kanal tidak dikenal.", "en": "Unknown channel."},
                }
                for name in sorted(unknown)
            ],
        )
    async with db.transaction(rt.engine) as connection:
        await contacts.save_preferences(
            connection, caller.subject, chosen, now=dt.datetime.now(dt.UTC)
        )
        return await contacts.find_preferences(connection, caller.subject)


class PushSubscription(BaseModel):
    """A browser's push subscription (PushSubscription.toJSON())."""

    model_config = ConfigDict(extra="ignore")
    endpoint: Annotated[str, Field(pattern=r"^https://", max_length=2000)]
    keys: dict[str, str]


@router.get("/push/key")
async def push_key(request: Request) -> dict[str, str]:
    """The VAPID public key the citizen app subscribes with."""
    return {"public_key": providers.vapid_public_key(_settings(request))}


@router.post(
    "/push/subscriptions",
    status_code=201,
    responses={409: {"description": "The browser's endpoint is another citizen's subscription"}},
)
async def subscribe(
    rt: RuntimeDep, caller: Citizen, subscription: PushSubscription
) -> dict[str, str]:
    """Receive push messages on this browser (again is fine; another citizen's browser: 409)."""
    if not {"p256dh", "auth"} <= set(subscription.keys):
        raise Problem(422, "validation")
    text = json.dumps(subscription.model_dump(), sort_keys=True)
    subscription_id = hashlib.sha256(subscription.endpoint.encode()).hexdigest()[:32]
    async with db.transaction(rt.engine) as connection:
        kept = await store.save_push(
            connection,
            subscription_id=subscription_id,
            citizen_id=caller.subject,
            subscription=text,
        )
    if not kept:
        # Never moved: whoever learnt a browser's endpoint would otherwise receive its owner's
        # messages. The owner unsubscribes first (signing out of a shared browser).
        raise Problem(
            409,
            "conflict",
            detail={
                "id": "Browser ini sudah menerima notifikasi untuk akun lain.",
                "en": "This browser already receives notifications for another account.",
            },
        )
    return {"id": subscription_id}


@router.delete("/push/subscriptions/{subscription_id}", status_code=204)
async def unsubscribe(rt: RuntimeDep, caller: Citizen, subscription_id: str) -> Response:
    """Stop push messages on a browser."""
    async with db.transaction(rt.engine) as connection:
        await store.delete_push(
            connection, subscription_id=subscription_id, citizen_id=caller.subject
        )
    return Response(status_code=204)


@router.get("/ops/deliveries")
async def deliveries(rt: RuntimeDep, caller: Staff) -> figures.DeliveryFigures:
    """Messages created today and in the last 24 hours, per channel and status (staff)."""
    async with rt.engine.connect() as connection:
        return await figures.delivery_figures(
            connection, now=dt.datetime.now(dt.UTC), zone=messages.ZONE
        )


RECEIPT_MAX_BYTES = 1024 * 1024  # Infobip sends up to 100 results a report


class InfobipStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")
    groupName: str = ""  # noqa: N815 (Infobip's name)


class InfobipResult(BaseModel):
    model_config = ConfigDict(extra="ignore")
    callbackData: str | int | None = None  # noqa: N815
    status: InfobipStatus = InfobipStatus()


class InfobipReport(BaseModel):
    """What Infobip's delivery report holds that the platform reads."""

    model_config = ConfigDict(extra="ignore")
    results: list[InfobipResult] = []


@router.post("/receipts/infobip", status_code=204, include_in_schema=False)
async def infobip_receipt(request: Request, token: str = "") -> Response:
    """Infobip's delivery reports; each result must carry its message's token."""
    settings = _settings(request)
    raw = await request.body()
    if len(raw) > RECEIPT_MAX_BYTES:
        raise Problem(413, "payload-too-large")
    try:
        # pydantic's own JSON parser: bounded nesting, and no dict or list assumed.
        report = InfobipReport.model_validate_json(raw)
    except ValidationError as exc:
        raise Problem(422, "validation", errors=field_errors(exc.errors())) from exc
    sender: messages.Sender = request.app.state.sender
    for result in report.results:
        message_id = str(result.callbackData or "")
        if not hmac.compare_digest(token, providers.receipt_token(settings, message_id)):
            raise Problem(403, "forbidden")
        group = result.status.groupName.upper()
        status = providers.RECEIPT_STATUSES.get(group)
        if status is not None:
            await sender.receipt(message_id, status, group)
    return Response(status_code=204)


class SandboxScript(BaseModel):
    """The sandbox's next answers for one recipient, like Notify's test numbers."""

    model_config = ConfigDict(extra="forbid")
    to: str
    outcomes: list[str]


@router.post("/sandbox/script", status_code=204, include_in_schema=False)
async def sandbox_script(
    request: Request,
    rt: RuntimeDep,
    caller: Annotated[Principal, require("mpp_admin")],
    script: SandboxScript,
) -> Response:
    """Make the sandbox provider fail (or succeed) the next messages to a recipient."""
    if _settings(request).environment == "production":
        raise Problem(404, "not-found")
    allowed = {providers.DELIVERED, providers.TEMPORARY, providers.PERMANENT, providers.TECHNICAL}
    if not set(script.outcomes) <= allowed:
        raise Problem(422, "validation")
    await providers.script_sandbox(rt.engine, script.to, script.outcomes)
    return Response(status_code=204)
