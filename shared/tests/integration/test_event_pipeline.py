"""The outbox, its relay, the consumer runner with its inbox, and the DLQ, on the real PostgreSQL
and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import pytest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, events, outbox
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

from .conftest import Probe


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


async def add(event: Event, connection: AsyncConnection) -> None:
    """A handler with an effect that would show if it were applied twice."""
    payload = event.payload(Counted)
    await connection.execute(
        text(
            "INSERT INTO totals (counter_id, total) VALUES (:id, :amount)"
            " ON CONFLICT (counter_id) DO UPDATE SET total = totals.total + :amount"
        ),
        {"id": payload.counter_id, "amount": payload.amount},
    )


async def send(settings: ServiceSettings, topic: str, *sent: Event | bytes) -> None:
    """Put events (or raw bytes) on a topic as another service would."""
    producer = create_producer(settings)
    await producer.start()
    try:
        for item in sent:
            if isinstance(item, bytes):
                await producer.send_and_wait(topic, item, key=b"junk")
                continue
            record = events.to_kafka(item)
            await producer.send_and_wait(
                topic, record.value, key=item.subject.encode(), headers=list(record.headers.items())
            )
    finally:
        await producer.stop()


async def start(runner: ConsumerRunner) -> asyncio.Task[None]:
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.ready.wait(), 30)
    return task


async def finish(runner: ConsumerRunner, task: asyncio.Task[None]) -> None:
    runner.stop()
    await asyncio.wait_for(task, 30)


# --- the outbox and its relay ------------------------------------------------------------------


async def test_events_recorded_in_a_transaction_are_published_on_commit_without_a_wake(
    probe: Probe, kafka: str
) -> None:
    topic = probe.settings.topic(f"{probe.settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=1)
    relay = outbox.Relay(settings=probe.settings, engine=probe.engine, poll_seconds=60)
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # the listener is connected before anything is recorded
        recorded = [counted(probe.settings, "c1", n) for n in range(1, 6)]
        async with db.transaction(probe.engine) as connection:
            await outbox.record(connection, recorded)
        # Only the database's notification wakes the relay: its poll is a minute away.
        records = await read_topic(kafka, topic, until=lambda r: len(r) >= 5, timeout=20)
    finally:
        relay.stop()
        await running
    assert [events.from_json(r.value or b"").id for r in records] == [e.id for e in recorded]
    assert {r.key for r in records} == {b"c1"}
    async with probe.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 0


async def test_a_rolled_back_change_publishes_nothing(probe: Probe) -> None:
    async def failing_change() -> None:
        async with db.transaction(probe.engine) as connection:
            await outbox.record(connection, [counted(probe.settings, "c1")])
            raise RuntimeError("the change failed after its events were recorded")

    with pytest.raises(RuntimeError):
        await failing_change()
    relay = outbox.Relay(settings=probe.settings, engine=probe.engine)
    assert await relay.publish_pending() == 0


async def test_two_relays_side_by_side_publish_every_event_once_in_order_per_entity(
    probe: Probe, kafka: str
) -> None:
    topic = probe.settings.topic(f"{probe.settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=3)
    entities, per_entity = 12, 25
    recorded: dict[str, list[str]] = defaultdict(list)

    async def write(entity: str) -> None:
        for n in range(per_entity):
            event = counted(probe.settings, entity, n)
            recorded[entity].append(event.id)
            async with db.transaction(probe.engine) as connection:
                await outbox.record(connection, [event])

    relays = [
        outbox.Relay(settings=probe.settings, engine=probe.engine, batch_size=7) for _ in range(2)
    ]
    running = [asyncio.create_task(r.run()) for r in relays]
    try:
        await asyncio.gather(*(write(f"e{i}") for i in range(entities)))
        total = entities * per_entity
        records = await read_topic(kafka, topic, until=lambda r: len(r) >= total, timeout=60)
    finally:
        for relay in relays:
            relay.stop()
        await asyncio.gather(*running)
    seen: dict[str, list[str]] = defaultdict(list)
    for record in records:
        event = events.from_json(record.value or b"")
        seen[event.subject].append(event.id)
    assert seen == recorded


# --- consumers: once, retried, dead-lettered ----------------------------------------------------


async def test_an_event_delivered_twice_is_applied_once_by_the_inbox(
    probe: Probe, kafka: str
) -> None:
    topic = probe.settings.topic("probe.events")
    await ensure_topics(kafka, [topic, probe.settings.dlq_topic], partitions=1)
    calls: list[str] = []

    async def counting(event: Event, connection: AsyncConnection) -> None:
        calls.append(event.id)
        await add(event, connection)

    event = counted(probe.settings, "c9", amount=5)
    # Twice, as after a producer retry or a consumer restart before its commit.
    await send(probe.settings, topic, event, event)
    runner = ConsumerRunner(
        settings=probe.settings,
        topics=["probe.events"],
        handlers={event.type: counting},
        engine=probe.engine,
    )
    task = await start(runner)
    try:
        await eventually(lambda: calls)
        await asyncio.sleep(1.5)  # time for the second copy to be read
    finally:
        await finish(runner, task)
    assert calls == [event.id]
    assert await probe.total("c9") == 5


async def test_an_effect_that_fails_leaves_no_inbox_record_so_a_retry_applies_it(
    probe: Probe,
) -> None:
    attempts: list[int] = []

    async def flaky(event: Event, connection: AsyncConnection) -> None:
        attempts.append(1)
        await add(event, connection)
        if len(attempts) == 1:
            raise ConnectionError("simulated failure after the effect was written")

    runner = ConsumerRunner(settings=probe.settings, topics=[], handlers={}, engine=probe.engine)
    event = counted(probe.settings, "c5", amount=3)
    with pytest.raises(ConnectionError):
        await runner.apply(flaky, event)
    await runner.apply(flaky, event)
    await runner.apply(flaky, event)  # a redelivery: nothing happens
    assert len(attempts) == 2
    assert await probe.total("c5") == 3


async def test_handler_failing_three_times_then_succeeding_applies_its_effect_once(
    probe: Probe, kafka: str
) -> None:
    topic = probe.settings.topic("probe2.events")
    await ensure_topics(kafka, [topic, probe.settings.dlq_topic], partitions=1)
    attempts: list[str] = []

    async def flaky(event: Event, connection: AsyncConnection) -> None:
        attempts.append(event.id)
        await add(event, connection)
        if len(attempts) <= 3:
            raise ConnectionError(f"simulated outage #{len(attempts)}")

    event = counted(probe.settings, "c2", amount=7)
    await send(probe.settings, topic, event)
    runner = ConsumerRunner(
        settings=probe.settings,
        topics=["probe2.events"],
        handlers={event.type: flaky},
        engine=probe.engine,
        max_attempts=4,
        backoff_initial=0.05,
        backoff_max=0.2,
    )
    task = await start(runner)
    try:
        await eventually(lambda: len(attempts) == 4)
    finally:
        await finish(runner, task)
    assert await probe.total("c2") == 7
    dead = await read_topic(kafka, probe.settings.dlq_topic, until=lambda r: True, timeout=3)
    assert dead == []


async def test_message_that_always_fails_lands_in_dlq_with_headers_and_consumer_goes_on(
    probe: Probe, kafka: str
) -> None:
    settings = probe.settings
    topic = settings.topic("probe3.events")
    await ensure_topics(kafka, [topic, settings.dlq_topic], partitions=1)
    handled: list[str] = []

    async def poisoned(event: Event, connection: AsyncConnection) -> None:
        if event.subject == "poison":
            raise ValueError("cannot apply this one")
        handled.append(event.id)
        await add(event, connection)

    bad, good = counted(settings, "poison"), counted(settings, "c3", amount=2)
    # The last is not a CloudEvent at all: parked at once, without retries.
    await send(settings, topic, bad, good, b"{not json")
    runner = ConsumerRunner(
        settings=settings,
        topics=["probe3.events"],
        handlers={good.type: poisoned},
        engine=probe.engine,
        max_attempts=3,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    task = await start(runner)
    try:
        await eventually(lambda: handled == [good.id])
        dead = await read_topic(kafka, settings.dlq_topic, until=lambda r: len(r) >= 2)
    finally:
        await finish(runner, task)

    assert [r.key for r in dead] == [b"poison", b"junk"]
    headers = dict(dead[0].headers)
    assert headers[DLQ_TOPIC] == topic.encode()
    assert headers[DLQ_PARTITION] == b"0"
    assert headers[DLQ_OFFSET] == b"0"
    assert headers[DLQ_CONSUMER] == settings.consumer_group.encode()
    assert b"ValueError: cannot apply this one" in headers[DLQ_ERROR]
    assert b"InvalidEvent" in dict(dead[1].headers)[DLQ_ERROR]
    assert events.from_json(dead[0].value or b"").id == bad.id
    assert await probe.total("c3") == 2

    # Once the cause is fixed, a replay hands the parked event to the consumer again.
    assert await replay(settings) == 2
    fixed: list[str] = []

    async def fixed_handler(event: Event, connection: AsyncConnection) -> None:
        fixed.append(event.subject)

    runner = ConsumerRunner(
        settings=settings,
        topics=["probe3.events"],
        handlers={good.type: fixed_handler},
        engine=probe.engine,
    )
    task = await start(runner)
    try:
        await eventually(lambda: "poison" in fixed)
    finally:
        await finish(runner, task)
    assert fixed == ["poison"]  # the good event, applied before, is not applied again
    assert await replay(settings) == 1  # only the junk record came back to the DLQ


async def test_work_registered_after_commit_runs_once_committed_and_never_after_a_rollback(
    probe: Probe,
) -> None:
    ran: list[str] = []

    async def change(*, fail: bool) -> None:
        async with db.transaction(probe.engine) as connection:
            await outbox.record(connection, [counted(probe.settings, "c7")])
            db.after_commit(connection, lambda: ran.append("woken"))
            assert ran == []  # not before the commit
            if fail:
                raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await change(fail=True)
    assert ran == []
    await change(fail=False)
    assert ran == ["woken"]


async def test_events_read_together_are_applied_in_one_transaction(
    probe: Probe, kafka: str
) -> None:
    topic = probe.settings.topic("probe4.events")
    await ensure_topics(kafka, [topic, probe.settings.dlq_topic], partitions=1)
    transactions: list[int] = []

    async def noting(event: Event, connection: AsyncConnection) -> None:
        transactions.append((await connection.execute(text("SELECT txid_current()"))).scalar_one())
        await add(event, connection)

    sent = [counted(probe.settings, "c10", amount=n) for n in range(1, 21)]
    await send(probe.settings, topic, *sent)  # all waiting before the consumer starts
    runner = ConsumerRunner(
        settings=probe.settings,
        topics=["probe4.events"],
        handlers={sent[0].type: noting},
        engine=probe.engine,
    )
    task = await start(runner)
    try:
        await eventually(lambda: len(transactions) >= 20)
    finally:
        await finish(runner, task)
    assert await probe.total("c10") == sum(range(1, 21))
    assert len(set(transactions)) < 20  # one commit for many events, not one each


async def test_one_failing_event_among_others_read_together_costs_them_nothing(
    probe: Probe, kafka: str
) -> None:
    settings = probe.settings
    topic = settings.topic("probe5.events")
    await ensure_topics(kafka, [topic, settings.dlq_topic], partitions=1)

    async def poisoned(event: Event, connection: AsyncConnection) -> None:
        await add(event, connection)
        if event.subject == "poison5":
            raise ValueError("cannot apply this one")

    before, after = counted(settings, "c11", amount=3), counted(settings, "c11", amount=4)
    bad = counted(settings, "poison5")
    await send(settings, topic, before, bad, after)
    runner = ConsumerRunner(
        settings=settings,
        topics=["probe5.events"],
        handlers={bad.type: poisoned},
        engine=probe.engine,
        max_attempts=2,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    task = await start(runner)
    try:
        dead = await read_topic(
            kafka,
            settings.dlq_topic,
            until=lambda r: any(x.key == b"poison5" for x in r),
            timeout=30,
        )

        async def others_applied() -> bool:
            return await probe.total("c11") == 7

        await eventually(others_applied)
    finally:
        await finish(runner, task)
    assert [r.key for r in dead if r.key == b"poison5"] == [b"poison5"]
    assert await probe.total("c11") == 7  # each of the others applied once
    assert await probe.total("poison5") is None  # the failed one's effect rolled back


@pytest.mark.parametrize("side_by_side", [True, False])
async def test_partitions_read_together_are_applied_side_by_side_unless_told_not_to(
    probe: Probe, kafka: str, side_by_side: bool
) -> None:
    settings = probe.settings
    name = f"probe6{'a' if side_by_side else 'b'}.events"
    topic = settings.topic(name)
    await ensure_topics(kafka, [topic, settings.dlq_topic], partitions=2)
    running, peak, both = 0, 0, asyncio.Event()

    async def meeting(event: Event, connection: AsyncConnection) -> None:
        """Waits (a while) for the other partition's event to be in hand too."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 3)
        await add(event, connection)
        running -= 1

    producer = create_producer(settings)
    await producer.start()
    try:
        for partition in (0, 1):
            record = events.to_kafka(counted(settings, f"c12-{partition}"))
            await producer.send_and_wait(
                topic, record.value, partition=partition, headers=list(record.headers.items())
            )
    finally:
        await producer.stop()
    runner = ConsumerRunner(
        settings=settings,
        topics=[name],
        handlers={"probe.counter.incremented.v1": meeting},
        engine=probe.engine,
        side_by_side=side_by_side,
    )
    task = await start(runner)
    try:

        async def both_applied() -> bool:
            return await probe.total("c12-0") == 1 and await probe.total("c12-1") == 1

        await eventually(both_applied, timeout=30)
    finally:
        await finish(runner, task)
    assert peak == (2 if side_by_side else 1)
