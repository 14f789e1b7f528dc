"""The S3 client (any S3 server: versitygw locally, Ceph RGW or a cloud bucket in production)."""

from __future__ import annotations

import asyncio

import urllib3
from minio import Minio

from mpp_shared.settings import S3Settings


def create_s3(settings: S3Settings) -> Minio:
    """A client for the configured S3 server; it is synchronous, so call it in a thread.

    The client's own defaults wait 5 minutes for an answer and retry a refused connection five
    times with growing pauses (about 6 s in all): a citizen's upload while S3 is away hung past
    any phone's patience. Here a connection is given 2 s and retried once, so an S3 that is away
    is a prompt 503; an answer may still take 30 s between two packets (a large file on a slow
    store)."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=2.0, read=30.0),
        maxsize=16,
        retries=urllib3.Retry(
            total=2, connect=1, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)
        ),
    )
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
        http_client=http,
    )


async def check(client: Minio) -> None:
    """Raise unless the S3 server answers an authenticated request."""
    await asyncio.to_thread(client.list_buckets)


async def ensure_bucket(client: Minio, bucket: str) -> None:
    """Create the bucket unless it exists."""
    if not await asyncio.to_thread(client.bucket_exists, bucket):
        await asyncio.to_thread(client.make_bucket, bucket)
