"""Partners' webhooks: subscriptions, who may manage them, and their signing secrets.

Partners receive only the events of `applications.events`, `documents.events` and
`catalog.events` (never identity events or PINs). A partner sees and changes only its own
subscriptions (another's is a 404); MPP administrators manage all. Recording deliveries, their
signed attempts and retries are in `deliveries`.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mpp_shared import contracts, db, idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.problems import Problem
from notifications.settings import Settings
from notifications.webhooks import addresses, store
from notifications.webhooks.models import (
    StoredDelivery,
    StoredSubscription,
    SubscriptionInput,
    SubscriptionUpdate,
)

SCOPE = "subscriptions:write"
PARTNER_TOPICS = frozenset({topics.APPLICATIONS, topics.DOCUMENTS, topics.CATALOG})
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
# After a rotation the old secret signs too for a day, so the partner can switch without a gap.
ROTATION_GRACE = timedelta(hours=24)


def _now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


# --- what partners may receive ------------------------------------------------------------------


@functools.cache
def partner_contracts() -> dict[str, type[BaseModel]]:
    """Event types partners may receive, with their payload models."""
    return {
        event_type: model
        for event_type, (topic, model) in contracts.load_all().items()
        if topic in PARTNER_TOPICS
    }


def types_matching(pattern: str) -> list[str]:
    """The partner event types a pattern names: one type, `*`, or a prefix ending in `.*`."""
    known = partner_contracts()
    if pattern == "*":
        return sorted(known)
    if pattern.endswith(".*"):
        return sorted(t for t in known if t.startswith(pattern[:-1]))
    return [pattern] if pattern in known else []


def _validated_types(patterns: Iterable[str]) -> list[str]:
    """The patterns without repeats; a 422 naming those that match no partner event type."""
    unique = list(dict.fromkeys(patterns))
    unknown = [p for p in unique if not types_matching(p)]
    if unknown:
        names = ", ".join(unknown)
        raise _invalid(
            "event_types",
            f"Jenis peristiwa tidak dikenal atau tidak tersedia bagi mitra: {names}.",
            f"Unknown event types, or not available to partners: {names}.",
            unknown_event_types=unknown,
        )
    return unique


def _validated_fields(fields: list[str] | None, patterns: list[str]) -> list[str] | None:
    """The fields without repeats; a 422 naming those no chosen event type carries."""
    if fields is None:
        return None
    known = {
        name
        for pattern in patterns
        for event_type in types_matching(pattern)
        for name in partner_contracts()[event_type].model_fields
    }
    unique = list(dict.fromkeys(fields))
    unknown = [f for f in unique if f not in known]
    if unknown:
        names = ", ".join(unknown)
        raise _invalid(
            "fields",
            f"Isian ini tidak ada pada jenis peristiwa yang dipilih: {names}.",
            f"The chosen event types carry no such fields: {names}.",
            unknown_fields=unknown,
        )
    return unique


def _invalid(field: str, indonesian: str, english: str, **extra: Any) -> Problem:
    message = {"id": indonesian, "en": english}
    return Problem(
        422, "validation", errors=[{"field": field, "in": "body", "message": message}], **extra
    )


# --- who may do what ----------------------------------------------------------------------------


def _authorize(caller: Principal) -> None:
    """Partners whose key has the subscriptions scope, and MPP administrators."""
    if caller.role == "mpp_admin" or (caller.role == "partner" and SCOPE in caller.scopes):
        return
    raise Problem(
        403,
        "forbidden",
        detail={
            "id": "Hanya mitra dengan cakupan subscriptions:write yang dapat mengelola webhook.",
            "en": "Only partners with the subscriptions:write scope may manage webhooks.",
        },
    )


def _not_found() -> Problem:
    """Also the answer for another partner's subscription: its existence is not told."""
    return Problem(
        404,
        "not-found",
        detail={"id": "Langganan webhook tidak ditemukan.", "en": "No such webhook subscription."},
    )


async def _load(
    connection: AsyncConnection, caller: Principal, subscription_id: str
) -> StoredSubscription:
    _authorize(caller)
    found = await store.find_subscription(connection, subscription_id)
    if found is None or (caller.role != "mpp_admin" and found.owner != caller.subject):
        raise _not_found()
    return found


def _agency_filter(caller: Principal, wanted: str | None) -> str | None:
    """A partner key bound to an agency receives that agency's events only (per-agency rights, as
    X-Road's per-subsystem ones); unbound keys and administrators choose freely."""
    if caller.role != "partner" or caller.agency is None:
        return wanted
    if wanted not in (None, caller.agency):
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": f"Kunci API ini hanya dapat menerima peristiwa instansi {caller.agency}.",
                "en": f"This API key may only receive events of the agency {caller.agency}.",
            },
        )
    return caller.agency


# --- signing secrets, encrypted at rest ---------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _cipher(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mpp:webhook-secret").derive(
        settings.secret_key.get_secret_value().encode()
    )
    return AESGCM(key)


