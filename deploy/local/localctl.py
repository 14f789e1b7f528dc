#!/usr/bin/env python3
"""Install, start, stop and inspect the local MPP Elektronik platform, without Docker.

Servers come from package registries only: Apache Kafka from Maven Central, PostgreSQL from
Debian's packages, versitygw and Mailpit built from the Go module proxy. Builds are cached in
~/.cache/mpp (MPP_CACHE_DIR); data, logs and pid files live in one folder, .data/ in the
repository (MPP_DATA_DIR).
Standard library only: this runs before the project's Python environment exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "local"
CACHE = Path(os.environ.get("MPP_CACHE_DIR", Path.home() / ".cache" / "mpp"))
DATA = Path(os.environ.get("MPP_DATA_DIR", REPO / ".data"))
LOGS = DATA / "logs"
RUN = DATA / "run"
BIN = CACHE / "bin"

UV_VERSION = "0.13.8"
KAFKA_VERSION = "4.4.0"
VERSITYGW_VERSION = "v1.8.0"
MAILPIT_VERSION = "v1.33.1"

S3_ACCESS_KEY = "mppdev"
S3_SECRET_KEY = "development-only-secret-change-me"  # noqa: S105 - the services' development default
HOST = "127.0.0.1"


class StepFailed(Exception):
    """A step could not finish; the message says why, the log says more."""

    def __init__(self, why: str, log: Path | None = None) -> None:
        super().__init__(why)
        self.log = log


def say(message: str) -> None:
    print(message, flush=True)


def step(name: str, action: Callable[[], str | None]) -> None:
    """Run one step, print what it does and how long it took; stop the whole run if it fails."""
    say(f"==> {name} ...")
    started = time.monotonic()
    try:
        note = action()
    except StepFailed as exc:
        say(f"✗ {name} failed after {time.monotonic() - started:.1f}s: {exc}")
        if exc.log and exc.log.exists():
            say(f"  log: {exc.log}  (last lines below)")
            for line in exc.log.read_text(errors="replace").splitlines()[-25:]:
                say(f"  | {line}")
        sys.exit(1)
    say(f"    {name}: {note or 'done'} ({time.monotonic() - started:.1f}s)")


def run_logged(
    cmd: list[str],
    log: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> None:
    """Run a command to completion with its output in a log file (as `user` when given)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            user=user,
            group=user,
        )
    if result.returncode != 0:
        raise StepFailed(f"`{' '.join(cmd)}` exited with {result.returncode}", log)


# --- installs ---------------------------------------------------------------------------------


def uv_path() -> Path:
    """The project's own uv, pinned and in the cache: never looked up on PATH, so the Makefile,
    this script and CI find the same uv on a machine where none was ever installed."""
    return CACHE / f"uv-{UV_VERSION}" / "bin" / "uv"


def in_env(*args: str) -> list[str]:
    """A command run in the project's Python environment, as uv.lock pins it."""
    return [str(uv_path()), "run", "--frozen", "--no-sync", *args]


def install_uv() -> str:
    uv = uv_path()
    if uv.exists():
        return f"uv {UV_VERSION} cached"
    target = uv.parent.parent
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    run_logged(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
            str(staging),
            f"uv=={UV_VERSION}",
        ],
        CACHE / "logs" / "uv.log",
    )
    if not (staging / "bin" / "uv").exists():
        raise StepFailed("pip installed uv but left no uv program", CACHE / "logs" / "uv.log")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return f"uv {UV_VERSION} installed in {target}"


def install_python_env() -> str:
    run_logged(
        [str(uv_path()), "sync", "--all-packages", "--frozen"],
        CACHE / "logs" / "uv-sync.log",
        cwd=REPO,
    )
    return "virtual environment .venv in sync with uv.lock"


WEB = REPO / "web"


