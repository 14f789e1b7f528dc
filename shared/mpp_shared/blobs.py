"""The S3 client (any S3 server: versitygw locally, Ceph RGW or a cloud bucket in production)."""

from __future__ import annotations

import asyncio

from minio import Minio

from mpp_shared.settings import S3Settings


def create_s3(settings: S3Settings) -> Minio:
    """A client for the configured S3 server; it is synchronous, so call it in a thread."""
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


async def check(client: Minio) -> None:
    """Raise unless the S3 server answers an authenticated request."""
    await asyncio.to_thread(client.list_buckets)


async def ensure_bucket(client: Minio, bucket: str) -> None:
    """Create the bucket unless it exists."""
    if not await asyncio.to_thread(client.bucket_exists, bucket):
        await asyncio.to_thread(client.make_bucket, bucket)
