"""Benchmark: citizens' uploads through the documents service against putting the same files
straight into S3, same run, same client concurrency.

The target: "upload through the service at least 70% of direct S3 throughput", with 1 MB and
5 MB files of both kinds a citizen sends: a scanned PDF (JPEG pages, as scanners and phone
scanner apps make them) and a phone photo (a JPEG with EXIF and a GPS position). Each file is
uploaded four ways, one after the other, by the same number of concurrent clients:
- the ceiling: a direct S3 put with the S3 client (`minio` in a thread, as the service puts);
- a direct S3 PUT to a presigned URL with the HTTP client (what a phone does first on the
  presigned path), for context;
- the service's multipart endpoint (`POST /api/v1/documents`);
- the presigned path: announce (`POST /api/v1/documents/uploads`), POST the signed form to S3
  (which accepts only the announced size), finalize.

The service runs as its own process (`python -m documents`, as deployed), so the benchmark's
client does not share its event loop or CPU time with it. Throughput in MB/s (10^6 bytes) and
files/s, p50/p99 latency per file, errors, each way's MB/s as a share of the direct put's, and
the CPU time the service's process used per file (read from /proc: on a machine shared with
other work, throughput moves with the neighbours' load; the service's own CPU cost does not).
Written through `benchmarks/results.py` to `benchmarks/results/<date>.{json,md,png}`.

    uv run python benchmarks/bench_documents.py [--rounds 6] [--concurrency 4]
    # profile the service meanwhile (py-spy from PyPI):
    uv run --with py-spy python benchmarks/bench_documents.py --profile /tmp/documents.svg
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import stack
from PIL import Image, ImageDraw
from results import Measured, Report, Scenario

from documents.settings import Settings
from mpp_shared import blobs, db, telemetry
from mpp_shared.local import postgres_admin_url, postgres_port
from mpp_shared.testing import Tokens

MIB = 1024 * 1024
TARGET = 0.70  # of the direct put's MB/s


@dataclass(frozen=True)
class Sample:
    """One file a citizen uploads."""

    label: str
    filename: str
    content: bytes
    content_type: str


def _closest(make: Callable[[float], bytes], target: int, low: float, high: float) -> bytes:
    """The output of `make(x)` closest to `target` bytes, by bisection on x (size grows with x)."""
    best = make(high)
    for _ in range(9):
        middle = (low + high) / 2
        made = make(middle)
        if abs(len(made) - target) < abs(len(best) - target):
            best = made
        if len(made) < target:
            low = middle
        else:
            high = middle
        if abs(len(best) - target) < target * 0.01:
            break
    return best


def scan_pdf(target: int, pages: int) -> bytes:
    """A scanned paper: A4 pages at 200 dpi as JPEG images in a PDF, about `target` bytes."""
    paper = Image.new("L", (1654, 2339), 250)
    draw = ImageDraw.Draw(paper)
    for line in range(70):
        draw.text((120, 140 + line * 30), f"SURAT KETERANGAN {line:02d} " + "x" * 70, fill=20)

    def make(grain: float) -> bytes:
        sheets = [
            Image.blend(paper, Image.effect_noise(paper.size, 64), grain / 100).convert("RGB")
            for _ in range(pages)
        ]
        out = io.BytesIO()
        sheets[0].save(
            out, format="PDF", resolution=200, save_all=True, append_images=sheets[1:], quality=80
        )
        return out.getvalue()

    return _closest(make, target, 0.0, 100.0)


def phone_photo(target: int, size: tuple[int, int]) -> bytes:
    """A phone photo: a JPEG of `size` pixels with the maker and a GPS position in its EXIF."""
    width, height = size
    sky = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 12", 1
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (5.0, 7.0, 30.0), "E", (120.0, 15.0, 0.0)
    channels = [Image.effect_noise((width, height), 40 + 10 * band) for band in range(3)]
    grain = Image.merge("RGB", channels)

    def make(amount: float) -> bytes:
        out = io.BytesIO()
        Image.blend(sky, grain, amount / 100).save(out, format="JPEG", quality=88, exif=exif)
        return out.getvalue()

    return _closest(make, target, 0.0, 100.0)


def samples() -> list[Sample]:
    """The four files of the target: a PDF scan and a phone photo of 1 MB and of 5 MB."""
    return [
        Sample("PDF scan 1 MB", "scan-1mb.pdf", scan_pdf(1 * MIB, pages=1), "application/pdf"),
        Sample("photo 1 MB", "foto-1mb.jpg", phone_photo(1 * MIB, (2016, 1512)), "image/jpeg"),
        Sample("PDF scan 5 MB", "scan-5mb.pdf", scan_pdf(5 * MIB, pages=5), "application/pdf"),
        Sample("photo 5 MB", "foto-5mb.jpg", phone_photo(5 * MIB, (4032, 3024)), "image/jpeg"),
    ]


@dataclass
class Run:
    """What one way of uploading did with one file: latencies, errors, wall and CPU time."""

    latencies_ms: list[float]
    errors: int
    seconds: float
    files: int
    service_cpu_seconds: float = 0.0


async def timed(
    action: Callable[[], Awaitable[None]], *, count: int, concurrency: int, service_pid: int
) -> Run:
    """`count` actions, `concurrency` at a time; failures counted, not raised."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        async with gate:
            started = time.perf_counter()
            try:
                await action()
            except Exception as exc:  # a failed upload is counted, the run goes on
                errors += 1
                if errors <= 3:
                    print(f"    error: {exc!r}"[:300], flush=True)
                return
            latencies.append((time.perf_counter() - started) * 1000)

    started, cpu = time.perf_counter(), stack.cpu_seconds(service_pid)
    await asyncio.gather(*(one() for _ in range(count)))
    wall = time.perf_counter() - started
    return Run(latencies, errors, wall, count, stack.cpu_seconds(service_pid) - cpu)


