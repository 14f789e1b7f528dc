"""Routes of partners' webhooks: subscriptions, their secrets, delivery log and test ping."""

from __future__ import annotations

import contextlib
from typing import Annotated

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
    SecretRotated,
    Subscription,
    SubscriptionCreated,
    SubscriptionInput,
    SubscriptionList,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/api/v1/partners", tags=["partners"])


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


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
        rt.engine,
        settings=settings,
        caller=caller,
        subscription=subscription,
        idempotency_key=idempotency_key,
    )
    if not new:
        response.status_code = 200
    response.headers["Location"] = f"{router.prefix}/subscriptions/{created.id}"
    return SubscriptionCreated(**created.view().model_dump(), secret=secret)


@router.get("/subscriptions")
async def subscriptions(rt: RuntimeDep, caller: CurrentPrincipal) -> SubscriptionList:
    """The caller's webhooks (all of them for MPP administrators)."""
    found = await service.listed(rt.engine, caller=caller)
    return SubscriptionList(items=[s.view() for s in found])


@router.get("/subscriptions/{subscription_id}")
async def read(rt: RuntimeDep, caller: CurrentPrincipal, subscription_id: str) -> Subscription:
    """One webhook, with the notice left when it was switched off."""
    found = await service.read(rt.engine, caller=caller, subscription_id=subscription_id)
    return found.view()


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
        rt.engine,
        settings=settings,
        caller=caller,
        subscription_id=subscription_id,
        changes=changes,
    )
    return updated.view()


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def delete(rt: RuntimeDep, caller: CurrentPrincipal, subscription_id: str) -> Response:
    """Remove a webhook with its delivery log."""
    await service.delete(rt.engine, caller=caller, subscription_id=subscription_id)
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/secret")
async def rotate_secret(
    rt: RuntimeDep, settings: SettingsDep, caller: CurrentPrincipal, subscription_id: str
) -> SecretRotated:
    """A new signing secret, shown once; the old one also signs for 24 hours."""
    secret, until = await service.rotate_secret(
        rt.engine, settings=settings, caller=caller, subscription_id=subscription_id
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
    found = await service.deliveries(
        rt.engine, caller=caller, subscription_id=subscription_id, limit=limit, cursor=cursor
    )
    page = pagination.keyset_page(
        [d.view() for d in found], limit=limit, key=lambda d: (d.created_at, d.id)
    )
    return DeliveryList(items=page.items, next_cursor=page.next_cursor)


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
            rt.engine, settings=settings, http=http, caller=caller, subscription_id=subscription_id
        )
    return delivery.view()