def build_web() -> str:
    """The three web apps: npm packages as package-lock.json pins them, then the Vite build."""
    if not shutil.which("npm"):
        raise StepFailed("the web apps need Node.js 20 and npm (apt-get install nodejs npm)")
    lock = hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()
    stamp = WEB / "node_modules" / ".mpp-lock-sha256"
    installed = "packages cached"
    if not stamp.exists() or stamp.read_text() != lock:
        run_logged(["npm", "ci", "--no-audit", "--no-fund"], CACHE / "logs" / "npm-ci.log", cwd=WEB)
        stamp.write_text(lock)
        installed = "packages installed"
    log = CACHE / "logs" / "web-build.log"
    run_logged(["npm", "run", "--silent", "build"], log, cwd=WEB)
    return f"{installed}; built into web/dist"


def kafka_libs() -> Path:
    return CACHE / f"kafka-{KAFKA_VERSION}" / "libs"


def install_kafka() -> str:
    libs = kafka_libs()
    marker = libs / ".complete"
    if marker.exists():
        return "cached"
    if not shutil.which("mvn") or not shutil.which("java"):
        raise StepFailed(
            "Kafka needs Java 17 and Maven (apt-get install openjdk-17-jdk-headless maven)"
        )
    shutil.rmtree(libs, ignore_errors=True)
    run_logged(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(LOCAL / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-Dkafka.version={KAFKA_VERSION}",
            f"-DoutputDirectory={libs}",
        ],
        CACHE / "logs" / "kafka-install.log",
    )
    marker.touch()
    return f"{len(list(libs.glob('*.jar')))} jars from Maven Central"


# No paths of this machine and no debug information in the binaries: shorter links, smaller files.
GO_FLAGS = ["-trimpath", "-ldflags=-s -w"]


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-buildvcs=false")
    env["CGO_ENABLED"] = "0"
    return env


def go_install(module: str, version: str, name: str) -> str:
    target = BIN / f"{name}-{version}"
    if target.exists():
        return "cached"
    gobin = CACHE / "gobin" / name
    env = go_env() | {"GOBIN": str(gobin)}
    run_logged(
        ["go", "install", *GO_FLAGS, f"{module}@{version}"],
        CACHE / "logs" / f"{name}-build.log",
        env=env,
    )
    BIN.mkdir(parents=True, exist_ok=True)
    shutil.move(str(gobin / name), target)
    return f"built {target.name}"


GO_BUILDS_COLD = "about 4 minutes"  # measured on 2 cores with empty Go caches; see README


def build_go_servers() -> str:
    if not shutil.which("go"):
        raise StepFailed("Go is needed to build versitygw and Mailpit (apt-get install golang)")
    BIN.mkdir(parents=True, exist_ok=True)
    builds: dict[str, Callable[[], str]] = {
        "versitygw": lambda: go_install(
            "github.com/versity/versitygw/cmd/versitygw", VERSITYGW_VERSION, "versitygw"
        ),
        "mailpit": lambda: go_install("github.com/axllent/mailpit", MAILPIT_VERSION, "mailpit"),
    }
    cached = {
        "versitygw": (BIN / f"versitygw-{VERSITYGW_VERSION}").exists(),
        "mailpit": (BIN / f"mailpit-{MAILPIT_VERSION}").exists(),
    }
    missing = [name for name, done in cached.items() if not done]
    if missing:
        say(
            f"    building {', '.join(missing)} from the Go module proxy, side by side: first time"
            f" only, {GO_BUILDS_COLD} on 2 cores (logs in {CACHE / 'logs'})"
        )
    started = time.monotonic()
    notes: list[str] = []
    with ThreadPoolExecutor(max_workers=len(builds)) as pool:
        futures = {pool.submit(build): name for name, build in builds.items()}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=30, return_when=FIRST_COMPLETED)
            elapsed = time.monotonic() - started
            for future in done:
                note = f"{futures[future]} {future.result()}"
                notes.append(note)
                if missing:
                    say(f"    {note} ({elapsed:.0f}s)")
            if pending and not done:
                still = ", ".join(sorted(futures[f] for f in pending))
                say(f"    still building {still} ({elapsed:.0f}s)")
    return ", ".join(sorted(notes))


# --- processes --------------------------------------------------------------------------------