def combined(name: str, runs: list[tuple[Run, int]]) -> Measured:
    """One way's runs as one measurement: MB/s over everything it uploaded."""
    seconds = sum(run.seconds for run, _ in runs)
    megabytes = sum(run.files * size for run, size in runs) / 1e6
    return Measured(
        name=name,
        latencies_ms=[ms for run, _ in runs for ms in run.latencies_ms],
        rate=megabytes / seconds,
        unit="MB/s",
        errors=sum(run.errors for run, _ in runs),
    )


def files_per_second(runs: list[tuple[Run, int]]) -> float:
    return sum(run.files for run, _ in runs) / sum(run.seconds for run, _ in runs)


def service_cpu_ms_per_file(runs: list[tuple[Run, int]]) -> float:
    """The service process's CPU time per file: what a busy machine does not blur."""
    return 1000 * sum(run.service_cpu_seconds for run, _ in runs) / sum(r.files for r, _ in runs)


def print_table(title: str, rows: list[tuple[Measured, float, float]], ceiling: Measured) -> None:
    print(f"\n{title}")
    print(
        f"  {'':<38} {'MB/s':>8} {'files/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
        f" {'vs direct':>9} {'service CPU ms/file':>20}"
    )
    for measured, files, cpu in rows:
        share = (measured.rate or 0) / (ceiling.rate or 1)
        print(
            f"  {measured.name:<38} {measured.rate or 0:8.2f} {files:8.2f}"
            f" {measured.percentile(50) or 0:8.1f} {measured.percentile(99) or 0:8.1f}"
            f" {measured.errors:6d} {share:9.0%} {cpu:20.1f}",
            flush=True,
        )


def start_service(
    settings: Settings, tokens: Tokens, port: int, profile: Path | None
) -> subprocess.Popen[bytes]:
    """`python -m documents` on `port`, optionally under `py-spy record`."""
    environment = os.environ | {
        "MPP_NAMESPACE": settings.namespace,
        "MPP_HTTP_PORT": str(port),
        "MPP_POSTGRES_PORT": str(settings.postgres_port),
        "MPP_KAFKA_PARTITIONS": "1",
        "MPP_JWKS": tokens.jwks,
        "MPP_LOG_LEVEL": "WARNING",
        "MPP_CLEANUP_INTERVAL_SECONDS": "3600",
    }
    command = [sys.executable, "-m", "documents"]
    if profile is not None:
        kind = {".txt": "raw", ".json": "speedscope"}.get(profile.suffix, "flamegraph")
        command = ["py-spy", "record", "-r", "200", "-f", kind, "-o", str(profile), "--", *command]
    return subprocess.Popen(command, env=environment)


