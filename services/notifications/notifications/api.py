"""Routes of notifications: the citizen's inbox and preferences, Web Push subscriptions,
providers' delivery receipts, the command center's delivery figures, and the sandbox's failure
switch for developers and tests."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mpp_shared import pagination
from mpp_shared.auth import Principal, require
from mpp_shared.problems import Problem
from mpp_shared.web import RuntimeDep
from notifications import contacts, figures, messages, providers
from notifications.settings import Settings

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Citizen = Annotated[Principal, require("citizen")]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", "ops_viewer")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class InboxItem(BaseModel):
    """A message in the citizen's in-app inbox."""

    id: str
    event_type: str
    subject: str | None
    text: str
    created_at: dt.datetime
    read_at: dt.datetime | None


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
    query: dict[str, Any] = {"citizen_id": caller.subject, "channel": "inbox"}
    last = pagination.decode_cursor(cursor)
    page_query = query | ({"_id": {"$lt": last}} if last else {})
    if unread_only:
        page_query["read_at"] = None
    found = rt.db[messages.MESSAGES].find(page_query).sort("created_at", -1).limit(limit + 1)
    items = [InboxItem.model_validate({**m, "id": m["_id"]}) async for m in found]
    unread = await rt.db[messages.MESSAGES].count_documents(query | {"read_at": None})
    page = pagination.page(items, limit=limit, key=lambda i: i.id)
    return Inbox(items=page.items, next_cursor=page.next_cursor, unread=unread)


@router.get("/unread-count")
async def unread_count(rt: RuntimeDep, caller: Citizen) -> dict[str, int]:
    """How many inbox messages are unread (for the app's badge)."""
    count = await rt.db[messages.MESSAGES].count_documents(
        {"citizen_id": caller.subject, "channel": "inbox", "read_at": None}
    )
    return {"unread": count}


@router.post("/{message_id}/read", status_code=204)
async def mark_read(rt: RuntimeDep, caller: Citizen, message_id: str) -> Response:
    """Mark one inbox message read (again is fine)."""
    found = await rt.db[messages.MESSAGES].find_one({"_id": message_id})
    if found is None or found["citizen_id"] != caller.subject or found["channel"] != "inbox":
        raise Problem(404, "not-found")
    if found["read_at"] is None:
        await rt.db[messages.MESSAGES].update_one(
            {"_id": message_id}, {"$set": {"read_at": dt.datetime.now(dt.UTC)}}
        )
    return Response(status_code=204)


@router.get("/preferences")
async def get_preferences(rt: RuntimeDep, caller: Citizen) -> contacts.Preferences:
    """The channels the citizen wants and their quiet hours."""
    return contacts.preferences(await contacts.contact(rt.db, caller.subject))


@router.put("/preferences")
async def put_preferences(
    rt: RuntimeDep, caller: Citizen, chosen: contacts.Preferences
) -> contacts.Preferences:
    """Choose channels (the inbox is always on) and quiet hours."""
    unknown = set(chosen.channels) - set(contacts.DEFAULT_CHANNELS)
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
    await contacts.save_preferences(rt.db, caller.subject, chosen)
    return chosen


class PushSubscription(BaseModel):
    """A browser's push subscription (PushSubscription.toJSON())."""

    model_config = ConfigDict(extra="ignore")
    endpoint: Annotated[str, Field(pattern=r"^https://", max_length=2000)]
    keys: dict[str, str]


@router.get("/push/key")
async def push_key(request: Request) -> dict[str, str]:
    """The VAPID public key the citizen app subscribes with."""
    return {"public_key": providers.vapid_public_key(_settings(request))}


@router.post("/push/subscriptions", status_code=201)
async def subscribe(
    rt: RuntimeDep, caller: Citizen, subscription: PushSubscription
) -> dict[str, str]:
    """Receive push messages on this browser."""
    if not {"p256dh", "auth"} <= set(subscription.keys):
        raise Problem(422, "validation")
    import hashlib
    import json

    text = json.dumps(subscription.model_dump(), sort_keys=True)
    subscription_id = hashlib.sha256(subscription.endpoint.encode()).hexdigest()[:32]
    await rt.db[messages.PUSH].replace_one(
        {"_id": subscription_id},
        {"citizen_id": caller.subject, "subscription": text},
        upsert=True,
    )
    return {"id": subscription_id}


@router.delete("/push/subscriptions/{subscription_id}", status_code=204)
async def unsubscribe(rt: RuntimeDep, caller: Citizen, subscription_id: str) -> Response:
    """Stop push messages on a browser."""
    await rt.db[messages.PUSH].delete_one({"_id": subscription_id, "citizen_id": caller.subject})
    return Response(status_code=204)


@router.get("/ops/deliveries")
async def deliveries(rt: RuntimeDep, caller: Staff) -> figures.DeliveryFigures:
    """Messages created today and in the last 24 hours, per channel and status (staff)."""
    return await figures.delivery_figures(rt.db, now=dt.datetime.now(dt.UTC), zone=messages.ZONE)


@router.post("/receipts/infobip", status_code=204, include_in_schema=False)
async def infobip_receipt(request: Request, rt: RuntimeDep, token: str = "") -> Response:
    """Infobip's delivery reports; each result must carry its message's token."""
    settings = _settings(request)
    body = await request.json()
    sender: messages.Sender = request.app.state.sender
    for result in body.get("results", []):
        message_id = str(result.get("callbackData", ""))
        if not hmac.compare_digest(token, providers.receipt_token(settings, message_id)):
            raise Problem(403, "forbidden")
        group = str(result.get("status", {}).get("groupName", "")).upper()
        status = providers.RECEIPT_STATUSES.get(group)
        if status is not None:
            await sender.receipt(message_id, status, group)
    rt.wake_relay()
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
    await providers.script_sandbox(rt.db, script.to, script.outcomes)
    return Response(status_code=204)