@dataclass
class Component:
    """A process of the platform, with how to start it and how to tell it is ready."""

    name: str
    port: int
    command: Callable[[], list[str]]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None
    url: str | None = None
    timeout: float = 90.0
    kind: str = "server"
    user: Callable[[], str | None] = lambda: None
    stop_signal: signal.Signals = signal.SIGTERM

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    @property
    def pidfile(self) -> Path:
        return RUN / f"{self.name}.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URLs only
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def kafka_command() -> list[str]:
    return [
        "java",
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOCAL / 'kafka' / 'log4j2.yaml'}",
        f"-Dkafka.logs.dir={LOGS / 'kafka'}",
        "-cp",
        f"{kafka_libs()}/*",
        "kafka.Kafka",
        str(DATA / "kafka" / "server.properties"),
    ]


def prepare_kafka() -> None:
    """Write the broker's properties and format its storage once."""
    folder = DATA / "kafka"
    (LOGS / "kafka").mkdir(parents=True, exist_ok=True)
    properties = folder / "server.properties"
    folder.mkdir(parents=True, exist_ok=True)
    base = (LOCAL / "kafka" / "server.properties").read_text()
    properties.write_text(base + f"log.dirs={folder / 'data'}\n")
    if (folder / "data" / "meta.properties").exists():
        return
    classpath = f"{kafka_libs()}/*"
    cluster_id = (
        subprocess.run(
            ["java", "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"],
            capture_output=True,
            text=True,
            check=False,
        )
        .stdout.strip()
        .splitlines()[-1:]
    )
    if not cluster_id:
        raise StepFailed("could not generate a Kafka cluster id")
    run_logged(
        [
            "java",
            f"-Dlog4j2.configurationFile={LOCAL / 'kafka' / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={LOGS / 'kafka'}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id[0],
            "-c",
            str(properties),
        ],
        LOGS / "kafka-format.log",
    )


# --- PostgreSQL: Debian's package, a private cluster in .data/postgres --------------------------

POSTGRES_DATA = DATA / "postgres"
POSTGRES_PORT_FILE = RUN / "postgres.port"
# The cluster's superuser; the services each sign in as their own role (see bootstrap.py).
POSTGRES_ADMIN = "postgres"
POSTGRES_PASSWORD = S3_SECRET_KEY  # the same development-only secret
# PostgreSQL refuses to run as root: as root, the cluster runs as this unprivileged user.
POSTGRES_OS_USER = "mpp-postgres"


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server's programs (Debian keeps them per major version)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3])
    )
    return found[-1].parent if found else None


def install_postgres() -> str:
    bindir = postgres_bindir()
    if bindir is not None:
        return f"PostgreSQL {bindir.parent.name} installed"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StepFailed("PostgreSQL is needed: apt-get install postgresql")
    log = CACHE / "logs" / "postgresql-install.log"
    run_logged(["apt-get", "update", "-qq"], log)
    run_logged(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"],
        log,
        env=dict(os.environ) | {"DEBIAN_FRONTEND": "noninteractive"},
    )
    bindir = postgres_bindir()
    if bindir is None:
        raise StepFailed("apt-get installed postgresql but no server program was found", log)
    return f"PostgreSQL {bindir.parent.name} installed from Debian's packages"


