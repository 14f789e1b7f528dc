"""Benchmark: uploading citizens' documents through the documents service against putting the
same files straight into S3, same run.

The service does what a direct put does not: reads the multipart form, sniffs the type, checks a
PDF is whole, re-encodes photos without their metadata, hashes, stores in S3 and records the
metadata with its event. Both paths run against the same local S3 server; the service runs with
uvicorn on a local port in this process, so both pay real HTTP.
Prints throughput in files/s and MB/s and the ratio to the direct put. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from PIL import Image
from reportlab.pdfgen import canvas

from documents.app import create_app
from documents.settings import Settings
from mpp_shared import blobs, db, telemetry
from mpp_shared.auth import AuthSettings, TokenVerifier
from mpp_shared.local import postgres_admin_url, postgres_port
from mpp_shared.testing import Tokens

FILES = 40
CONCURRENCY = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sample_files() -> list[tuple[str, bytes, str]]:
    """Half scanned PDFs (~150 KB), half phone photos (~300 KB JPEG)."""
    files = []
    for number in range(FILES // 2):
        out = io.BytesIO()
        page = canvas.Canvas(out, pageCompression=0)
        for line in range(2000):
            page.drawString(40, 800 - (line % 60) * 13, f"{number} baris {line} " + "x" * 60)
            if line % 60 == 59:
                page.showPage()
        page.save()
        files.append((f"scan-{number}.pdf", out.getvalue(), "application/pdf"))
        image = Image.effect_noise((900, 700), 60).convert("RGB")
        photo = io.BytesIO()
        image.save(photo, format="JPEG", quality=85)
        files.append((f"foto-{number}.jpg", photo.getvalue(), "image/jpeg"))
    return files


async def timed(
    action: Callable[[tuple[str, bytes, str]], Awaitable[Any]], files: list[Any]
) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: tuple[str, bytes, str]) -> None:
        async with gate:
            await action(item)

    started = time.perf_counter()
    await asyncio.gather(*(one(item) for item in files))
    return time.perf_counter() - started


def report(files: list[tuple[str, bytes, str]], rows: list[tuple[str, float]]) -> None:
    megabytes = sum(len(content) for _, content, _ in files) / 1e6
    print(f"\nUpload {len(files)} files ({megabytes:.1f} MB), {CONCURRENCY} at a time")
    baseline = rows[0][1]
    for name, seconds in rows:
        print(
            f"  {name:<44} {len(files) / seconds:7.1f} files/s {megabytes / seconds:7.2f} MB/s"
            f"   {baseline / seconds:5.2f}x direct put"
        )


async def main() -> None:
    namespace = f"bench{secrets.token_hex(3)}"
    port = free_port()
    settings = Settings(
        namespace=namespace, kafka_partitions=1, http_port=port, postgres_port=postgres_port()
    )
    admin = postgres_admin_url()
    await db.ensure_database(
        admin,
        database=settings.postgres_database_name,
        role=settings.postgres_role,
        password=settings.postgres_password.get_secret_value(),
    )
    tokens = Tokens()
    files = sample_files()
    s3 = blobs.create_s3(settings)
    await blobs.ensure_bucket(s3, settings.bucket_name)
    app = create_app(settings)
    app.state.token_verifier = TokenVerifier(AuthSettings(jwks=tokens.jwks))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(600):  # uvicorn offers no event for "started"
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:

            async def direct(item: tuple[str, bytes, str]) -> None:
                name, content, content_type = item
                key = f"bench/{secrets.token_hex(8)}/{name}"
                await asyncio.to_thread(
                    s3.put_object,
                    settings.bucket_name,
                    key,
                    io.BytesIO(content),
                    len(content),
                    content_type,
                )

            async def through(item: tuple[str, bytes, str]) -> None:
                response = await http.post(
                    "/api/v1/documents",
                    files={"file": item},
                    headers=tokens.headers("citizen", subject=f"bench-{secrets.token_hex(3)}"),
                )
                response.raise_for_status()

            await timed(direct, files[:4])
            await timed(through, files[:4])  # warm up connections and code paths
            report(
                files,
                [
                    ("direct S3 put (baseline)", await timed(direct, files)),
                    ("through the documents service", await timed(through, files)),
                ],
            )
    finally:
        server.should_exit = True
        await task
        for item in s3.list_objects(settings.bucket_name, recursive=True):
            s3.remove_object(settings.bucket_name, item.object_name)
        s3.remove_bucket(settings.bucket_name)
        await db.drop_databases(admin, prefix=f"{namespace}_")


if __name__ == "__main__":
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main())
