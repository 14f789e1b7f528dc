"""The PostgreSQL outbox, its relay, the inbox and keyset pages, on the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, Table, Text, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mpp_shared import db, events, inbox, outbox, pagination
from mpp_shared.events import Event
from mpp_shared.kafka import ConsumerRunner, create_producer, ensure_topics
from mpp_shared.problems import Problem
from mpp_shared.settings import ServiceSettings
from mpp_shared.testing import Databases, eventually, read_topic

metadata = db.metadata()
outbox.table(metadata)
inbox.table(metadata)
totals = Table(
    "totals",
    metadata,
    Column("counter_id", Text, primary_key=True),
    Column("total", Integer, nullable=False),
)
letters = Table(
    "letters",
    metadata,
    Column("id", Text, primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("sequence", Integer, nullable=False),
)


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


@pytest.fixture
async def database(
    make_settings: Callable[..., ServiceSettings], postgres: Databases, request: Any
) -> AsyncIterator[tuple[ServiceSettings, AsyncEngine]]:
    """A probe service's own database with the test tables."""
    settings = make_settings(
        f"pg{request.node.name[-12:].replace('_', '')}", postgres_user="mpp_probe"
    )
    await postgres.create(settings)
    engine = db.create_engine(settings)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield settings, engine
    await engine.dispose()


