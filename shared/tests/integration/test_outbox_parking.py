"""An event Kafka can never take is parked; it does not hold back the events after it."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import text

from mpp_shared import db, events, outbox
from mpp_shared.kafka import ensure_topics
from mpp_shared.testing import read_topic

from .conftest import Probe
from .test_event_pipeline import counted


class Bulky(BaseModel):
    counter_id: str
    scan: str


async def test_an_event_kafka_refuses_is_parked_and_the_rest_are_published_in_order(
    probe: Probe, kafka: str
) -> None:
    settings = probe.settings
    topic = settings.topic(f"{settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=1)
    first, last = counted(settings, "c1", 1), counted(settings, "c1", 3)
    too_large = events.new_event(
        type="probe.counter.scanned.v1",
        source=f"/services/{settings.service_name}",
        subject="c1",
        data=Bulky(counter_id="c1", scan="x" * 1_100_000),  # over Kafka's 1 MB a request
    )
    async with db.transaction(probe.engine) as connection:
        await outbox.record(connection, [first, too_large])
        await connection.execute(  # an envelope spoilt in the table: it no longer parses
            text("INSERT INTO outbox (event_id, subject, envelope) VALUES ('spoilt', 'c2', '{')")
        )
        await outbox.record(connection, [last])

    relay = outbox.Relay(settings=settings, engine=probe.engine)
    try:
        assert await relay.publish_pending() == 4
    finally:
        await relay._close_producer()

    records = await read_topic(kafka, topic, until=lambda r: len(r) >= 2, timeout=20)
    assert [events.from_json(r.value or b"").id for r in records] == [first.id, last.id]
    async with probe.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 0
        parked = (
            await connection.execute(
                text("SELECT event_id, reason FROM outbox_parked ORDER BY position")
            )
        ).all()
    assert [row.event_id for row in parked] == [too_large.id, "spoilt"]
    assert parked[0].reason.startswith("MessageSizeTooLargeError")
    assert parked[1].reason.startswith("InvalidEvent")

    # Once the cause is fixed, the parked events go back to the outbox, in their first order.
    assert await outbox.unpark(probe.engine) == [too_large.id, "spoilt"]
    async with probe.engine.connect() as connection:
        waiting = await connection.execute(text("SELECT event_id FROM outbox ORDER BY position"))
        assert [row.event_id for row in waiting] == [too_large.id, "spoilt"]
        assert (
            await connection.execute(text("SELECT count(*) FROM outbox_parked"))
        ).scalar_one() == 0
