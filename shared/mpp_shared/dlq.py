"""`mpp-dlq`: show or replay a consumer's dead-letter topic.

Replay puts each parked record back on the topic it came from, with its original key, value and
headers; every consumer of that topic sees it again, which is safe because handlers are idempotent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from mpp_shared.kafka import DLQ_HEADERS, DLQ_TOPIC, create_producer
from mpp_shared.settings import ServiceSettings


async def replay(settings: ServiceSettings, *, dry_run: bool = False) -> int:
    """Republish every record parked in the service's DLQ since the last replay; returns count."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.consumer_group}.dlq-replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = create_producer(settings)
    await consumer.start()
    await producer.start()
    count = 0
    try:
        partitions = await _partitions(settings)
        if not partitions:
            return 0
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            while await consumer.position(partition) < ends[partition]:
                batch = await consumer.getmany(partition, timeout_ms=2_000)
                for record in batch.get(partition, []):
                    headers = dict(record.headers or ())
                    origin = headers.get(DLQ_TOPIC, b"").decode()
                    error = headers.get("dlq.error", b"").decode()
                    print(f"{partition.partition}:{record.offset} -> {origin or '?'}  {error}")
                    if origin and not dry_run:
                        kept = [(k, v) for k, v in record.headers or () if k not in DLQ_HEADERS]
                        await producer.send_and_wait(
                            origin, record.value, key=record.key, headers=kept
                        )
                    count += 1
                if not dry_run and batch.get(partition):
                    await consumer.commit({partition: batch[partition][-1].offset + 1})
    finally:
        await producer.stop()
        await consumer.stop()
    return count


async def _partitions(settings: ServiceSettings) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([settings.dlq_topic])
    finally:
        await admin.close()
    return [
        TopicPartition(settings.dlq_topic, p["partition"])
        for topic in described
        if topic["error_code"] == 0
        for p in topic["partitions"]
    ]


def main() -> None:
    """Replay (or, with --dry-run, list) the dead-letter topic of one service's consumer."""
    parser = argparse.ArgumentParser(prog="mpp-dlq", description=main.__doc__)
    parser.add_argument("service", help="the consuming service, e.g. applications")
    parser.add_argument("--dry-run", action="store_true", help="list, do not republish")
    args = parser.parse_args()
    settings = ServiceSettings(service_name=args.service)
    count = asyncio.run(replay(settings, dry_run=args.dry_run))
    verb = "listed" if args.dry_run else "replayed"
    print(f"{count} record(s) {verb} from {settings.dlq_topic}", file=sys.stderr)


if __name__ == "__main__":
    main()
