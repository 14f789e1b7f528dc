"""Partner agencies' API keys: a secret shown once, kept as a hash, scoped and revocable."""

from __future__ import annotations

import secrets

from gateway import tokens
from gateway.identity import store
from gateway.identity.accounts import Identity, now
from gateway.identity.models import ApiKeyInput
from gateway.identity.store import ApiKey
from gateway.tokens import Claims
from mpp_shared.auth import Principal
from mpp_shared.ids import new_id

API_KEY_PREFIX = "mppk_"


async def create_api_key(
    identity: Identity, *, caller: Principal, key: ApiKeyInput
) -> tuple[ApiKey, str]:
    """A partner's API key and its secret text, shown once."""
    secret = tokens.new_secret()
    created = ApiKey(
        id=new_id(),
        name=key.name,
        agency=key.agency,
        scopes=list(key.scopes),
        secret_hash=tokens.digest(secret),
        created_at=now(),
        created_by=caller.subject,
    )
    async with identity.begin() as connection:
        await store.insert_api_key(connection, created)
    return created, f"{API_KEY_PREFIX}{created.id}.{secret}"


async def list_api_keys(identity: Identity, *, limit: int) -> list[ApiKey]:
    """API keys, newest first."""
    async with identity.begin() as connection:
        return await store.list_api_keys(connection, limit=limit)


async def revoke_api_key(identity: Identity, *, key_id: str) -> bool:
    """Switch a key off; False when there is no such key."""
    async with identity.begin() as connection:
        return await store.revoke_api_key(connection, key_id, now=now())


async def partner_claims(identity: Identity, *, api_key: str) -> Claims | None:
    """The claims of a valid, unrevoked API key; None otherwise."""
    key_id, _, secret = api_key.removeprefix(API_KEY_PREFIX).partition(".")
    if not api_key.startswith(API_KEY_PREFIX) or not secret:
        return None
    async with identity.begin() as connection:
        found = await store.api_key(connection, key_id)
    if found is None or found.revoked_at is not None:
        return None
    if not secrets.compare_digest(found.secret_hash, tokens.digest(secret)):
        return None
    return Claims(
        subject=f"partner:{key_id}",
        role="partner",
        agency=found.agency,
        scopes=tuple(found.scopes),
    )
