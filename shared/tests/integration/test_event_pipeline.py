"""The outbox, relay, consumer runner and DLQ on the real Kafka and FerretDB."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pymongo import AsyncMongoClient

from mpp_shared import events, idempotency, outbox
from mpp_shared.dlq import replay
from mpp_shared.events import Event
from mpp_shared.kafka import (
    DLQ_CONSUMER,
    DLQ_ERROR,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_TOPIC,
    ConsumerRunner,
    create_producer,
    ensure_topics,
)
from mpp_shared.settings import ServiceSettings
from mpp_shared.testing import eventually, read_topic


class Counted(BaseModel):
    counter_id: str
    amount: int


def counted(settings: ServiceSettings, counter_id: str, amount: int = 1) -> Event:
    return events.new_event(
        type="probe.counter.incremented.v1",
        source=f"/services/{settings.service_name}",
        subject=counter_id,
        data=Counted(counter_id=counter_id, amount=amount),
    )


async def start_consumer(runner: ConsumerRunner) -> asyncio.Task[None]:
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.ready.wait(), 30)
    return task


async def stop_consumer(runner: ConsumerRunner, task: asyncio.Task[None]) -> None:
    runner.stop()
    await asyncio.wait_for(task, 30)


def idempotent_counter(db: Any, calls: list[str]) -> Callable[[Event], Any]:
    async def handle(event: Event) -> None:
        calls.append(event.id)
        payload = event.payload(Counted)
        await db.totals.update_one(
            {"_id": payload.counter_id}, {"$setOnInsert": {"total": 0}}, upsert=True
        )
        await db.totals.update_one(
            {"_id": payload.counter_id, **idempotency.not_applied(event.id)},
            {"$inc": {"total": payload.amount}, **idempotency.mark_applied(event.id)},
        )

    return handle


async def test_event_written_through_outbox_reaches_consumer_and_applies_once_when_delivered_twice(
    make_settings: Callable[..., ServiceSettings],
    mongo: AsyncMongoClient[dict[str, Any]],
    kafka: str,
) -> None:
    producer_settings = make_settings("probe1")
    consumer_settings = make_settings("probe1sink")
    db = mongo[producer_settings.database_name]
    await ensure_topics(
        kafka, [producer_settings.topic("probe1.events"), consumer_settings.dlq_topic], partitions=1
    )
    event = counted(producer_settings, "c1", amount=5)
    await db.counters.insert_one(outbox.new_document({"_id": "c1", "state": "open"}, [event]))

    relay = outbox.OutboxRelay(settings=producer_settings, db=db, collections=["counters"])
    assert await relay.publish_pending() == 1
    stored = await db.counters.find_one({"_id": "c1"})
    assert stored is not None and stored["outbox"] == [] and outbox.PENDING not in stored

    sink = mongo[consumer_settings.database_name]
    calls: list[str] = []
    runner = ConsumerRunner(
        settings=consumer_settings,
        topics=["probe1.events"],
        handlers={event.type: idempotent_counter(sink, calls)},
    )
    task = await start_consumer(runner)
    try:
        await eventually(lambda: len(calls) == 1)
        # The same record again, as after a producer retry or a consumer restart before commit.
        record = events.to_kafka(event)
        producer = create_producer(producer_settings)
        await producer.start()
        await producer.send_and_wait(
            producer_settings.topic("probe1.events"),
            record.value,
            key=event.subject.encode(),
            headers=list(record.headers.items()),
        )
        await producer.stop()
        await eventually(lambda: len(calls) == 2)
    finally:
        await stop_consumer(runner, task)
    total = await sink.totals.find_one({"_id": "c1"})
    assert calls == [event.id, event.id]
    assert total is not None and total["total"] == 5


async def test_handler_failing_three_times_then_succeeding_applies_its_effect_once(
    make_settings: Callable[..., ServiceSettings],
    mongo: AsyncMongoClient[dict[str, Any]],
    kafka: str,
) -> None:
    settings = make_settings("probe2")
    await ensure_topics(kafka, [settings.topic("probe2.events"), settings.dlq_topic], partitions=1)
    sink = mongo[settings.database_name]
    attempts: list[str] = []
    applied: list[str] = []
    counter = idempotent_counter(sink, applied)

    async def flaky(event: Event) -> None:
        attempts.append(event.id)
        if len(attempts) <= 3:
            raise ConnectionError(f"simulated outage #{len(attempts)}")
        await counter(event)

    event = counted(settings, "c2", amount=7)
    producer = create_producer(settings)
    await producer.start()
    record = events.to_kafka(event)
    await producer.send_and_wait(
        settings.topic("probe2.events"),
        record.value,
        key=b"c2",
        headers=list(record.headers.items()),
    )
    await producer.stop()

    runner = ConsumerRunner(
        settings=settings,
        topics=["probe2.events"],
        handlers={event.type: flaky},
        max_attempts=4,
        backoff_initial=0.05,
        backoff_max=0.2,
    )
    task = await start_consumer(runner)
    try:
        await eventually(lambda: len(applied) == 1)
    finally:
        await stop_consumer(runner, task)
    total = await sink.totals.find_one({"_id": "c2"})
    assert len(attempts) == 4
    assert total is not None and total["total"] == 7
    dead = await read_topic(kafka, settings.dlq_topic, until=lambda r: True, timeout=3)
    assert dead == []


async def test_message_that_always_fails_lands_in_dlq_with_headers_and_consumer_goes_on(
    make_settings: Callable[..., ServiceSettings],
    mongo: AsyncMongoClient[dict[str, Any]],
    kafka: str,
) -> None:
    settings = make_settings("probe3")
    topic = settings.topic("probe3.events")
    await ensure_topics(kafka, [topic, settings.dlq_topic], partitions=1)
    sink = mongo[settings.database_name]
    handled: list[str] = []
    counter = idempotent_counter(sink, handled)

    async def poisoned(event: Event) -> None:
        if event.subject == "poison":
            raise ValueError("cannot apply this one")
        await counter(event)

    bad, good = counted(settings, "poison"), counted(settings, "c3", amount=2)
    producer = create_producer(settings)
    await producer.start()
    for event in (bad, good):
        record = events.to_kafka(event)
        await producer.send_and_wait(
            topic, record.value, key=event.subject.encode(), headers=list(record.headers.items())
        )
    # Not a CloudEvent at all: parked at once, without retries.
    await producer.send_and_wait(topic, b"{not json", key=b"junk")
    await producer.stop()

    runner = ConsumerRunner(
        settings=settings,
        topics=["probe3.events"],
        handlers={good.type: poisoned},
        max_attempts=3,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    task = await start_consumer(runner)
    try:
        await eventually(lambda: handled == [good.id])
        dead = await read_topic(kafka, settings.dlq_topic, until=lambda r: len(r) >= 2)
    finally:
        await stop_consumer(runner, task)

    assert [r.key for r in dead] == [b"poison", b"junk"]
    headers = dict(dead[0].headers)
    assert headers[DLQ_TOPIC] == topic.encode()
    assert headers[DLQ_PARTITION] == b"0"
    assert headers[DLQ_OFFSET] == b"0"
    assert headers[DLQ_CONSUMER] == settings.consumer_group.encode()
    assert b"ValueError: cannot apply this one" in headers[DLQ_ERROR]
    assert b"InvalidEvent" in dict(dead[1].headers)[DLQ_ERROR]
    assert events.from_json(dead[0].value or b"").id == bad.id
    total = await sink.totals.find_one({"_id": "c3"})
    assert total is not None and total["total"] == 2

    # Once the cause is fixed, a replay hands the parked event to the consumer again.
    replayed = await replay(settings)
    assert replayed == 2
    fixed: list[str] = []

    async def fixed_handler(event: Event) -> None:
        fixed.append(event.subject)

    runner = ConsumerRunner(
        settings=settings, topics=["probe3.events"], handlers={good.type: fixed_handler}
    )
    task = await start_consumer(runner)
    try:
        await eventually(lambda: "poison" in fixed)
    finally:
        await stop_consumer(runner, task)
    assert await replay(settings) == 1  # only the junk record came back to the DLQ


async def test_relay_keeps_an_event_recorded_while_it_was_publishing(
    make_settings: Callable[..., ServiceSettings],
    mongo: AsyncMongoClient[dict[str, Any]],
    kafka: str,
) -> None:
    settings = make_settings("probe10")
    await ensure_topics(kafka, [settings.topic("probe10.events")], partitions=1)
    db = mongo[settings.database_name]
    first, second = counted(settings, "c10"), counted(settings, "c10", amount=2)
    await db.counters.insert_one(outbox.new_document({"_id": "c10"}, [first]))
    relay = outbox.OutboxRelay(settings=settings, db=db, collections=["counters"])
    read = await db.counters.find_one({"_id": "c10"}, {outbox.OUTBOX: 1, "version": 1})
    assert read is not None
    # Another writer records an event after the relay read the document, before it clears it.
    await outbox.apply_change(
        db.counters, id="c10", expected_version=1, set_fields={"n": 2}, new_events=[second]
    )
    await relay._clear(db.counters, read)
    kept = await db.counters.find_one({"_id": "c10"})
    assert kept is not None
    assert [e["id"] for e in kept["outbox"]] == [second.id]
    assert kept[outbox.PENDING] is True
    assert await relay.publish_pending() == 1
    assert (await db.counters.find_one({"_id": "c10"}) or {}).get(outbox.OUTBOX) == []
    await relay._close_producer()
