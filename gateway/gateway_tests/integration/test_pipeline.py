"""The event pipeline's health read from the real Kafka: consumer groups' lag and dead-letter
topics' sizes, within this run's namespace; Kafka away is reported, not raised."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from gateway.pipeline import PipelineHealth, PipelineProbe
from gateway.settings import Settings
from mpp_shared.kafka import ensure_topics

from ..conftest import make_gateway_settings


async def health(settings: Settings) -> PipelineHealth:
    """A fresh read (a probe remembers its last one for a moment)."""
    probe = PipelineProbe(settings)
    try:
        return await probe.read()
    finally:
        await probe.close()


async def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for number in range(count):
            await producer.send_and_wait(topic, f"record {number}".encode())
    finally:
        await producer.stop()


async def test_records_parked_in_a_dead_letter_topic_are_counted(
    namespace: str, kafka: str
) -> None:
    settings = make_gateway_settings(namespace)
    await ensure_topics(kafka, [settings.dlq_topic], partitions=1)
    before = await health(settings)
    assert before.available, before.reason

    await produce(kafka, settings.dlq_topic, 3)

    after = await health(settings)
    sizes = {d.topic: d.size for d in after.dead_letters}
    assert (
        sizes[settings.dlq_topic]
        == {d.topic: d.size for d in before.dead_letters}.get(settings.dlq_topic, 0) + 3
    )
    assert after.total_dead_letters == sum(sizes.values())
    assert all(topic.startswith(f"{namespace}.") for topic in sizes), "this namespace's only"


async def test_a_consumer_group_behind_shows_its_lag(namespace: str, kafka: str) -> None:
    settings = make_gateway_settings(namespace)
    topic = settings.topic(f"pipeline.lag.{time.monotonic_ns()}")
    group = settings.topic(f"gateway.lag-test.{time.monotonic_ns()}")  # named after a service
    await ensure_topics(kafka, [topic], partitions=1)
    await produce(kafka, topic, 5)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.commit({partition: 2})
    finally:
        await consumer.stop()

    found = await health(settings)

    lags = {c.group: c.lag for c in found.consumers}
    assert lags[group] == 3, "five records, two of them processed"
    assert found.total_lag == sum(lags.values())
    assert all(name.startswith(f"{namespace}.") for name in lags), "this namespace's only"


async def test_kafka_away_is_reported_not_raised(namespace: str) -> None:
    settings = make_gateway_settings(namespace, kafka_bootstrap="127.0.0.1:9")
    started = time.monotonic()

    found = await health(settings)

    assert not found.available
    assert found.reason is not None and found.reason.startswith("unavailable")
    assert (found.consumers, found.dead_letters) == ([], [])
    assert found.total_lag is None and found.total_dead_letters is None
    assert time.monotonic() - started < 10
