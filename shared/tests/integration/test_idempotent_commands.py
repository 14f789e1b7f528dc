"""A creating command retried with the same Idempotency-Key returns the first result: the new
row's id is derived from the key, so the database's primary key makes the second insert a no-op."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, Table, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert

from mpp_shared import db, idempotency
from mpp_shared.problems import Problem

from .conftest import Probe

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Text, primary_key=True),
    Column("request_fingerprint", Text, nullable=False),
    Column("body", JSONB, nullable=False),
)


async def create(probe: Probe, *, scope: str, key: str | None, body: dict[str, Any]) -> str:
    """What a service's create endpoint does with the helpers; returns the id."""
    request_fingerprint = idempotency.fingerprint(body)
    thing_id = idempotency.command_id(scope=scope, key=key)
    async with db.transaction(probe.engine) as connection:
        inserted = await connection.execute(
            insert(things)
            .values(id=thing_id, request_fingerprint=request_fingerprint, body=body)
            .on_conflict_do_nothing()
            .returning(things.c.id)
        )
        if inserted.first() is None:
            existing = (
                await connection.execute(
                    select(things.c.request_fingerprint).where(things.c.id == thing_id)
                )
            ).scalar_one()
            idempotency.check_replay(existing, request_fingerprint)
    return thing_id


async def count(probe: Probe) -> int:
    async with probe.engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(things))).scalar_one()
        )


@pytest.fixture
async def store(probe: Probe) -> Probe:
    async with db.transaction(probe.engine) as connection:
        await connection.run_sync(metadata.create_all)
    return probe


async def test_retry_with_same_key_returns_the_first_result_and_creates_nothing_new(
    store: Probe,
) -> None:
    body = {"service": "akta-lahir", "n": 1}
    first = await create(store, scope="citizen:1", key="key-0001-abc", body=body)
    again = await create(
        store, scope="citizen:1", key="key-0001-abc", body={"n": 1, "service": "akta-lahir"}
    )
    other_caller = await create(store, scope="citizen:2", key="key-0001-abc", body=body)
    no_key = [await create(store, scope="citizen:1", key=None, body={"s": "ktp"}) for _ in "ab"]
    assert again == first
    assert other_caller != first
    assert no_key[0] != no_key[1]
    assert await count(store) == 4


async def test_concurrent_retries_with_one_key_create_one_row(store: Probe) -> None:
    body = {"service": "akta-lahir"}
    ids = await asyncio.gather(
        *(create(store, scope="citizen:1", key="key-0003-abc", body=body) for _ in range(10))
    )
    assert len(set(ids)) == 1
    assert await count(store) == 1


async def test_same_key_for_a_different_request_is_refused(store: Probe) -> None:
    await create(store, scope="citizen:1", key="key-0002-abc", body={"service": "akta-lahir"})
    with pytest.raises(Problem) as refused:
        await create(store, scope="citizen:1", key="key-0002-abc", body={"service": "akta-mati"})
    assert refused.value.status == 422
    assert refused.value.code == "idempotency-key-reused"
    assert await count(store) == 1