async def scenarios(
    *, rounds: int, concurrency: int, only: str = "", profile: Path | None = None
) -> list[Scenario]:
    """The four files uploaded four ways by a documents service of its own namespace."""
    namespace = f"bench{secrets.token_hex(3)}"
    port = stack.free_port()
    settings = Settings(namespace=namespace, kafka_partitions=1, postgres_port=postgres_port())
    admin = postgres_admin_url()
    await db.ensure_database(admin, settings)
    tokens = Tokens()
    started = time.perf_counter()
    files = [f for f in samples() if only.lower() in f.label.lower()]
    print(
        "Files: "
        + ", ".join(f"{f.label} = {len(f.content) / 1e6:.2f} MB" for f in files)
        + f" (made in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    s3 = blobs.create_s3(settings)
    await blobs.ensure_bucket(s3, settings.bucket_name)
    service = start_service(settings, tokens, port, profile)
    count = rounds * concurrency
    ways = ["direct S3 put (minio client)", "direct S3 PUT to a presigned URL", "service multipart"]
    ways.append("service presigned: form POST + finalize")
    runs: dict[str, list[tuple[Run, int]]] = {way: [] for way in ways}
    by_file: dict[str, dict[str, Run]] = {}
    try:
        limits = httpx.Limits(max_connections=concurrency * 2)
        async with (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
            ) as http,
            httpx.AsyncClient(timeout=120, limits=limits) as storage,
        ):
            await stack.until_ready(f"http://127.0.0.1:{port}", service, "documents")
            pid = stack.child_of(service.pid, "py-spy") if profile else service.pid
            print(f"Service pid {pid} on port {port}", flush=True)
            citizen = tokens.headers("citizen", subject=f"bench-{secrets.token_hex(3)}", ttl=3600)

            def direct(sample: Sample) -> Callable[[], Awaitable[None]]:
                async def put() -> None:
                    key = f"bench/{secrets.token_hex(8)}/{sample.filename}"
                    await asyncio.to_thread(
                        s3.put_object,
                        settings.bucket_name,
                        key,
                        io.BytesIO(sample.content),
                        len(sample.content),
                        sample.content_type,
                    )

                return put

            def presigned_put(sample: Sample) -> Callable[[], Awaitable[None]]:
                async def put() -> None:
                    key = f"bench/{secrets.token_hex(8)}/{sample.filename}"
                    url = s3.presigned_put_object(settings.bucket_name, key)
                    (await storage.put(url, content=sample.content)).raise_for_status()

                return put

            def multipart(sample: Sample) -> Callable[[], Awaitable[None]]:
                async def post() -> None:
                    response = await http.post(
                        "/api/v1/documents",
                        files={"file": (sample.filename, sample.content, sample.content_type)},
                        headers=citizen,
                    )
                    response.raise_for_status()

                return post

            def presigned(sample: Sample) -> Callable[[], Awaitable[None]]:
                async def upload() -> None:
                    announced = await http.post(
                        "/api/v1/documents/uploads",
                        json={"filename": sample.filename, "size": len(sample.content)},
                        headers=citizen,
                    )
                    announced.raise_for_status()
                    ticket = announced.json()
                    sent = await storage.post(
                        ticket["upload_url"],
                        data=ticket["fields"],
                        files={"file": (sample.filename, sample.content, sample.content_type)},
                    )
                    sent.raise_for_status()
                    finished = await http.post(ticket["finalize_url"], headers=citizen)
                    finished.raise_for_status()
                    if finished.json()["status"] != "available":
                        raise RuntimeError(f"finalized as {finished.json()}")

                return upload

            makers = [direct, presigned_put, multipart, presigned]
            for sample in files:  # warm up every path and connection
                for make in makers:
                    await timed(
                        make(sample), count=concurrency, concurrency=concurrency, service_pid=pid
                    )
            for sample in files:
                by_file[sample.label] = {}
                for way, make in zip(ways, makers, strict=True):
                    run = await timed(
                        make(sample), count=count, concurrency=concurrency, service_pid=pid
                    )
                    runs[way].append((run, len(sample.content)))
                    by_file[sample.label][way] = run
    finally:
        stack.stop(service)
        for item in s3.list_objects(settings.bucket_name, recursive=True):
            s3.remove_object(settings.bucket_name, item.object_name)
        s3.remove_bucket(settings.bucket_name)
        await db.drop_databases(admin, prefix=f"{namespace}_")

    found: list[Scenario] = []
    everything = "all four files" if len(files) == 4 else " and ".join(f.label for f in files)
    scenarios = [(everything, {way: runs[way] for way in ways})]
    scenarios += [
        (label, {way: [(run, len(f.content))] for way, run in per_way.items()})
        for label, per_way in by_file.items()
        for f in files
        if f.label == label
    ]
    for title, per_way in scenarios:
        measured = {way: combined(way, way_runs) for way, way_runs in per_way.items()}
        ceiling = measured[ways[0]]
        through = [measured[way] for way in ways[1:]]
        scenario = Scenario(
            key=f"documents.upload.{title.replace(' ', '-').lower()}",
            title=f"Uploads, {title}: service vs direct S3 ({concurrency} concurrent)",
            ceiling=ceiling,
            measured=through,
            target=f"service paths >= {TARGET:.0%} of the direct put's MB/s",
            met=all(
                (m.rate or 0) >= TARGET * (ceiling.rate or 0) and not m.errors
                for m in through
                if m.name.startswith("service")
            ),
            notes=[
                f"{way}: {files_per_second(way_runs):.2f} files/s,"
                f" service CPU {service_cpu_ms_per_file(way_runs):.1f} ms/file"
                for way, way_runs in per_way.items()
            ],
        )
        print_table(
            scenario.title,
            [
                (
                    measured[way],
                    files_per_second(per_way[way]),
                    service_cpu_ms_per_file(per_way[way]),
                )
                for way in ways
            ],
            ceiling,
        )
        found.append(scenario)
    return found


async def main(arguments: argparse.Namespace) -> None:
    report = Report(
        context={
            "benchmark": "bench_documents.py",
            "concurrency": arguments.concurrency,
            "files per way and file": arguments.rounds * arguments.concurrency,
            "command": " ".join(sys.argv),
        }
    )
    report.scenarios += await scenarios(
        rounds=arguments.rounds,
        concurrency=arguments.concurrency,
        only=arguments.only,
        profile=arguments.profile,
    )
    report.context["load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report.write()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=6, help="files per way = rounds x clients")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--profile", type=Path, help="record the service with py-spy: .svg, .txt (collapsed), .json"
    )
    parser.add_argument("--only", default="", help="only the files whose label has this")
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(parser.parse_args()))
