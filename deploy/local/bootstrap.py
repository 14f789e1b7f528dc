"""Create the platform's databases and roles, topics, dead-letter topics and bucket on the local
servers (idempotent)."""

from __future__ import annotations

import asyncio

from mpp_shared import blobs, db, topics
from mpp_shared.kafka import ensure_topics
from mpp_shared.local import SERVICES, postgres_admin_url
from mpp_shared.settings import S3Settings, ServiceSettings

CONSUMERS = ("applications", "documents", "notifications")
BUCKETS = ("documents",)


async def main() -> None:
    for service in SERVICES:
        own = ServiceSettings(service_name=service)
        await db.ensure_database(postgres_admin_url(), own)
    settings = ServiceSettings(service_name="bootstrap")
    names = [settings.topic(t) for t in (*topics.ALL, *(topics.dlq_of(c) for c in CONSUMERS))]
    compacted = [settings.topic(name) for name in topics.COMPACTED]
    await ensure_topics(
        settings.kafka_bootstrap,
        names,
        partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
        compacted=compacted,
        retention_ms={settings.topic(k): v for k, v in topics.SHORT_LIVED.items()},
    )
    s3 = blobs.create_s3(S3Settings())
    for bucket in BUCKETS:
        await blobs.ensure_bucket(s3, settings.bucket(bucket))
    print(f"{len(SERVICES)} databases, {len(names)} topics and {len(BUCKETS)} bucket ready")


if __name__ == "__main__":
    asyncio.run(main())