def postgres_os_user() -> str | None:
    """Who runs the cluster: this user, or an unprivileged system user when this is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        run_logged(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                POSTGRES_OS_USER,
            ],
            CACHE / "logs" / "postgres-user.log",
        )
    return POSTGRES_OS_USER


def postgres_port() -> int:
    """5432, or the next free port when another program holds it; kept for the next runs."""
    if POSTGRES_PORT_FILE.exists():
        return int(POSTGRES_PORT_FILE.read_text())
    return next((p for p in range(5432, 5452) if not port_open(p)), 5432)


def postgres_command() -> list[str]:
    bindir = postgres_bindir()
    if bindir is None:
        raise StepFailed("PostgreSQL is not installed (apt-get install postgresql)")
    return [
        str(bindir / "postgres"),
        "-D",
        str(POSTGRES_DATA),
        "-p",
        str(postgres_port()),
        "-c",
        f"listen_addresses={HOST}",
        "-c",
        f"unix_socket_directories={RUN / 'postgres'}",
        # Five services with their pools, tests beside them: more than the default 100.
        "-c",
        "max_connections=400",
        "-c",
        "shared_buffers=512MB",
        "-c",
        "log_min_duration_statement=1000",
    ]


def prepare_postgres() -> None:
    """Create the cluster once: owned by the unprivileged user, passwords for TCP sign-ins."""
    POSTGRES_PORT_FILE.write_text(str(postgres_port()))  # the tests read it there
    user = postgres_os_user()
    socket_dir = RUN / "postgres"
    socket_dir.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(socket_dir, user, user)
    if (POSTGRES_DATA / "PG_VERSION").exists():
        return
    bindir = postgres_bindir()
    if bindir is None:
        raise StepFailed("PostgreSQL is not installed (apt-get install postgresql)")
    shutil.rmtree(POSTGRES_DATA, ignore_errors=True)
    POSTGRES_DATA.mkdir(parents=True)
    password_file = RUN / "postgres-initdb.pw"
    password_file.write_text(POSTGRES_PASSWORD + "\n")
    if user:
        shutil.chown(POSTGRES_DATA, user, user)
        shutil.chown(password_file, user, user)
    try:
        run_logged(
            [
                str(bindir / "initdb"),
                "-D",
                str(POSTGRES_DATA),
                "-U",
                POSTGRES_ADMIN,
                f"--pwfile={password_file}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            LOGS / "postgres-initdb.log",
            user=user,
        )
    finally:
        password_file.unlink(missing_ok=True)


def service(name: str, module: str, port: int) -> Component:
    return Component(
        name=name,
        port=port,
        kind="service",
        command=lambda: in_env("python", "-m", module),
        env={"MPP_HTTP_PORT": str(port), "MPP_SERVICE_NAME": name},
        ready=lambda: http_ok(f"http://{HOST}:{port}/ready"),
        url=f"http://{HOST}:{port}/docs",
        timeout=60.0,
    )


SERVERS = [
    Component(
        name="kafka",
        port=9092,
        command=kafka_command,
        prepare=prepare_kafka,
        ready=lambda: port_open(9092),
        url=f"{HOST}:9092",
    ),
    Component(
        name="postgres",
        port=postgres_port(),
        command=postgres_command,
        prepare=prepare_postgres,
        ready=lambda: port_open(postgres_port()),
        url=f"postgresql://{HOST}:{postgres_port()}/",
        user=postgres_os_user,
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
        stop_signal=signal.SIGINT,
    ),
    Component(
        name="s3",
        port=9000,
        command=lambda: [
            str(BIN / f"versitygw-{VERSITYGW_VERSION}"),
            "--port",
            f"{HOST}:9000",
            "posix",
            str(DATA / "s3"),
        ],
        env={"ROOT_ACCESS_KEY": S3_ACCESS_KEY, "ROOT_SECRET_KEY": S3_SECRET_KEY},
        prepare=lambda: (DATA / "s3").mkdir(parents=True, exist_ok=True),
        ready=lambda: port_open(9000),
        url=f"http://{HOST}:9000",
    ),
    Component(
        name="mailpit",
        port=8025,
        command=lambda: [
            str(BIN / f"mailpit-{MAILPIT_VERSION}"),
            "--smtp",
            f"{HOST}:1025",
            "--listen",
            f"{HOST}:8025",
            "--database",
            str(DATA / "mailpit" / "mailpit.db"),
            # Mailpit keeps 500 messages unless told otherwise: the fault suite counts each of
            # thousands it sends (and a developer may look for last week's).
            "--max",
            "100000",
        ],
        prepare=lambda: (DATA / "mailpit").mkdir(parents=True, exist_ok=True),
        ready=lambda: http_ok(f"http://{HOST}:8025/livez"),
        url=f"http://{HOST}:8025",
    ),
]
SERVICES = [
    service("catalog", "catalog", 8101),
    service("applications", "applications", 8102),
    service("documents", "documents", 8103),
    service("notifications", "notifications", 8104),
    service("gateway", "gateway", 8080),
]
COMPONENTS = {c.name: c for c in SERVERS + SERVICES}


def platform_env() -> dict[str, str]:
    """The environment of the services and tools: where the local servers are."""
    return dict(os.environ) | {
        "MPP_S3_ACCESS_KEY": S3_ACCESS_KEY,
        "MPP_S3_SECRET_KEY": S3_SECRET_KEY,
        "MPP_POSTGRES_PORT": str(postgres_port()),
    }


def start(component: Component) -> str:
    """Start a component unless it already answers; wait until it is ready."""
    if component.ready():
        return f"already running on port {component.port}"
    if component.pid() is None and port_open(component.port):
        raise StepFailed(
            f"port {component.port} is taken by another program; stop it or free the port"
        )
    LOGS.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    if component.prepare:
        component.prepare()
    env = platform_env() | component.env
    with component.log.open("a") as out:
        process = subprocess.Popen(
            component.command(),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=component.user(),
            group=component.user(),
        )
    component.pidfile.write_text(str(process.pid))
    deadline = time.monotonic() + component.timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StepFailed(
                f"{component.name} exited with {process.returncode} while starting", component.log
            )
        if component.ready():
            return f"ready on port {component.port} (pid {process.pid})"
        time.sleep(0.3)
    raise StepFailed(f"{component.name} not ready after {component.timeout:.0f}s", component.log)


def stop(component: Component) -> str:
    pid = component.pid()
    if pid is None:
        component.pidfile.unlink(missing_ok=True)
        return "not running"
    os.killpg(pid, component.stop_signal)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and component.pid() is not None:
        time.sleep(0.2)
    if component.pid() is not None:
        os.killpg(pid, signal.SIGKILL)
    component.pidfile.unlink(missing_ok=True)
    return f"stopped (pid {pid})"


def load_catalog() -> str:
    """The launch regency's agencies and services, loaded (again) into the running catalog."""
    log = LOGS / "catalog-seed.log"
    run_logged(
        in_env("python", "-m", "catalog.seed", "load"),
        log,
        cwd=REPO,
        env=platform_env(),
    )
    return log.read_text().strip().splitlines()[-1]


