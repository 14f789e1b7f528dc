"""Benchmark: the outbox relay and the consumer runner against plain Kafka clients, same run.

Prints each path's events per second and its ratio to a baseline measured in the same run on the
same servers, so the figures compare across machines. Uses its own namespace; drops it after.
Run with `make bench` (servers must be running: `make servers`).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel
from sqlalchemy import Column, Integer, Table, Text, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, events, inbox, outbox
from mpp_shared.events import Event
from mpp_shared.kafka import ConsumerRunner, create_producer, ensure_topics
from mpp_shared.local import postgres_port, scratch_databases
from mpp_shared.settings import ServiceSettings

metadata = db.metadata()
outbox.table(metadata)
inbox.table(metadata)
items = Table("items", metadata, Column("id", Text, primary_key=True), Column("n", Integer))
plain = Table("plain", metadata, Column("id", Text, primary_key=True), Column("n", Integer))


class Recorded(BaseModel):
    item_id: str
    n: int


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


def make_events(settings: ServiceSettings, count: int) -> list[Event]:
    return [
        events.new_event(
            type="bench.item.recorded.v1",
            source="/services/bench",
            subject=f"item-{n % 50}",
            data=Recorded(item_id=f"item-{n}", n=n),
        )
        for n in range(count)
    ]


async def run(count: int) -> None:
    namespace = f"bench{secrets.token_hex(3)}"
    settings = ServiceSettings(
        service_name="bench", namespace=namespace, kafka_partitions=3, postgres_port=postgres_port()
    )
    direct_topic, relay_topic = settings.topic("direct.events"), settings.topic("bench.events")
    await ensure_topics(
        settings.kafka_bootstrap, [direct_topic, relay_topic, settings.dlq_topic], partitions=3
    )
    async with scratch_databases(namespace, ["bench"]):
        engine = db.create_engine(settings)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        try:
            results = await measure(settings, engine, count, direct_topic)
        finally:
            await engine.dispose()
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
            await admin.start()
            ours = [t for t in await admin.list_topics() if t.startswith(namespace)]
            await admin.delete_topics(ours)
            await admin.close()

    print(f"\nEvent pipeline, {count} events each (events/s; ratio = baseline time / this time)\n")
    pairs = [
        ("produce directly (baseline)", "outbox relay publishes"),
        ("store: plain inserts (baseline)", "store: inserts with outbox"),
        ("consume: raw aiokafka loop (baseline)", "consume: consumer runner"),
    ]
    for baseline, measured in pairs:
        for name in (baseline, measured):
            ratio = results[baseline] / results[name]
            print(f"  {name:<40} {count / results[name]:>9.0f}/s   {ratio:5.2f}x")
        print()


async def measure(
    settings: ServiceSettings, engine: Any, count: int, direct_topic: str
) -> dict[str, float]:
    """Each path's time for `count` events."""
    results: dict[str, float] = {}
    producer = create_producer(settings)
    await producer.start()

    async def produce_directly() -> None:
        sent = []
        for event in make_events(settings, count):
            record = events.to_kafka(event)
            sent.append(await producer.send(direct_topic, record.value, key=event.subject.encode()))
        await asyncio.gather(*sent)

    results["produce directly (baseline)"] = await timed(produce_directly)
    await producer.stop()

    # One transaction per row, as a service writes: the row alone, or the row and its event.
    async def plain_inserts() -> None:
        for n in range(count):
            async with db.transaction(engine) as connection:
                await connection.execute(insert(plain).values(id=f"p{n}", n=n))

    async def outbox_inserts() -> None:
        for n, event in enumerate(make_events(settings, count)):
            async with db.transaction(engine) as connection:
                await connection.execute(insert(items).values(id=f"i{n}", n=n))
                await outbox.record(connection, [event])

    results["store: plain inserts (baseline)"] = await timed(plain_inserts)
    results["store: inserts with outbox"] = await timed(outbox_inserts)

    relay = outbox.Relay(settings=settings, engine=engine, batch_size=500)

    async def drain() -> None:
        while await relay.publish_pending():
            pass

    results["outbox relay publishes"] = await timed(drain)
    await relay._close_producer()

    async def consume_raw() -> None:
        consumer = AIOKafkaConsumer(
            direct_topic,
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{settings.namespace}.raw",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        seen = 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=100)
            for partition, records in batch.items():
                for record in records:
                    events.from_json(record.value or b"")
                seen += len(records)
                await consumer.commit({partition: records[-1].offset + 1})
        await consumer.stop()

    handled = 0
    all_handled = asyncio.Event()

    async def handler(event: Event, connection: AsyncConnection) -> None:
        nonlocal handled
        handled += 1
        if handled >= count:
            all_handled.set()

    async def consume_with_runner() -> None:
        runner = ConsumerRunner(
            settings=settings,
            topics=["direct.events"],
            handlers={"bench.item.recorded.v1": handler},
            engine=engine,
        )
        task = asyncio.create_task(runner.run())
        await all_handled.wait()
        runner.stop()
        await task

    results["consume: raw aiokafka loop (baseline)"] = await timed(consume_raw)
    results["consume: consumer runner"] = await timed(consume_with_runner)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    asyncio.run(run(parser.parse_args().events))


if __name__ == "__main__":
    main()
