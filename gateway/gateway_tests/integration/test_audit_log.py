"""The audit log writes every line, in order, in batches off the request's path, and keeps the
lines it could not write yet until the store is back."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity import store
from gateway.identity.accounts import Identity, now
from gateway.identity.audit import AuditLog
from gateway.identity.store import AuditRecord
from gateway.settings import Settings
from mpp_shared import db
from mpp_shared.ids import new_id


def line(actor: str, n: int) -> AuditRecord:
    return AuditRecord(
        id=new_id(),
        at=now(),
        actor=actor,
        actor_role="officer",
        actor_agency="DUKCAPIL",
        method="GET",
        resource=f"/api/v1/applications/{n}",
        query=None,
        status=200,
        request_id=None,
    )


async def written(engine: AsyncEngine, actor: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(store.audit_log.c.resource)
            .where(store.audit_log.c.actor == actor)
            .order_by(store.audit_log.c.at, store.audit_log.c.id)
        )
        return [row.resource for row in rows]


async def test_every_line_is_written_in_order_in_batches(
    engine: AsyncEngine, gateway_settings: Settings
) -> None:
    audit = AuditLog(Identity.create(engine=engine, settings=gateway_settings, send_otp=None))
    audit.start()
    actor = new_id()
    try:
        for n in range(1_200):  # more than one batch arrives while the first is written
            audit.record(line(actor, n))
            if n % 100 == 0:
                await asyncio.sleep(0)
        await audit.flush()
        assert await written(engine, actor) == [f"/api/v1/applications/{n}" for n in range(1_200)]
    finally:
        await audit.close()


async def test_lines_wait_for_a_store_that_is_away_and_are_written_when_it_is_back(
    engine: AsyncEngine, gateway_settings: Settings
) -> None:
    away = db.create_engine(gateway_settings.model_copy(update={"postgres_port": 1}))
    audit = AuditLog(
        Identity.create(engine=away, settings=gateway_settings, send_otp=None),
        retry_max_seconds=0.2,
    )
    audit.start()
    actor = new_id()
    try:
        for n in range(3):
            audit.record(line(actor, n))
        await audit.flush(timeout=1.0)  # cannot be written: they wait
        assert await written(engine, actor) == []
        audit.identity = Identity.create(engine=engine, settings=gateway_settings, send_otp=None)
        await audit.close()  # the store is back: a stopping gateway writes what it holds
        assert len(await written(engine, actor)) == 3
    finally:
        await away.dispose()


async def test_a_stopping_gateway_writes_what_it_holds(
    engine: AsyncEngine, gateway_settings: Settings
) -> None:
    audit = AuditLog(Identity.create(engine=engine, settings=gateway_settings, send_otp=None))
    audit.start()
    actor = new_id()
    for n in range(50):
        audit.record(line(actor, n))
    await audit.close()
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).where(store.audit_log.c.actor == actor)
        )
    assert count == 50