def create_demo_accounts() -> str:
    """Development-only staff per agency and a demo citizen, through the gateway's API."""
    log = LOGS / "demo-accounts.log"
    run_logged(in_env("python", "-m", "gateway.demo"), log, cwd=REPO, env=platform_env())
    return log.read_text().strip().splitlines()[0]


def demo_credentials() -> list[str]:
    """The sign-in lines `gateway.demo` printed after its summary."""
    log = LOGS / "demo-accounts.log"
    return log.read_text().rstrip().splitlines()[1:] if log.exists() else []


def create_topics_and_buckets() -> str:
    run_logged(
        in_env("python", str(LOCAL / "bootstrap.py")),
        LOGS / "bootstrap.log",
        cwd=REPO,
        env=platform_env(),
    )
    return (LOGS / "bootstrap.log").read_text().strip().splitlines()[-1]


# --- commands ---------------------------------------------------------------------------------


def python_env() -> None:
    step(f"install uv {UV_VERSION} (Python package manager, from PyPI)", install_uv)
    step("install Python dependencies (uv sync)", install_python_env)


def installs() -> None:
    python_env()
    step(f"install Apache Kafka {KAFKA_VERSION} (Maven Central)", install_kafka)
    step("install PostgreSQL (Debian's packages)", install_postgres)
    step("build versitygw and Mailpit (Go module proxy)", build_go_servers)
    step("build the web apps (npm registry, Vite)", build_web)


def cmd_servers() -> None:
    """Install and start Kafka, PostgreSQL, S3 and Mailpit: what the tests need."""
    installs()
    for component in SERVERS:
        step(f"start {component.name}", partial(start, component))


