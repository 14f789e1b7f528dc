"""A creating command retried with the same Idempotency-Key returns the first result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from mpp_shared import idempotency
from mpp_shared.problems import Problem
from mpp_shared.settings import ServiceSettings


async def create(db: Any, *, scope: str, key: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """What a service's create endpoint does with the helpers."""
    request_fingerprint = idempotency.fingerprint(body)
    document = {
        "_id": idempotency.command_id(scope=scope, key=key),
        idempotency.FINGERPRINT: request_fingerprint,
        **body,
    }
    if await idempotency.insert_once(db.things, document):
        return document
    existing: dict[str, Any] = await db.things.find_one({"_id": document["_id"]})
    idempotency.check_replay(existing, request_fingerprint)
    return existing


async def test_retry_with_same_key_returns_the_first_result_and_creates_nothing_new(
    make_settings: Callable[..., ServiceSettings], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[make_settings("probe6").database_name]
    first = await create(
        db, scope="citizen:1", key="key-0001-abc", body={"service": "akta-lahir", "n": 1}
    )
    again = await create(
        db, scope="citizen:1", key="key-0001-abc", body={"n": 1, "service": "akta-lahir"}
    )
    other_caller = await create(
        db, scope="citizen:2", key="key-0001-abc", body={"service": "akta-lahir", "n": 1}
    )
    no_key = [
        await create(db, scope="citizen:1", key=None, body={"service": "ktp"}) for _ in range(2)
    ]

    assert again == first
    assert other_caller["_id"] != first["_id"]
    assert no_key[0]["_id"] != no_key[1]["_id"]
    assert await db.things.count_documents({}) == 4


async def test_same_key_for_a_different_request_is_refused(
    make_settings: Callable[..., ServiceSettings], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[make_settings("probe7").database_name]
    await create(db, scope="citizen:1", key="key-0002-abc", body={"service": "akta-lahir"})
    with pytest.raises(Problem) as refused:
        await create(db, scope="citizen:1", key="key-0002-abc", body={"service": "akta-kematian"})
    assert refused.value.status == 422
    assert refused.value.code == "idempotency-key-reused"
    assert await db.things.count_documents({}) == 1
