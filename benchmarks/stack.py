"""The platform's services started for a benchmark, each its own process as deployed.

`started(namespace)` runs `python -m <service>` for the catalog, applications, documents,
notifications and the gateway on free ports, pointed at the local servers (`make servers`) and at
each other, in the given namespace (`volume` after `make seed-volume`), and stops them at the end.
The benchmark's client runs in another process, so it does not share the services' event loops.
Each process's CPU time is read from /proc, and any of them can run under `py-spy record`.

The gateway's rate limits are raised for the run: benchmarks send hundreds of requests a second
from one address, which the limits exist to refuse; everything else is the services' own defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from mpp_shared.local import postgres_port

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / ".data" / "logs"
LOCKS = REPO / ".data" / "run"
SERVICES = ("catalog", "applications", "documents", "notifications", "gateway")
UNLIMITED = "1000000/minute"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux `/proc`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Service:
    """One running service: its address and its process (the Python one, under py-spy too)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    pid: int = 0

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


@dataclass
class Stack:
    """The running services by name."""

    namespace: str
    services: dict[str, Service]

    def url(self, name: str) -> str:
        return self.services[name].url

    def cpu_seconds(self) -> dict[str, float]:
        return {name: service.cpu_seconds() for name, service in self.services.items()}

    async def settle(
        self, *, idle_share: float = 0.1, timeout: float = 600.0
    ) -> tuple[float, bool]:
        """Wait until the services together use under `idle_share` of a core over 2 s: a fresh
        start replays the compacted topics into the read models and runs the first clock
        checks, and an earlier run's messages may still be going out at the SMS provider's
        rate (20 a second); either would otherwise land in the first measurements. Returns the
        seconds waited and whether they settled within `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = sum(self.cpu_seconds().values())
            await asyncio.sleep(2.0)
            if (sum(self.cpu_seconds().values()) - before) / 2.0 < idle_share:
                return time.monotonic() - started, True
        return time.monotonic() - started, False


PROFILE_HELP = "SERVICE=FILE: run the service under py-spy record (.svg, .txt, .json)"


def profile_argument(text: str) -> tuple[str, Path]:
    """`applications=/tmp/a.svg` as ("applications", Path("/tmp/a.svg"))."""
    name, _, path = text.partition("=")
    if name not in SERVICES or not path:
        raise SystemExit(f"--profile takes SERVICE=FILE with SERVICE one of {', '.join(SERVICES)}")
    return name, Path(path)


def environment(namespace: str, ports: dict[str, int]) -> dict[str, str]:
    """What every service is given: the namespace, the local servers, the others' addresses."""
    gateway = f"http://127.0.0.1:{ports['gateway']}" if "gateway" in ports else None
    env = os.environ | {
        "MPP_NAMESPACE": namespace,
        "MPP_POSTGRES_PORT": str(postgres_port()),
        "MPP_S3_ACCESS_KEY": "mppdev",
        "MPP_S3_SECRET_KEY": "development-only-secret-change-me",
        "MPP_LOG_LEVEL": "WARNING",
        "MPP_RATE_LIMIT_PER_CLIENT": UNLIMITED,
        "MPP_RATE_LIMIT_PER_ACCOUNT": UNLIMITED,
        "MPP_RATE_LIMIT_AUTH_PER_CLIENT": UNLIMITED,
    }
    if gateway:
        env["MPP_JWKS_URL"] = f"{gateway}/api/v1/.well-known/jwks.json"
    for name, port in ports.items():
        env[f"MPP_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
    return env


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def child_of(pid: int, what: str) -> int:
    """The pid of a process's first child (py-spy's service, nginx's worker), once it has one."""
    for _ in range(200):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError(f"{what} started no child process")


async def until_ready(
    url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 180.0
) -> None:
    """Until `url/ready` answers 200; an error if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {LOGS}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{url}/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} was not ready in {timeout:.0f} s")


def stop(
    process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGINT, wait: float = 60
) -> None:
    """Ask a process to stop (SIGINT: uvicorn shuts down cleanly, py-spy writes its profile
    first), and kill it if it has not after `wait` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.asynccontextmanager
async def started(
    namespace: str,
    names: Iterable[str] = SERVICES,
    *,
    profile: dict[str, Path] | None = None,
    extra: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """The services `names` running in `namespace` until the block ends.

    `profile` maps a service to a py-spy output (.svg flame graph, .txt collapsed stacks,
    .json speedscope); py-spy must be importable (`uv run --with py-spy ...`)."""
    names = list(names)
    profile = profile or {}
    # Two stacks in one namespace share consumer groups and outboxes: each would take part of
    # the other's work and figures. The second waits for the first.
    LOCKS.mkdir(parents=True, exist_ok=True)
    lock = (LOCKS / f"bench-{namespace}.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another benchmark runs in the namespace {namespace}; waiting for it", flush=True)
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
    ports = {name: free_port() for name in names}
    env = environment(namespace, ports) | (extra or {})
    LOGS.mkdir(parents=True, exist_ok=True)
    stack = Stack(namespace=namespace, services={})
    try:
        for name in names:
            command = [sys.executable, "-m", name]
            if name in profile:
                out = profile[name]
                kind = {".txt": "raw", ".json": "speedscope"}.get(out.suffix, "flamegraph")
                command = ["py-spy", "record", "-r", "100", "-f", kind, "-o", str(out), "--"]
                command += [sys.executable, "-m", name]
            own = env | {"MPP_HTTP_PORT": str(ports[name]), "MPP_SERVICE_NAME": name}
            process = _spawn(command, own, LOGS / f"bench-{name}.log")
            service = Service(name, f"http://127.0.0.1:{ports[name]}", process)
            stack.services[name] = service
            service.pid = child_of(process.pid, "py-spy") if name in profile else process.pid
        # the gateway first: the others fetch its keys when they check a token
        for name in sorted(names, key=lambda n: n != "gateway"):
            service = stack.services[name]
            await until_ready(service.url, service.process, service.name)
        yield stack
    finally:
        for service in stack.services.values():
            stop(service.process)
        lock.close()
