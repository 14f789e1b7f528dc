"""The relay's claim is a lease: a relay that stalls past it loses its entities to another and,
fenced, publishes nothing; and a backlog drains without waiting for the poll."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mpp_shared import db, events, outbox
from mpp_shared.kafka import ensure_topics
from mpp_shared.testing import read_topic

from .conftest import Probe
from .test_event_pipeline import counted


async def test_a_relay_stalled_past_its_lease_is_fenced_and_another_takes_over_in_order(
    probe: Probe, kafka: str
) -> None:
    settings = probe.settings
    topic = settings.topic(f"{settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=1)
    recorded = [counted(settings, "c1", n) for n in range(3)]
    async with db.transaction(probe.engine) as connection:
        await outbox.record(connection, recorded)

    # A relay claims the entity's events, then stalls before it reaches Kafka.
    stalled = outbox.Relay(settings=settings, engine=probe.engine, lease_seconds=3.0)
    claimed, resume = asyncio.Event(), asyncio.Event()
    start_producer = stalled._ensure_producer

    async def stall() -> AIOKafkaProducer:
        claimed.set()
        await resume.wait()
        return await start_producer()

    stalled._ensure_producer = stall  # type: ignore[method-assign]
    stalling = asyncio.create_task(stalled.publish_pending())
    other = outbox.Relay(settings=settings, engine=probe.engine)
    try:
        await asyncio.wait_for(claimed.wait(), 10)
        # While the lease stands, the entity is the stalled relay's alone.
        assert await other.publish_pending() == 0
        # Once it has run out, the other relay takes the entity over and publishes it all.
        published = 0
        for _ in range(100):
            published = await other.publish_pending()
            if published:
                break
            await asyncio.sleep(0.2)
        assert published == 3

        # The stalled relay wakes up: fenced, it publishes nothing.
        resume.set()
        with pytest.raises(DBAPIError):
            await stalling
        marker = counted(settings, "c1", 99)
        async with db.transaction(probe.engine) as connection:
            await outbox.record(connection, [marker])
        assert await other.publish_pending() == 1
    finally:
        resume.set()
        if not stalling.done():
            stalling.cancel()
        await stalled._close_producer()
        await other._close_producer()

    records = await read_topic(
        kafka, topic, until=lambda r: any(marker.id.encode() in (x.value or b"") for x in r)
    )
    assert [events.from_json(r.value or b"").id for r in records] == [
        *(e.id for e in recorded),
        marker.id,
    ]


async def test_a_backlog_drains_without_waiting_for_the_poll(probe: Probe, kafka: str) -> None:
    settings = probe.settings
    topic = settings.topic(f"{settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=1)
    backlog = [counted(settings, f"c{n}", n) for n in range(35)]
    async with db.transaction(probe.engine) as connection:
        await outbox.record(connection, backlog)

    # Batches of 10 and a poll an hour away: only draining without a pause publishes all 35
    # (the one wake the relay gives itself when its listener connects covers one batch).
    relay = outbox.Relay(settings=settings, engine=probe.engine, batch_size=10, poll_seconds=3600)
    running = asyncio.create_task(relay.run())
    try:
        records = await read_topic(kafka, topic, until=lambda r: len(r) >= 35, timeout=30)
    finally:
        relay.stop()
        await running
    assert sorted(events.from_json(r.value or b"").id for r in records) == sorted(
        e.id for e in backlog
    )
    async with probe.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 0
