"""Writes keep succeeding while Kafka is down; their events wait and are all published after."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from mpp_shared import db, events, outbox
from mpp_shared.kafka import ensure_topics
from mpp_shared.testing import eventually, read_topic

from .conftest import PrivateKafka, Probe
from .test_event_pipeline import counted


async def test_writes_during_kafka_outage_are_accepted_and_all_their_events_published_after(
    probe: Probe, private_kafka: PrivateKafka
) -> None:
    settings = probe.settings.model_copy(update={"kafka_bootstrap": private_kafka.bootstrap})
    topic = settings.topic(f"{settings.service_name}.events")
    await ensure_topics(private_kafka.bootstrap, [topic], partitions=1)
    relay = outbox.Relay(settings=settings, engine=probe.engine, poll_seconds=0.2)
    relay_task = asyncio.create_task(relay.run())

    async def waiting() -> int:
        async with probe.engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one())

    async def nothing_waits() -> bool:
        return await waiting() == 0

    try:
        first = counted(settings, "before")
        async with db.transaction(probe.engine) as connection:
            await outbox.record(connection, [first])
        await eventually(nothing_waits)

        private_kafka.stop()
        written = []
        for n in range(20):
            event = counted(settings, f"during-{n}")
            async with db.transaction(probe.engine) as connection:
                await outbox.record(connection, [event])
            written.append(event.id)
        await asyncio.sleep(2)
        assert await waiting() == 20

        private_kafka.start()
        await eventually(nothing_waits, timeout=60)
    finally:
        relay.stop()
        await asyncio.wait_for(relay_task, 30)

    records = await read_topic(private_kafka.bootstrap, topic, until=lambda r: len(r) >= 21)
    published = [events.from_json(r.value or b"").id for r in records]
    assert published[0] == first.id
    assert set(written) <= set(published)
    assert len(set(published)) == 21
