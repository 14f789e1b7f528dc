"""The five deployables started as processes, as in production, inside this run's namespace."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("catalog", "applications", "documents", "notifications")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Platform:
    """The running deployables and how to reach them."""

    folder: Path
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def start(self, name: str) -> None:
        env = self.env | {"MPP_SERVICE_NAME": name, "MPP_HTTP_PORT": str(self.ports[name])}
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", name], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        url = f"http://127.0.0.1:{self.ports[name]}/ready"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise AssertionError(
                    f"{name} exited: {(self.folder / f'{name}.log').read_text()[-3000:]}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{name} not ready after {timeout}s")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def platform(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Gateway and services on free ports, sharing the real servers but not their data."""
    folder = tmp_path_factory.mktemp("platform")
    ports = {name: _free_port() for name in (*SERVICES, "gateway")}
    env = dict(os.environ) | {
        "MPP_NAMESPACE": namespace,
        "MPP_ENVIRONMENT": "test",
        "MPP_KAFKA_PARTITIONS": "1",
        **{f"MPP_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICES},
        "MPP_JWKS_URL": f"http://127.0.0.1:{ports['gateway']}/api/v1/.well-known/jwks.json",
    }
    env.pop("MPP_JWKS", None)
    running = Platform(folder=folder, env=env, ports=ports)
    seeded = subprocess.run(
        [sys.executable, "-m", "catalog.seed", "load"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    try:
        for name in (*SERVICES, "gateway"):
            running.start(name)
        yield running
    finally:
        for name in list(running.processes):
            running.stop(name)
