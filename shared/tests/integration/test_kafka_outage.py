"""Writes keep succeeding while Kafka is down; their events wait and are all published after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient

from mpp_shared import events, outbox
from mpp_shared.kafka import ensure_topics
from mpp_shared.settings import ServiceSettings
from mpp_shared.testing import eventually, read_topic

from .conftest import PrivateKafka
from .test_event_pipeline import counted


async def test_writes_during_kafka_outage_are_accepted_and_all_their_events_published_after(
    make_settings: Callable[..., ServiceSettings],
    mongo: AsyncMongoClient[dict[str, Any]],
    private_kafka: PrivateKafka,
) -> None:
    settings = make_settings("probe4", kafka_bootstrap=private_kafka.bootstrap)
    topic = settings.topic("probe4.events")
    await ensure_topics(private_kafka.bootstrap, [topic], partitions=1)
    db = mongo[settings.database_name]
    relay = outbox.OutboxRelay(settings=settings, db=db, collections=["counters"], poll_seconds=0.2)
    relay_task = asyncio.create_task(relay.run())

    async def nothing_pending() -> bool:
        return await db.counters.count_documents({outbox.PENDING: True}) == 0

    try:
        first = counted(settings, "before")
        await db.counters.insert_one(outbox.new_document({"_id": "before"}, [first]))
        relay.wake()
        await eventually(nothing_pending)

        private_kafka.stop()
        written = []
        for n in range(20):
            event = counted(settings, f"during-{n}")
            await db.counters.insert_one(outbox.new_document({"_id": f"during-{n}"}, [event]))
            relay.wake()
            written.append(event.id)
        await asyncio.sleep(2)
        assert await db.counters.count_documents({outbox.PENDING: True}) == 20

        private_kafka.start()
        await eventually(nothing_pending, timeout=60)
    finally:
        relay.stop()
        await asyncio.wait_for(relay_task, 30)

    records = await read_topic(private_kafka.bootstrap, topic, until=lambda r: len(r) >= 21)
    published = [events.from_json(r.value or b"").id for r in records]
    assert published[0] == first.id
    assert set(written) <= set(published)
    assert len(set(published)) == 21