def _seal(settings: Settings, secret: str, subscription_id: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(settings).encrypt(nonce, secret.encode(), subscription_id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _open(settings: Settings, sealed: str, subscription_id: str) -> str:
    raw = base64.urlsafe_b64decode(sealed)
    return _cipher(settings).decrypt(raw[:12], raw[12:], subscription_id.encode()).decode()


# --- subscriptions ------------------------------------------------------------------------------


async def create(
    engine: AsyncEngine,
    *,
    settings: Settings,
    caller: Principal,
    subscription: SubscriptionInput,
    idempotency_key: str | None,
) -> tuple[StoredSubscription, str, bool]:
    """A new subscription and its secret (True), or the one an earlier call with the same
    `Idempotency-Key` made (False)."""
    _authorize(caller)
    event_types = _validated_types(subscription.event_types)
    fields = _validated_fields(subscription.fields, event_types)
    agency = _agency_filter(caller, subscription.agency)
    await addresses.check_url(
        subscription.url, allow_private=settings.webhooks_may_reach_private_addresses
    )
    subscription_id = idempotency.command_id(
        scope=f"{caller.subject}:webhooks", key=idempotency_key
    )
    secret = new_secret()
    now = _now()
    new = StoredSubscription(
        id=subscription_id,
        owner=caller.subject,
        url=subscription.url,
        event_types=event_types,
        agency=agency,
        fields=fields,
        description=subscription.description,
        active=True,
        consecutive_failures=0,
        secret=_seal(settings, secret, subscription_id),
        created_at=now,
        updated_at=now,
        version=1,
        request_fingerprint=idempotency.fingerprint(subscription),
    )
    async with db.transaction(engine) as connection:
        if await store.insert_subscription(connection, new):
            return new, secret, True
        existing = await store.find_subscription(connection, subscription_id)
    if existing is None:  # deleted since the first call: the key's result is gone
        raise _not_found()
    idempotency.check_replay(existing.request_fingerprint, new.request_fingerprint or "")
    return existing, _open(settings, existing.secret, subscription_id), False


async def listed(engine: AsyncEngine, *, caller: Principal) -> list[StoredSubscription]:
    """The caller's subscriptions; all of them for MPP administrators."""
    _authorize(caller)
    owner = None if caller.role == "mpp_admin" else caller.subject
    async with engine.connect() as connection:
        return await store.subscriptions_of(connection, owner=owner)


async def read(
    engine: AsyncEngine, *, caller: Principal, subscription_id: str
) -> StoredSubscription:
    """One of the caller's subscriptions, or a 404."""
    async with engine.connect() as connection:
        return await _load(connection, caller, subscription_id)


async def update(
    engine: AsyncEngine,
    *,
    settings: Settings,
    caller: Principal,
    subscription_id: str,
    changes: SubscriptionUpdate,
) -> StoredSubscription:
    """Change a subscription; switching a disabled one on clears its failures and notice."""
    async with engine.connect() as connection:
        current = await _load(connection, caller, subscription_id)
    given = changes.model_fields_set
    now = _now()
    fields: dict[str, Any] = {"updated_at": now}
    if changes.url is not None:
        await addresses.check_url(
            changes.url, allow_private=settings.webhooks_may_reach_private_addresses
        )
        fields["url"] = changes.url
    event_types = current.event_types
    if changes.event_types is not None:
        event_types = fields["event_types"] = _validated_types(changes.event_types)
    chosen = changes.fields if "fields" in given else current.fields
    fields["fields"] = _validated_fields(chosen, event_types)
    if "description" in given:
        fields["description"] = changes.description
    if changes.active is True and not current.active:
        fields |= {
            "active": True,
            "consecutive_failures": 0,
            "disabled_reason": None,
            "disabled_at": None,
            "notice": None,
        }
    elif changes.active is False and current.active:
        fields |= {"active": False, "disabled_reason": "paused", "disabled_at": now}
    async with db.transaction(engine) as connection:
        updated = await store.update_subscription(
            connection, subscription_id, expected_version=current.version, changes=fields
        )
    if updated is None:
        raise _conflict()
    return updated


async def delete(engine: AsyncEngine, *, caller: Principal, subscription_id: str) -> None:
    """Remove a subscription, its delivery log and its pending attempts."""
    async with db.transaction(engine) as connection:
        await _load(connection, caller, subscription_id)
        await store.delete_subscription(connection, subscription_id)


async def rotate_secret(
    engine: AsyncEngine, *, settings: Settings, caller: Principal, subscription_id: str
) -> tuple[str, datetime]:
    """A new signing secret; the current one keeps signing beside it for ROTATION_GRACE."""
    secret = new_secret()
    now = _now()
    until = now + ROTATION_GRACE
    async with db.transaction(engine) as connection:
        current = await _load(connection, caller, subscription_id)
        updated = await store.update_subscription(
            connection,
            subscription_id,
            expected_version=current.version,
            changes={
                "secret": _seal(settings, secret, subscription_id),
                "previous_secret": current.secret,
                "previous_secret_until": until,
                "updated_at": now,
            },
        )
    if updated is None:
        raise _conflict()
    return secret, until


def _conflict() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Langganan ini baru saja diubah; muat ulang lalu coba lagi.",
            "en": "This subscription just changed; reload it and try again.",
        },
    )


async def deliveries(
    engine: AsyncEngine, *, caller: Principal, subscription_id: str, limit: int, cursor: str | None
) -> list[StoredDelivery]:
    """A page of the subscription's delivery log, newest first, `limit + 1` at most."""
    async with engine.connect() as connection:
        await _load(connection, caller, subscription_id)
        return await store.deliveries_page(connection, subscription_id, cursor=cursor, limit=limit)