def cmd_up() -> None:
    started = time.monotonic()
    cmd_servers()
    step("create databases, topics and buckets", create_topics_and_buckets)
    for component in SERVICES:
        step(f"start {component.name}", partial(start, component))
    step("load the catalog of Kabupaten Sinjai (73.07)", load_catalog)
    step("create the demo accounts", create_demo_accounts)
    say(f"\nMPP Elektronik is up ({time.monotonic() - started:.0f}s). Development only:\n")
    say(f"  Citizen app (phones)          http://{HOST}:8080/")
    say(f"  Officer workspace             http://{HOST}:8080/petugas/")
    say(f"  Command center                http://{HOST}:8080/ops/")
    say(f"  Gateway (single entry point)  http://{HOST}:8080")
    say(f"  API docs (OpenAPI)            http://{HOST}:8080/docs")
    say(f"  Platform health               http://{HOST}:8080/health")
    for component in SERVICES[:-1]:
        say(f"  {component.name + ' service':<30}http://{HOST}:{component.port}/docs")
    say(f"  Mailpit (e-mail sent)         http://{HOST}:8025")
    say(f"  Kafka                         {HOST}:9092")
    say(f"  PostgreSQL                    postgresql://{HOST}:{postgres_port()}/")
    say(
        f"  S3 (versitygw)                http://{HOST}:9000  key {S3_ACCESS_KEY} / {S3_SECRET_KEY}"
    )
    for line in demo_credentials():
        say(line)
    say(f"\n  Logs: make logs SERVICE=<name>   ({LOGS})\n  Stop: make down   Wipe data: make reset")


def cmd_restart(name: str) -> None:
    """Stop and start one component (after a code change)."""
    if name not in COMPONENTS:
        raise SystemExit(f"unknown component {name!r}; one of {', '.join(COMPONENTS)}")
    step(f"stop {name}", partial(stop, COMPONENTS[name]))
    step(f"start {name}", partial(start, COMPONENTS[name]))


def cmd_down() -> None:
    for component in reversed(SERVERS + SERVICES):
        step(f"stop {component.name}", partial(stop, component))


def cmd_status() -> int:
    healthy = True
    for component in SERVERS + SERVICES:
        ok = component.ready()
        healthy &= ok
        pid = component.pid()
        state = "healthy" if ok else ("starting/unhealthy" if pid else "down")
        say(
            f"  {component.name:<14} {state:<20} port {component.port:<6}"
            f" {'pid ' + str(pid) if pid else ''}"
        )
    if http_ok(f"http://{HOST}:8080/health"):
        with urllib.request.urlopen(f"http://{HOST}:8080/health", timeout=5) as response:
            say("\n  gateway /health: " + json.dumps(json.load(response)["components"]))
    return 0 if healthy else 1


def cmd_logs(name: str) -> None:
    component = COMPONENTS.get(name)
    if component is None:
        say(f"unknown component {name!r}; one of: {', '.join(COMPONENTS)}")
        sys.exit(2)
    log = LOGS / "kafka" / "server.log" if name == "kafka" else component.log
    os.execvp("tail", ["tail", "-n", "100", "-F", str(log)])  # noqa: S606


def cmd_reset() -> None:
    cmd_down()

    def wipe() -> str:
        shutil.rmtree(DATA, ignore_errors=True)
        return "wiped"

    step(f"wipe data folder {DATA}", wipe)


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One install or start at a time on this machine: a second `make servers` waits for the
    first instead of building and starting everything again beside it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".localctl.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("==> another make up/servers is running; waiting for it to finish ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "command",
        choices=[
            "up",
            "servers",
            "install",
            "python",
            "uv-path",
            "web",
            "restart",
            "down",
            "status",
            "logs",
            "reset",
        ],
    )
    parser.add_argument("name", nargs="?", help="component for `logs` and `restart`")
    args = parser.parse_args()
    if args.command in ("up", "servers", "install", "python", "web", "restart"):
        with exclusive():
            run_command(args.command, args.name)
    else:
        run_command(args.command, args.name)


def run_command(command: str, name: str | None) -> None:
    """Carry out one of the commands."""
    if command == "up":
        cmd_up()
    elif command == "servers":
        cmd_servers()
    elif command == "install":
        installs()
    elif command == "python":
        python_env()
    elif command == "uv-path":
        print(uv_path())
    elif command == "web":
        step("build the web apps (npm registry, Vite)", build_web)
    elif command == "restart":
        cmd_restart(name or "gateway")
    elif command == "down":
        cmd_down()
    elif command == "status":
        sys.exit(cmd_status())
    elif command == "logs":
        cmd_logs(name or "gateway")
    elif command == "reset":
        cmd_reset()


if __name__ == "__main__":
    main()
