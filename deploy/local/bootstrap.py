"""Create the platform's topics, dead-letter topics and bucket on the local servers (idempotent)."""

from __future__ import annotations

import asyncio
import os

from minio import Minio

from mpp_shared import topics
from mpp_shared.kafka import ensure_topics

CONSUMERS = ("applications", "documents", "notifications")
BUCKETS = ("documents",)


async def main() -> None:
    bootstrap = os.environ.get("MPP_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    names = [*topics.ALL, *(topics.dlq_of(c) for c in CONSUMERS)]
    await ensure_topics(bootstrap, names, partitions=3)
    s3 = Minio(
        os.environ.get("MPP_S3_ENDPOINT", "127.0.0.1:9000"),
        access_key=os.environ["MPP_S3_ACCESS_KEY"],
        secret_key=os.environ["MPP_S3_SECRET_KEY"],
        secure=False,
    )
    for bucket in BUCKETS:
        if not s3.bucket_exists(bucket):
            s3.make_bucket(bucket)
    print(f"{len(names)} topics and {len(BUCKETS)} bucket ready")


if __name__ == "__main__":
    asyncio.run(main())
