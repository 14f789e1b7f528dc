"""Routes of partners' webhooks: subscriptions, their secrets, delivery log and test ping."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request, Response

from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.web import RuntimeDep
from notifications.settings import Settings
from notifications.webhooks import service
from notifications.webhooks.deliveries import send_test
from notifications.webhooks.models import (
    Delivery,
    DeliveryList,
    Notice,
    SecretRotated,
    Subscription,
    SubscriptionCreated,
    SubscriptionInput,
    SubscriptionList,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/api/v1/partners", tags=["partners"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


def _view(subscription: dict[str, Any]) -> Subscription:
    notice = subscription.get("notice")
    return Subscription(
        id=subscription["_id"],
        owner=subscription["owner"],
        url=subscription["url"],
        event_types=subscription["event_types"],
        agency=subscription["agency"],
        fields=subscription["fields"],
        description=subscription.get("description"),
        active=subscription["active"],
        consecutive_failures=subscription["consecutive_failures"],
        disabled_reason=subscription.get("disabled_reason"),
        disabled_at=subscription.get("disabled_at"),
        notice=Notice.model_validate(notice) if notice else None,
        created_at=subscription["created_at"],
        updated_at=subscription["updated_at"],
    )


def _delivery(delivery: dict[str, Any]) -> Delivery:
    return Delivery.model_validate({**delivery, "id": delivery["_id"]})


@router.post("/subscriptions", status_code=201)
async def create(
    rt: RuntimeDep,
    settings: SettingsDep,
    caller: CurrentPrincipal,
    subscription: SubscriptionInput,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SubscriptionCreated:
    """Subscribe a URL to event types; the signing secret is shown only in this answer."""
    created, secret, new = await service.create(
        rt.db,
        settings=settings,
        caller=caller,
        subscription=subscription,
        idempotency_key=idempotency_key,
    )
    if not new:
        response.status_code = 200
    response.headers["Location"] = f"{router.prefix}/subscriptions/{created['_id']}"
    return SubscriptionCreated(**_view(created).model_dump(), secret=secret)


@router.get("/subscriptions")
async def subscriptions(rt: RuntimeDep, caller: CurrentPrincipal) -> SubscriptionList:
    """The caller's webhooks (all of them for MPP administrators)."""
    found = await service.listed(rt.db, caller=caller)
    return SubscriptionList(items=[_view(s) for s in found])


@router.get("/subscriptions/{subscription_id}")
async def read(rt: RuntimeDep, caller: CurrentPrincipal, subscription_id: str) -> Subscription:
    """One webhook, with the notice left when it was switched off."""
    return _view(await service.read(rt.db, caller=caller, subscription_id=subscription_id))


@router.patch("/subscriptions/{subscription_id}")
async def update(
    rt: RuntimeDep,
    settings: SettingsDep,
    caller: CurrentPrincipal,
    subscription_id: str,
    changes: SubscriptionUpdate,
) -> Subscription:
    """Change a webhook; `active: true` switches it back on and clears its failure count."""
    updated = await service.update(
        rt.db, settings=settings, caller=caller, subscription_id=subscription_id, changes=changes
    )
    return _view(updated)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def delete(rt: RuntimeDep, caller: CurrentPrincipal, subscription_id: str) -> Response:
    """Remove a webhook with its delivery log."""
    await service.delete(rt.db, caller=caller, subscription_id=subscription_id)
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/secret")
async def rotate_secret(
    rt: RuntimeDep, settings: SettingsDep, caller: CurrentPrincipal, subscription_id: str
) -> SecretRotated:
    """A new signing secret, shown once; the old one also signs for 24 hours."""
    secret, until = await service.rotate_secret(
        rt.db, settings=settings, caller=caller, subscription_id=subscription_id
    )
    return SecretRotated(secret=secret, previous_secret_valid_until=until)


@router.get("/subscriptions/{subscription_id}/deliveries")
async def deliveries(
    rt: RuntimeDep,
    caller: CurrentPrincipal,
    subscription_id: str,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> DeliveryList:
    """The webhook's delivery log, newest first: attempts, status, last answer or error."""
    found, next_cursor = await service.deliveries(
        rt.db, caller=caller, subscription_id=subscription_id, limit=limit, cursor=cursor
    )
    return DeliveryList(items=[_delivery(d) for d in found], next_cursor=next_cursor)


@router.post("/subscriptions/{subscription_id}/test")
async def ping(
    request: Request,
    rt: RuntimeDep,
    settings: SettingsDep,
    caller: CurrentPrincipal,
    subscription_id: str,
) -> Delivery:
    """Send a signed `partners.test` ping now and answer with its outcome."""
    shared: httpx.AsyncClient | None = getattr(request.app.state, "http", None)
    async with contextlib.AsyncExitStack() as stack:
        http = (
            shared if shared is not None else await stack.enter_async_context(httpx.AsyncClient())
        )
        delivery = await send_test(
            rt.db, settings=settings, http=http, caller=caller, subscription_id=subscription_id
        )
    return _delivery(delivery)