async def test_events_recorded_in_a_transaction_are_published_on_commit_without_a_wake(
    database: tuple[ServiceSettings, AsyncEngine], kafka: str
) -> None:
    settings, engine = database
    topic = settings.topic(f"{settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=1)
    relay = outbox.Relay(settings=settings, engine=engine, poll_seconds=60)
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # the listener is connected before anything is recorded
        first, second = counted(settings, "c1", 1), counted(settings, "c1", 2)
        async with db.transaction(engine) as connection:
            await outbox.record(connection, [first, second])
        # Only the database's notification wakes the relay: its poll is a minute away.
        records = await read_topic(kafka, topic, until=lambda r: len(r) >= 2, timeout=20)
    finally:
        relay.stop()
        await running
    assert [events.from_json(r.value or b"").id for r in records] == [first.id, second.id]
    assert {r.key for r in records} == {b"c1"}
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 0


async def test_a_rolled_back_change_publishes_nothing(
    database: tuple[ServiceSettings, AsyncEngine],
) -> None:
    settings, engine = database

    async def failing_change() -> None:
        async with db.transaction(engine) as connection:
            await outbox.record(connection, [counted(settings, "c1")])
            raise RuntimeError("the change failed after its events were recorded")

    with pytest.raises(RuntimeError):
        await failing_change()
    relay = outbox.Relay(settings=settings, engine=engine)
    assert await relay.publish_pending() == 0


async def test_two_relays_side_by_side_publish_every_event_once_in_order_per_entity(
    database: tuple[ServiceSettings, AsyncEngine], kafka: str
) -> None:
    settings, engine = database
    topic = settings.topic(f"{settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=3)
    entities, per_entity = 12, 25
    recorded: dict[str, list[str]] = defaultdict(list)

    async def write(entity: str) -> None:
        for n in range(per_entity):
            event = counted(settings, entity, n)
            recorded[entity].append(event.id)
            async with db.transaction(engine) as connection:
                await outbox.record(connection, [event])

    relays = [outbox.Relay(settings=settings, engine=engine, batch_size=7) for _ in range(2)]
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


async def test_an_event_delivered_twice_is_applied_once_by_the_inbox(
    database: tuple[ServiceSettings, AsyncEngine], kafka: str
) -> None:
    settings, engine = database
    topic = settings.topic("probe.events")
    await ensure_topics(kafka, [topic, settings.dlq_topic], partitions=1)
    calls: list[str] = []

    async def add(event: Event, connection: AsyncConnection) -> None:
        calls.append(event.id)
        payload = event.payload(Counted)
        await connection.execute(
            text(
                "INSERT INTO totals (counter_id, total) VALUES (:id, :amount)"
                " ON CONFLICT (counter_id) DO UPDATE SET total = totals.total + :amount"
            ),
            {"id": payload.counter_id, "amount": payload.amount},
        )

    event = counted(settings, "c9", amount=5)
    producer = create_producer(settings)
    await producer.start()
    record = events.to_kafka(event)
    for _ in range(2):  # as after a producer retry or a consumer restart before its commit
        await producer.send_and_wait(
            topic, record.value, key=b"c9", headers=list(record.headers.items())
        )
    await producer.stop()

    runner = ConsumerRunner(
        settings=settings, topics=["probe.events"], handlers={event.type: add}, engine=engine
    )
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: len(calls) >= 1)

        async def inbox_has_it() -> bool:
            async with engine.connect() as connection:
                found = await connection.execute(
                    select(text("event_id")).select_from(text("inbox"))
                )
                return [row[0] for row in found] == [event.id]

        await eventually(inbox_has_it)
        await asyncio.sleep(1.5)  # time for the second copy to be read
    finally:
        runner.stop()
        await task
    assert calls == [event.id]
    async with engine.connect() as connection:
        total = (
            await connection.execute(select(totals.c.total).where(totals.c.counter_id == "c9"))
        ).scalar_one()
    assert total == 5


async def test_an_effect_that_fails_leaves_no_inbox_record_so_a_retry_applies_it(
    database: tuple[ServiceSettings, AsyncEngine],
) -> None:
    settings, engine = database
    attempts: list[int] = []

    async def flaky(event: Event, connection: AsyncConnection) -> None:
        attempts.append(1)
        await connection.execute(
            insert(totals).values(counter_id=event.subject, total=len(attempts))
        )
        if len(attempts) == 1:
            raise ConnectionError("simulated failure after the effect was written")

    runner = ConsumerRunner(settings=settings, topics=[], handlers={}, engine=engine)
    event = counted(settings, "c5")
    with pytest.raises(ConnectionError):
        await runner.apply(flaky, event)
    await runner.apply(flaky, event)
    await runner.apply(flaky, event)  # a redelivery: nothing happens
    async with engine.connect() as connection:
        rows = (await connection.execute(select(totals.c.total))).scalars().all()
    assert attempts == [1, 1] and rows == [2]


async def test_keyset_pages_visit_every_row_once_even_with_equal_sort_keys(
    database: tuple[ServiceSettings, AsyncEngine],
) -> None:
    _, engine = database
    import datetime as dt

    base = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    rows = [
        {"id": f"l{n:03d}", "sent_at": base + dt.timedelta(minutes=n // 4), "sequence": n}
        for n in range(53)
    ]
    async with db.transaction(engine) as connection:
        await connection.execute(insert(letters), rows)

    async def visit(*, descending: bool) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            query = pagination.keyset(
                select(letters),
                order_by=[letters.c.sent_at, letters.c.id],
                cursor=cursor,
                limit=10,
                descending=descending,
            )
            async with engine.connect() as connection:
                found = (await connection.execute(query)).all()
            page = pagination.keyset_page(found, limit=10, key=lambda r: (r.sent_at, r.id))
            seen += [row.id for row in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    ascending = await visit(descending=False)
    assert ascending == [r["id"] for r in rows]
    assert await visit(descending=True) == list(reversed(ascending))


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90IGpzb24",  # "not json"
        pagination.encode_key(["2026-01-05T08:00:00"]),  # one value for two columns
        pagination.encode_key(["2026-01-05T08:00:00", 7]),  # a number for a text id
        pagination.encode_key(["2026-01-05T08:00:00", "l001"]),  # a time without its zone
        pagination.encode_key([{"$gt": ""}, "l001"]),
    ],
)
def test_a_cursor_the_list_did_not_hand_out_is_a_400(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        pagination.keyset(
            select(letters),
            order_by=[letters.c.sent_at, letters.c.id],
            cursor=cursor,
            limit=10,
        )
    assert raised.value.status == 400
    assert json.loads(json.dumps(raised.value.detail))  # a plain, serialisable detail
