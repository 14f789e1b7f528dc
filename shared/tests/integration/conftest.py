"""A private Kafka broker a test may stop and start, and probe services with databases of their own."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db
from mpp_shared.settings import ServiceSettings
from mpp_shared.testing import Databases

_spec = importlib.util.spec_from_file_location(
    "local_platform", Path(__file__).resolve().parents[3] / "deploy" / "local" / "localctl.py"
)
assert _spec and _spec.loader
localctl = importlib.util.module_from_spec(_spec)
sys.modules["local_platform"] = localctl
_spec.loader.exec_module(localctl)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateKafka:
    """A single-node KRaft broker in a temporary folder, on ports of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.controller_port = _free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        libs = localctl.kafka_libs()
        if not (libs / ".complete").exists():
            pytest.fail(f"Kafka is not installed in {libs}; run `make servers` first")
        self.classpath = f"{libs}/*"
        template = (localctl.LOCAL / "kafka" / "server.properties").read_text()
        properties = (
            template.replace("127.0.0.1:9092", self.bootstrap).replace(
                "127.0.0.1:9093", f"127.0.0.1:{self.controller_port}"
            )
            + f"log.dirs={folder / 'data'}\n"
        )
        self.properties = folder / "server.properties"
        self.properties.write_text(properties)
        self.log4j = f"-Dlog4j2.configurationFile={localctl.LOCAL / 'kafka' / 'log4j2.yaml'}"
        subprocess.run(
            [
                "java",
                self.log4j,
                f"-Dkafka.logs.dir={folder}",
                "-cp",
                self.classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                "bXBwLXRlc3QtY2x1c3Rlcg",
                "-c",
                str(self.properties),
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "java",
                "-Xmx384m",
                self.log4j,
                f"-Dkafka.logs.dir={self.folder}",
                "-cp",
                self.classpath,
                "kafka.Kafka",
                str(self.properties),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if localctl.port_open(self.port):
                return
            time.sleep(0.2)
        raise AssertionError("private Kafka did not start within 60s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(tmp_path)
    broker.start()
    yield broker
    broker.stop()
    shutil.rmtree(tmp_path, ignore_errors=True)


PROBE_MIGRATIONS = Path(__file__).parent / "probe_migrations"


@dataclass
class Probe:
    """A probe service of these tests with its own database: outbox, inbox and `totals`."""

    settings: ServiceSettings
    engine: AsyncEngine

    async def total(self, counter_id: str) -> int | None:
        async with self.engine.connect() as connection:
            found = await connection.execute(
                text("SELECT total FROM totals WHERE counter_id = :id"), {"id": counter_id}
            )
            return found.scalar()


@pytest.fixture
async def probe(
    make_settings: Callable[..., ServiceSettings], postgres: Databases, request: Any
) -> AsyncIterator[Probe]:
    """A probe service named after the test, its database migrated, on this run's servers."""
    name = "p" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]
    settings = make_settings(name, postgres_user="mpp_probe")
    await postgres.create(settings)
    await db.migrate(settings, PROBE_MIGRATIONS)
    engine = db.create_engine(settings)
    yield Probe(settings, engine)
    await engine.dispose()
