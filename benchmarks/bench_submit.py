"""Benchmark scenario 3: a citizen's submission, end to end, at rising rates to saturation.

What a citizen's `POST /api/v1/applications` costs through the gateway, and how soon the
application is in the officer's inbox and a message about it in the citizen's notifications, at
10, 25, 50, 100 and 200 submissions a second, against the volume namespace (a year of Sinjai,
`make seed-volume`), with the five services running as their own processes (`stack.py`).

Load is open-loop: at each rate a submission is started every 1/rate seconds whatever happened
to the earlier ones, and every latency counts from the moment it was scheduled, so time spent
waiting in the client or in the services' queues counts as the citizen would feel it. Each is
made by one of a pool of signed-in citizens with a fresh `Idempotency-Key`, for one of a few
services that citizens of the volume can apply for with documents they own (read models of the
applications service), with form answers drawn as the volume's seed draws them.

Measured per rate:
- submit API: the time to the 201 (other answers are errors, counted by status);
- submit to inbox: for every 10th submission, the officer of the service's agency reads the
  inbox (`GET /api/v1/applications/inbox`, the submitted state, the page resuming just before
  the application in the inbox's deadline order: a new one sorts after the agency's older open
  ones, so an officer would page there) until it lists the application, timed from the
  submission's scheduled start. The application and its event are committed in one transaction
  before the 201, so this is expected to be the submit latency plus one inbox read: the
  benchmark checks that (reads needed, in the notes) rather than assuming it;
- submit to notification: the notifications service's first message for the application's
  `applications.application.submitted.v1` event (`messages.created_at`, the in-app inbox
  channel when there is one) minus the wall-clock scheduled start (same machine, same clock).
  Event ids are read off the applications topic by a consumer of the benchmark's own, which
  also tells when the outbox relay published each one; a message missing 60 s after the rate's
  last submission counts as an error;
- the achieved rate (201s per second over the step), and the CPU seconds each service's process
  used during the step and until its messages were in, per submission above its idle use:
  where the time goes (PostgreSQL and Kafka are not counted);
- sustained capacity: the highest rate achieved at >= 95 % of the offered rate, without errors,
  and with latencies that do not keep growing through the step (no queue building up).

The ceiling is Kafka's own floor for the event part: an aiokafka produce-to-consume round trip
on a fresh topic of the namespace on the same broker, one record at a time, with the platform's
producer settings (acks=all, idempotent, linger 5 ms) and a read-committed consumer in the same
process, as the relay and the consumers use them.

The submissions are cancelled by their citizens at the end (the workflow's `cancel` action), so
the agencies' open inboxes stay as the volume loaded them; the cancelled applications, their
events and messages stay in the namespace. `--keep` leaves them submitted instead.

Run it alone in its namespace: another stack in the same namespace joins the same consumer
groups and relays the same outbox, so it takes part of the work and of the figures.

    uv run python benchmarks/bench_submit.py [--rates 10,25,50,100,200] [--seconds 10]
    # where a service's time goes (py-spy from PyPI):
    uv run --with py-spy python benchmarks/bench_submit.py --profile applications=/tmp/a.svg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import seed_volume
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from results import Measured, Report, Scenario
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from stack import SERVICES, Stack, started

from applications import catalog_view, documents_view, forms
from applications import store as applications_store
from applications.settings import Settings as ApplicationsSettings
from mpp_shared import db, pagination, telemetry, topics
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.kafka import create_producer, ensure_topics
from mpp_shared.local import postgres_admin_url, postgres_port
from notifications import store as notifications_store
from notifications.contacts import store as contacts_store
from notifications.settings import Settings as NotificationsSettings

RATES = [10, 25, 50, 100, 200]
# The targets: the API and the inbox at the reference rate, and the capacity.
REFERENCE_RATE = 50
API_P95_MS = 50.0
INBOX_P95_MS = 300.0
CAPACITY = 100
SUSTAINED_SHARE = 0.95  # of the offered rate
INBOX_EVERY = 10  # every n-th submission is looked for in the officer's inbox
INBOX_PATIENCE = 5.0  # seconds an inbox check keeps reading before it counts as an error
INBOX_PAUSE = 0.05  # seconds between two reads of the inbox
DRAIN_SECONDS = 60.0  # how long after a rate's last submission its messages may take
ROUND_TRIPS = 300
IDLE_SECONDS = 5.0  # the services' own CPU use without load, measured once before the rates
SIGN_IN_CONCURRENCY = 4  # argon2id on the gateway: a few at a time
CANCEL_CONCURRENCY = 8
REFRESH_AFTER = 300.0  # seconds; access tokens last 10 minutes
SUBMITTED = "applications.application.submitted.v1"

# The services the load applies for, with their share of it (roughly the volume's demand by
# agency): each asks for no document but a family card (kk) and/or an ID card (ktp_el), which
# every citizen of the pool has uploaded and had checked.
MIX = {
    "ktp-el-baru": 6,  # DISDUKCAPIL, kk
    "kk-perubahan": 4,  # DISDUKCAPIL, kk
    "laporan-kehilangan": 3,  # POLRES, ktp_el
    "pendaftaran-bpjs-kesehatan": 2,  # BPJS-KES, ktp_el and kk
    "nib": 2,  # DPMPTSP, ktp_el
    "salinan-sppt-pbb": 2,  # BAPENDA, ktp_el
    "pengaduan-gangguan-air-pdam": 1,  # PDAM, no document
}
OWNED = ("kk", "ktp_el")


# --- who applies for what -----------------------------------------------------------------------


@dataclass
class Account:
    """A signed-in account's tokens."""

    username: str
    access_token: str
    refresh_token: str
    obtained: float  # time.monotonic()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class Service:
    """A published service the load applies for."""

    slug: str
    agency: str
    schema: dict[str, Any] | None
    needs: tuple[str, ...]  # the mandatory requirements, each met by a document the citizen owns


@dataclass
class Applicant:
    """A citizen of the volume: contact, an available document per owned kind, the session."""

    citizen: seed_volume.Citizen
    documents: dict[str, str]
    account: Account | None = None


async def services_of(engine: AsyncEngine) -> list[Service]:
    """The mix's services as the applications service's catalog read model holds them."""
    services, slugs = catalog_view.catalog_services, catalog_view.catalog_slugs
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(slugs.c.slug, services.c.snapshot, services.c.status)
            .join(services, services.c.service_id == slugs.c.service_id)
            .where(slugs.c.slug.in_(list(MIX)))
        )
        found = {
            row.slug: (ServicePublished.model_validate(row.snapshot), row.status) for row in rows
        }
    chosen = []
    for slug in MIX:
        if slug not in found or found[slug][1] != "published":
            raise RuntimeError(f"{slug} is not published in the namespace: was it seeded?")
        published = found[slug][0]
        needs = tuple(r.code for r in published.requirements if r.mandatory)
        if not set(needs) <= set(OWNED):
            raise RuntimeError(f"{slug} needs documents the pool does not own: {needs}")
        chosen.append(Service(slug, published.agency, published.form_schema, needs))
    return chosen


async def applicants(
    applications: AsyncEngine, notifications: AsyncEngine, count: int
) -> list[Applicant]:
    """`count` citizens with a verified phone (their username) who own an available family card
    and ID card in the applications service's read model of documents."""
    contacts = contacts_store.contacts
    async with notifications.connect() as connection:
        rows = (
            await connection.execute(
                select(contacts.c.citizen_id, contacts.c.name, contacts.c.phone, contacts.c.email)
                .where(contacts.c.phone.is_not(None), contacts.c.phone_verified)
                .order_by(contacts.c.citizen_id)
                .limit(count * 10)
            )
        ).all()
    documents = documents_view.citizen_documents
    async with applications.connect() as connection:
        owned = await connection.execute(
            select(documents.c.owner, documents.c.requirement, func.min(documents.c.document_id))
            .where(
                documents.c.status == "available",
                documents.c.requirement.in_(OWNED),
                documents.c.owner.in_([row.citizen_id for row in rows]),
            )
            .group_by(documents.c.owner, documents.c.requirement)
        )
        by_owner: dict[str, dict[str, str]] = {}
        for owner, requirement, document_id in owned:
            by_owner.setdefault(owner, {})[requirement] = document_id
    pool = [
        Applicant(
            citizen=seed_volume.Citizen(
                id=row.citizen_id,
                name=row.name,
                nik=seed_volume.form_nik(row.citizen_id),
                phone=row.phone,
                email=row.email,
                language="id",
                female=False,
            ),
            documents=by_owner[row.citizen_id],
        )
        for row in rows
        if set(by_owner.get(row.citizen_id, {})) >= set(OWNED)
    ]
    if len(pool) < count:
        raise RuntimeError(f"only {len(pool)} citizens own {OWNED}: is the volume seeded?")
    return pool[:count]


def submission(rng: random.Random, applicant: Applicant, service: Service) -> bytes:
    """A `Submission` body that passes the service's checks: the seed's form answers, and the
    citizen's own document for each mandatory requirement."""
    today = dt.datetime.now(dt.UTC).date()
    form = seed_volume.form_for(rng, service.schema, applicant.citizen, today)
    if service.schema and (problems := forms.problems(service.schema, form)):
        raise RuntimeError(f"the drawn form for {service.slug} fails its schema: {problems}")
    documents = {code: [applicant.documents[code]] for code in service.needs}
    body = {"service": service.slug, "form": form, "documents": documents}
    return json.dumps(body, separators=(",", ":")).encode()


# --- signing in ---------------------------------------------------------------------------------


async def sign_in(http: httpx.AsyncClient, username: str) -> Account:
    response = await http.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": seed_volume.PASSWORD},
    )
    if response.status_code != 200:
        raise RuntimeError(f"{username} could not sign in: {response.status_code} {response.text}")
    tokens = response.json()
    return Account(username, tokens["access_token"], tokens["refresh_token"], time.monotonic())


async def sign_in_all(http: httpx.AsyncClient, usernames: Sequence[str]) -> list[Account]:
    """Password sign-ins (argon2id on the gateway), a few at a time."""
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def one(username: str) -> Account:
        async with gate:
            return await sign_in(http, username)

    return list(await asyncio.gather(*(one(u) for u in usernames)))


async def keep_fresh(http: httpx.AsyncClient, accounts: Sequence[Account]) -> None:
    """Refresh the tokens that are getting old (no password hash on a refresh)."""
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY * 2)

    async def one(account: Account) -> None:
        if time.monotonic() - account.obtained < REFRESH_AFTER:
            return
        async with gate:
            response = await http.post(
                "/api/v1/auth/token",
                data={"grant_type": "refresh_token", "refresh_token": account.refresh_token},
            )
        response.raise_for_status()
        tokens = response.json()
        account.access_token = tokens["access_token"]
        account.refresh_token = tokens["refresh_token"]
        account.obtained = time.monotonic()

    await asyncio.gather(*(one(a) for a in accounts))


# --- the events the relay publishes --------------------------------------------------------------


async def at_end(consumer: AIOKafkaConsumer) -> None:
    """Once the consumer (no group: every partition of its topic) has its partitions, move it to
    their ends and resolve them now, so it reads what is produced from here on."""
    for _ in range(100):
        if consumer.assignment():
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"no partitions of {consumer.subscription()}: are the services running?")
    partitions = list(consumer.assignment())
    await consumer.seek_to_end(*partitions)
    for partition in partitions:
        await consumer.position(partition)


class EventTap:
    """Reads the applications topic from its end, as a consumer of the benchmark's own (no group):
    each submitted event's id and when the relay published it (the record's timestamp), by
    application id."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
        )
        self.published: dict[str, tuple[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        try:
            await at_end(self.consumer)
        except BaseException:
            await self.consumer.stop()
            raise
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                for record in records:
                    try:
                        event = json.loads(record.value or b"{}")
                    except ValueError:
                        continue  # not an event of ours to time
                    if event.get("type") == SUBMITTED:
                        self.published[event["subject"]] = (event["id"], record.timestamp / 1000)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.consumer.stop()


async def kafka_floor(settings: ApplicationsSettings, rounds: int) -> Measured:
    """Produce one record and read it back, `rounds` times, on a fresh topic of the namespace:
    the platform's producer (acks=all) and a read-committed consumer in this process."""
    topic = settings.topic(f"bench.roundtrip.{secrets.token_hex(3)}")
    bootstrap = settings.kafka_bootstrap
    await ensure_topics(bootstrap, [topic], partitions=1)
    producer = create_producer(settings)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        isolation_level="read_committed",
    )
    latencies: list[float] = []
    errors = 0
    await producer.start()
    await consumer.start()
    try:
        await at_end(consumer)
        payload = json.dumps({"type": "bench.roundtrip.v1", "data": "x" * 600}).encode()
        for n in range(rounds + 20):  # the first 20 warm up the connections
            begun = time.perf_counter()
            await producer.send_and_wait(
                topic, payload, key=b"bench", timestamp_ms=int(time.time() * 1000)
            )
            try:
                await asyncio.wait_for(consumer.getone(), timeout=10)
            except TimeoutError:
                errors += 1
                continue
            if n >= 20:
                latencies.append((time.perf_counter() - begun) * 1000)
    finally:
        await consumer.stop()
        await producer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
    return Measured("Kafka produce-consume round trip (floor)", latencies, errors=errors)


# --- what PostgreSQL's backends wait on --------------------------------------------------------

WAITING = text(
    "SELECT datname, CASE WHEN state = 'active'"
    " THEN coalesce(wait_event_type || ':' || wait_event, 'running') ELSE state END AS what,"
    " count(*) AS backends FROM pg_stat_activity"
    " WHERE datname = ANY(:names) AND state <> 'idle' GROUP BY 1, 2"
)


class Waits:
    """Samples, as the cluster's superuser, what the namespace's databases' busy backends are
    doing every 0.2 s while a rate runs: running a statement, waiting and on what
    (`Lock:transactionid` is another transaction's row lock, `Lock:object` the commit lock
    NOTIFY takes, `IO:WALSync` a commit's flush), or `idle in transaction`: a transaction open
    while its service is busy elsewhere, between two statements. Other clients of the namespace
    are counted too."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{namespace}_"
        self.names = [self.prefix + name for name in SERVICES]
        self.engine = create_async_engine(
            postgres_admin_url().set(drivername="postgresql+asyncpg"), pool_size=1
        )

    @contextlib.asynccontextmanager
    async def sampled(self) -> AsyncIterator[Counter[str]]:
        """Yields the counter the samples go into: mean backends by database and state."""
        seen: Counter[str] = Counter()
        samples = 0

        async def sample() -> None:
            nonlocal samples
            async with self.engine.connect() as connection:
                while True:
                    rows = await connection.execute(WAITING, {"names": self.names})
                    for name, what, backends in rows:
                        seen[f"{name.removeprefix(self.prefix)} {what}"] += backends
                    samples += 1
                    await asyncio.sleep(0.2)

        task = asyncio.create_task(sample())
        means: Counter[str] = Counter()
        try:
            yield means
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # the samples are context: the run goes on without them
                print(f"    sampling pg_stat_activity failed: {exc!r}", flush=True)
            means.update({k: v / max(1, samples) for k, v in seen.items()})

    async def close(self) -> None:
        await self.engine.dispose()


# --- one rate -----------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One scheduled submission and what became of it; times in ms from its scheduled start."""

    at: float  # scheduled start, time.perf_counter()
    wall: float  # the same moment, seconds since the epoch (the services' timestamps' clock)
    applicant: Applicant
    service: Service
    body: bytes
    checks_inbox: bool
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # the Idempotency-Key
    outcome: str = ""  # "201", another status, or the transport error
    late_ms: float = 0.0  # how late the client started it (its own lag)
    done: float = 0.0  # perf_counter() at the answer
    api_ms: float | None = None
    application_id: str | None = None
    inbox_ms: float | None = None
    inbox_reads: int = 0
    inbox_error: str | None = None
    published_ms: float | None = None  # the relay put the event on Kafka
    notified_ms: float | None = None  # the notifications service made its message


@dataclass
class Step:
    """Everything one rate did."""

    rate: int
    attempts: list[Attempt]
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    client_cpu_seconds: float = 0.0
    wall_seconds: float = 0.0  # the step and its drain
    drain_seconds: float = 0.0
    waits: Counter[str] = field(default_factory=Counter)  # mean busy backends, by state

    @property
    def created(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == "201"]

    def achieved(self) -> float:
        """201s per second between the first and the last: the offered rate while the service
        keeps up (whatever its latency), less once a queue builds up."""
        return per_second(sorted(a.done for a in self.created))

    @property
    def notified(self) -> list[Attempt]:
        return [a for a in self.attempts if a.notified_ms is not None]

    def api_errors(self) -> Counter[str]:
        return Counter(a.outcome for a in self.attempts if a.outcome != "201")

    def inbox_errors(self) -> int:
        return sum(1 for a in self.created if a.checks_inbox and a.inbox_ms is None)

    def missing_messages(self) -> int:
        return sum(1 for a in self.created if a.notified_ms is None)

    def errors(self) -> int:
        return sum(self.api_errors().values()) + self.inbox_errors() + self.missing_messages()

    def consumed_ms(self) -> list[float]:
        """From the event on Kafka to its message: the notifications service's share."""
        return [
            a.notified_ms - a.published_ms
            for a in self.attempts
            if a.notified_ms is not None and a.published_ms is not None
        ]

    def latencies(self, name: str) -> list[float]:
        """The named latency of every submission that has it, in scheduled order."""
        values = (getattr(a, name) for a in self.attempts)
        return [v for v in values if v is not None]

    def sustained(self) -> bool:
        """Kept up: achieved >= 95 % of offered, no errors, and no queue building up."""
        return (
            self.achieved() >= SUSTAINED_SHARE * self.rate
            and self.errors() == 0
            and not growing(self.latencies("api_ms"))
            and not growing(self.latencies("notified_ms"))
        )


# A step achieving less than this share of its offered rate is past saturation: the run stops.
PAST_SATURATION = 0.5


def p95(values: list[float]) -> float:
    return Measured("", values).percentile(95) or 0.0


def growing(values: list[float]) -> bool:
    """A queue building up: the last third's p95 over twice the first third's, plus 50 ms."""
    third = len(values) // 3
    if third < 5:
        return False
    return p95(values[-third:]) > 2 * p95(values[:third]) + 50


def since(moment: float) -> float:
    return (time.perf_counter() - moment) * 1000


def inbox_cursor(answer: dict[str, Any]) -> str:
    """A cursor of the inbox resuming just before the application: the inbox is in (deadline,
    id) order, the deadline being the state's or the whole one, whichever is sooner (the end of
    a working day, so shared by that day's applications), and a proper prefix of the id sorts
    just before it."""
    dues = [dt.datetime.fromisoformat(answer[k]) for k in ("state_due_at", "due_at") if answer[k]]
    due = min(dues) if dues else applications_store.NO_DEADLINE
    return pagination.encode_key([due, answer["id"][:-1]])


class Load:
    """The pool, the officers and the HTTP client; runs one rate at a time.

    The submissions and inbox reads go through aiohttp's client: the load runs on the same two
    cores as the platform, and httpx's client spent 1.2 ms of CPU a call against aiohttp's 0.2.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        pool: list[Applicant],
        services: list[Service],
        officers: dict[str, Account],
        seed: int,
    ) -> None:
        self.http = http
        self.pool = pool
        self.services = services
        self.officers = officers
        self.rng = random.Random(seed)  # noqa: S311 (draws of test data, not secrets)
        self.shown: Counter[str] = Counter()  # error bodies printed, by outcome

    def plan(self, rate: int, seconds: float) -> list[Attempt]:
        """The step's submissions, every 1/rate s from a moment just after their bodies are
        drawn (beforehand, so scheduling does no work)."""
        weights = [MIX[s.slug] for s in self.services]
        drawn = []
        for n in range(max(1, round(rate * seconds))):
            applicant = self.pool[n % len(self.pool)]
            service = self.rng.choices(self.services, weights)[0]
            drawn.append((applicant, service, submission(self.rng, applicant, service)))
        now_perf, now_wall = time.perf_counter() + 0.1, time.time() + 0.1
        return [
            Attempt(
                at=now_perf + n / rate,
                wall=now_wall + n / rate,
                applicant=applicant,
                service=service,
                body=body,
                checks_inbox=n % INBOX_EVERY == 0,
            )
            for n, (applicant, service, body) in enumerate(drawn)
        ]

    async def run(self, attempts: list[Attempt]) -> None:
        """Start each submission at its time, whatever the earlier ones are doing."""
        tasks = []
        for attempt in attempts:
            delay = attempt.at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.submit(attempt)))
        await asyncio.gather(*tasks)

    async def submit(self, attempt: Attempt) -> None:
        attempt.late_ms = max(0.0, since(attempt.at))
        assert attempt.applicant.account is not None
        headers = attempt.applicant.account.headers() | {
            "Idempotency-Key": attempt.key,
            "Content-Type": "application/json",
        }
        try:
            async with self.http.post(
                "/api/v1/applications", data=attempt.body, headers=headers
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            attempt.done, attempt.outcome = time.perf_counter(), type(exc).__name__
            self.show(attempt.outcome, repr(exc))
            return
        attempt.done = time.perf_counter()
        attempt.api_ms = since(attempt.at)
        attempt.outcome = str(status)
        if status != 201:
            attempt.api_ms = None
            self.show(attempt.outcome, text)
            return
        answer = json.loads(text)
        attempt.application_id = answer["id"]
        if attempt.checks_inbox:
            await self.find_in_inbox(attempt, answer)

    async def find_in_inbox(self, attempt: Attempt, answer: dict[str, Any]) -> None:
        """Read the officer's inbox until it lists the application (see the module's notes)."""
        officer = self.officers[attempt.service.agency]
        params = {
            "state": answer["state"]["code"],
            "limit": "10",
            "cursor": inbox_cursor(answer),
        }
        deadline = time.perf_counter() + INBOX_PATIENCE
        while time.perf_counter() < deadline:
            attempt.inbox_reads += 1
            try:
                async with self.http.get(
                    "/api/v1/applications/inbox", params=params, headers=officer.headers()
                ) as response:
                    status, text = response.status, await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                attempt.inbox_error = type(exc).__name__
                return
            if status != 200:
                attempt.inbox_error = str(status)
                self.show(f"inbox {status}", text)
                return
            if any(item["id"] == attempt.application_id for item in json.loads(text)["items"]):
                attempt.inbox_ms = since(attempt.at)
                return
            await asyncio.sleep(INBOX_PAUSE)
        attempt.inbox_error = "not listed"

    def show(self, outcome: str, text: str) -> None:
        """The first few answers of each kind of error, as evidence."""
        self.shown[outcome] += 1
        if self.shown[outcome] <= 3:
            print(f"    error {outcome}: {text[:300]}", flush=True)


async def await_messages(
    attempts: list[Attempt], tap: EventTap, notifications: AsyncEngine, patience: float
) -> None:
    """Until every created application's event has a message (or `patience` runs out): when
    the relay published the event, and when its first message (in-app first) was made."""
    messages = notifications_store.messages
    waiting = [a for a in attempts if a.outcome == "201" and a.application_id]
    deadline = time.monotonic() + patience
    while waiting:
        events: dict[str, Attempt] = {}
        for attempt in waiting:
            assert attempt.application_id is not None
            found = tap.published.get(attempt.application_id)
            if found is not None:
                event_id, published = found
                attempt.published_ms = (published - attempt.wall) * 1000
                events[event_id] = attempt
        made: dict[str, dict[str, dt.datetime]] = {}
        ids = list(events)
        async with notifications.connect() as connection:
            for start in range(0, len(ids), 1000):
                rows = await connection.execute(
                    select(messages.c.event_id, messages.c.channel, messages.c.created_at).where(
                        messages.c.event_id.in_(ids[start : start + 1000])
                    )
                )
                for event_id, channel, created_at in rows:
                    made.setdefault(event_id, {})[channel] = created_at
        for event_id, by_channel in made.items():
            created = by_channel.get("inbox") or min(by_channel.values())
            attempt = events[event_id]
            attempt.notified_ms = (created.timestamp() - attempt.wall) * 1000
        waiting = [a for a in waiting if a.notified_ms is None]
        if not waiting or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)


def server_failed(attempt: Attempt) -> bool:
    """Answered 5xx or not at all: the submission may or may not have been recorded."""
    return not attempt.outcome.isdigit() or attempt.outcome.startswith("5")


async def retry_failed(http: httpx.AsyncClient, attempts: list[Attempt]) -> Counter[str]:
    """What a citizen does after a 5xx or a broken connection: the same request with the same
    Idempotency-Key. A 200 tells the first request was recorded although it failed (the key's
    replay), a 201 that it was not. Learns the ids, so they can be cancelled."""
    gate = asyncio.Semaphore(CANCEL_CONCURRENCY)
    answers: Counter[str] = Counter()

    async def one(attempt: Attempt) -> None:
        assert attempt.applicant.account is not None
        headers = attempt.applicant.account.headers() | {
            "Idempotency-Key": attempt.key,
            "Content-Type": "application/json",
        }
        async with gate:
            try:
                response = await http.post(
                    "/api/v1/applications", content=attempt.body, headers=headers
                )
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1
                return
        answers[
            {200: "200 (was recorded)", 201: "201 (was not)"}.get(
                response.status_code, str(response.status_code)
            )
        ] += 1
        if response.status_code in (200, 201):
            attempt.application_id = response.json()["id"]

    await asyncio.gather(*(one(a) for a in attempts if server_failed(a)))
    return answers


async def cancel_all(http: httpx.AsyncClient, attempts: list[Attempt]) -> Counter[str]:
    """Each created application cancelled by its citizen, tried up to three times while the
    answer is a 5xx or none (a cancelled one answers 409 after that); the last answers, by
    status."""
    gate = asyncio.Semaphore(CANCEL_CONCURRENCY)
    answers: Counter[str] = Counter()

    async def one(attempt: Attempt) -> None:
        assert attempt.applicant.account is not None
        answer = ""
        for _ in range(3):
            async with gate:
                try:
                    response = await http.post(
                        f"/api/v1/applications/{attempt.application_id}/actions/cancel",
                        json={"note": "Uji beban (benchmark): dibatalkan otomatis."},
                        headers=attempt.applicant.account.headers(),
                    )
                    answer = str(response.status_code)
                except httpx.HTTPError as exc:
                    answer = type(exc).__name__
            if answer.isdigit() and not answer.startswith("5"):
                break
            await asyncio.sleep(1.0)
        answers[answer] += 1

    await asyncio.gather(*(one(a) for a in attempts if a.application_id))
    return answers


# --- the run ------------------------------------------------------------------------------------


async def scenarios(
    stack: Stack, *, rates: list[int], seconds: float, citizens: int = 100, keep: bool = False
) -> list[Scenario]:
    """Scenario 3 against an already running stack in its namespace (the volume)."""
    common: dict[str, Any] = {"namespace": stack.namespace, "postgres_port": postgres_port()}
    applications_settings = ApplicationsSettings(**common)
    applications_engine = db.create_engine(applications_settings)
    notifications_engine = db.create_engine(NotificationsSettings(**common))
    tap = EventTap(
        applications_settings.kafka_bootstrap, applications_settings.topic(topics.APPLICATIONS)
    )
    waits = Waits(stack.namespace)
    # Idle connections are dropped before the gateway's server (30 s keep-alive) drops them:
    # reusing one the server is closing fails the request with a ReadError.
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400, keepalive_expiry=2.0)
    timeout = httpx.Timeout(30.0, pool=30.0)
    steps: list[Step] = []
    warm: list[Attempt] = []
    retried: Counter[str] = Counter()
    try:
        async with (
            httpx.AsyncClient(
                base_url=stack.url("gateway"), limits=limits, timeout=timeout
            ) as http,
            aiohttp.ClientSession(
                base_url=stack.url("gateway"),
                connector=aiohttp.TCPConnector(limit=400, keepalive_timeout=2.0),
                timeout=aiohttp.ClientTimeout(total=30.0),
            ) as fast,
        ):
            services = await services_of(applications_engine)
            pool = await applicants(applications_engine, notifications_engine, citizens)
            agencies = sorted({s.agency for s in services})
            begun, gateway_cpu = time.perf_counter(), stack.services["gateway"].cpu_seconds()
            for applicant, account in zip(
                pool, await sign_in_all(http, [a.citizen.phone for a in pool]), strict=True
            ):
                applicant.account = account
            officers = dict(
                zip(
                    agencies,
                    await sign_in_all(http, [f"petugas-{a.lower()}-1" for a in agencies]),
                    strict=True,
                )
            )
            print(
                f"Signed in {len(pool)} citizens and {len(officers)} officers"
                f" in {time.perf_counter() - begun:.1f} s (gateway CPU"
                f" {stack.services['gateway'].cpu_seconds() - gateway_cpu:.1f} s)",
                flush=True,
            )
            floor = await kafka_floor(applications_settings, ROUND_TRIPS)
            print(
                f"Kafka round trip: p50 {floor.percentile(50) or 0:.1f} ms,"
                f" p99 {floor.percentile(99) or 0:.1f} ms",
                flush=True,
            )
            await tap.start()
            load = Load(fast, pool, services, officers, seed=seed_volume.SEED)
            warm = load.plan(5, 1.0)  # warms connections and caches; not counted
            await load.run(warm)
            await await_messages(warm, tap, notifications_engine, DRAIN_SECONDS)
            idle = await idle_cpu(stack, IDLE_SECONDS)
            accounts = [a.account for a in pool if a.account] + list(officers.values())
            for rate in rates:
                await keep_fresh(http, accounts)
                steps.append(
                    await measure(load, tap, stack, notifications_engine, waits, rate, seconds)
                )
                print_step(steps[-1])
                if steps[-1].achieved() < PAST_SATURATION * rate and rate != rates[-1]:
                    # Well past saturation: a higher rate would only queue longer (minutes of
                    # backlog to drain) and tell nothing new.
                    print(f"Saturated at {rate}/s: the higher rates are not run", flush=True)
                    break
            everything = warm + [a for step in steps for a in step.attempts]
            await keep_fresh(http, accounts)
            retried = await retry_failed(http, everything)
            if retried:
                print(f"Failed submissions retried with their keys: {dict(retried)}", flush=True)
            if not keep:
                begun = time.perf_counter()
                cancelled = await cancel_all(http, everything)
                print(
                    f"Cancelled the submissions in {time.perf_counter() - begun:.1f} s:"
                    f" {dict(cancelled)}",
                    flush=True,
                )
    finally:
        await tap.stop()
        await waits.close()
        await applications_engine.dispose()
        await notifications_engine.dispose()
    return build(steps, floor, services, len(pool), seconds, keep, retried, idle)


async def idle_cpu(stack: Stack, seconds: float) -> dict[str, float]:
    """Each service's CPU seconds per second with no load: its own background work."""
    before, begun = stack.cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    after, wall = stack.cpu_seconds(), time.perf_counter() - begun
    return {name: (after[name] - before[name]) / wall for name in before}


async def measure(
    load: Load,
    tap: EventTap,
    stack: Stack,
    notifications: AsyncEngine,
    waits: Waits,
    rate: int,
    seconds: float,
) -> Step:
    """One rate: the submissions on schedule, then their messages; CPU over both."""
    attempts = load.plan(rate, seconds)
    cpu, client, begun = stack.cpu_seconds(), time.process_time(), time.perf_counter()
    async with waits.sampled() as waited:
        await load.run(attempts)
    answered = time.perf_counter()
    await await_messages(attempts, tap, notifications, DRAIN_SECONDS)
    after = stack.cpu_seconds()
    return Step(
        rate=rate,
        attempts=attempts,
        cpu_seconds={name: after[name] - cpu[name] for name in cpu},
        client_cpu_seconds=time.process_time() - client,
        wall_seconds=time.perf_counter() - begun,
        drain_seconds=time.perf_counter() - answered,
        waits=waited,
    )


def _ms(values: list[float], q: float) -> str:
    found = Measured("", values).percentile(q)
    return "-" if found is None else f"{found:.0f}"


def print_step(step: Step) -> None:
    api, inbox = step.latencies("api_ms"), step.latencies("inbox_ms")
    notified = step.latencies("notified_ms")
    late = max((a.late_ms for a in step.attempts), default=0.0)
    print(
        f"  {step.rate:>4}/s offered, {step.achieved():6.1f}/s achieved"
        f" | API p50/p95/p99 {_ms(api, 50)}/{_ms(api, 95)}/{_ms(api, 99)} ms"
        f" | inbox p95 {_ms(inbox, 95)} ms"
        f" | notification p50/p95/p99"
        f" {_ms(notified, 50)}/{_ms(notified, 95)}/{_ms(notified, 99)} ms"
        f" | errors {dict(step.api_errors())} inbox {step.inbox_errors()}"
        f" missing messages {step.missing_messages()}"
        f" | client late by up to {late:.0f} ms, client CPU {step.client_cpu_seconds:.1f} s"
        f" | {'sustained' if step.sustained() else 'NOT sustained'}",
        flush=True,
    )


def cpu_note(step: Step, idle: dict[str, float]) -> str:
    """Where the time went at one rate: each process's CPU seconds, and per submission above
    what it uses idle."""
    count = max(1, len(step.attempts))
    parts = [
        f"{name} {used:.1f} s"
        f" ({1000 * max(0.0, used - idle.get(name, 0.0) * step.wall_seconds) / count:.1f}"
        " ms/submission)"
        for name, used in sorted(step.cpu_seconds.items(), key=lambda kv: -kv[1])
    ]
    parts.append(
        f"benchmark client {step.client_cpu_seconds:.1f} s"
        f" ({1000 * step.client_cpu_seconds / count:.1f} ms/submission)"
    )
    late = max((a.late_ms for a in step.attempts), default=0.0)
    parts.append(f"the client started submissions up to {late:.0f} ms late")
    return (
        f"CPU at {step.rate}/s over {step.wall_seconds:.1f} s wall"
        f" (of which {step.drain_seconds:.1f} s waiting for messages): " + ", ".join(parts)
    )


def wait_note(step: Step) -> str:
    """What the databases' backends did while the rate ran, the busiest states first."""
    busiest = ", ".join(f"{what} {mean:.1f}" for what, mean in step.waits.most_common(8))
    return (
        f"PostgreSQL at {step.rate}/s, mean busy backends by database and state: "
        f"{busiest or 'none'}"
    )


def build(
    steps: list[Step],
    floor: Measured,
    services: list[Service],
    citizens: int,
    seconds: float,
    keep: bool,
    retried: Counter[str],
    idle: dict[str, float],
) -> list[Scenario]:
    """The latency scenario (API, inbox, notification per rate) and the capacity scenario."""
    reference = next((s for s in steps if s.rate == REFERENCE_RATE), None)
    sustained = [s.rate for s in steps if s.sustained()]
    capacity = max(sustained, default=0)
    mix = ", ".join(f"{s.slug} ({s.agency}, {MIX[s.slug]})" for s in services)
    common_notes = [
        f"Open-loop load for {seconds:g} s per rate by {citizens} signed-in citizens of the volume,"
        f" a fresh Idempotency-Key each; services (agency, weight): {mix}. Latencies count from"
        " each submission's scheduled start.",
        f"Inbox: every {INBOX_EVERY}th submission, the agency's officer reads the inbox"
        " (submitted state, the page resuming just before the application in deadline order)"
        " until it lists the application; the time from the scheduled start. Expected: the"
        " submit plus one read, as the application is committed before the 201. Reads needed: "
        + ", ".join(
            f"{s.rate}/s: {dict(Counter(a.inbox_reads for a in s.created if a.checks_inbox))}"
            for s in steps
        )
        + ".",
        "Notification: the notifications service's first message (in-app) for the application's"
        " submitted event, created_at minus the scheduled start; event ids read off the"
        f" applications topic; missing {DRAIN_SECONDS:.0f} s after the last submission = error.",
        "Where the time to the notification goes, p50/p95 ms: scheduled start to the event on"
        " Kafka (API, commit, outbox relay) "
        + ", ".join(
            f"{s.rate}/s {_ms(s.latencies('published_ms'), 50)}/"
            f"{_ms(s.latencies('published_ms'), 95)}"
            for s in steps
        )
        + "; event on Kafka to the message (notifications' consumer) "
        + ", ".join(
            f"{s.rate}/s {_ms(s.consumed_ms(), 50)}/{_ms(s.consumed_ms(), 95)}" for s in steps
        )
        + ".",
        "Errors by answer: "
        + "; ".join(
            f"{s.rate}/s API {dict(s.api_errors()) or 0}, inbox {s.inbox_errors()},"
            f" missing messages {s.missing_messages()}"
            for s in steps
        )
        + ".",
        "Failed submissions (5xx, no answer) retried afterwards with the same Idempotency-Key"
        f" (200: the failed one had been recorded; 201: it had not): {dict(retried) or 'none'}.",
        "Idle CPU of each service (no load, CPU s per s): "
        + ", ".join(f"{name} {used:.3f}" for name, used in idle.items())
        + "; per-submission CPU below is above that.",
        *[cpu_note(s, idle) for s in steps],
        *[wait_note(s) for s in steps],
        "Clean-up: "
        + (
            "the submissions stay in the namespace, submitted (--keep)."
            if keep
            else "each submission was cancelled by its citizen afterwards (the cancelled"
            " applications, their events and messages stay in the namespace)."
        ),
    ]
    latency_measured = []
    for step in steps:
        api_errors = sum(step.api_errors().values())
        latency_measured += [
            Measured(f"submit API, {step.rate}/s", step.latencies("api_ms"), errors=api_errors),
            Measured(
                f"submit to inbox, {step.rate}/s",
                step.latencies("inbox_ms"),
                errors=step.inbox_errors(),
            ),
            Measured(
                f"submit to notification, {step.rate}/s",
                step.latencies("notified_ms"),
                errors=step.missing_messages(),
            ),
        ]
    latency_met: bool | None = None
    verdicts = [f"No step at {REFERENCE_RATE}/s: the API and inbox targets are not judged."]
    if reference is not None:
        api_p95 = p95(reference.latencies("api_ms"))
        inbox_p95 = p95(reference.latencies("inbox_ms"))
        api_met = bool(reference.created) and api_p95 < API_P95_MS and not reference.api_errors()
        inbox_met = inbox_p95 < INBOX_P95_MS and reference.errors() == 0 and bool(reference.created)
        latency_met = api_met and inbox_met
        verdicts = [
            f"At {REFERENCE_RATE}/s: submit API p95 {api_p95:.1f} ms"
            f" ({'met' if api_met else 'MISSED'}: under {API_P95_MS:.0f} ms);"
            f" submit to inbox p95 {inbox_p95:.1f} ms with {reference.errors()} errors"
            f" ({'met' if inbox_met else 'MISSED'}: under {INBOX_P95_MS:.0f} ms, no errors).",
            f"Submit API p95 under {API_P95_MS:.0f} ms at: "
            + (
                ", ".join(f"{s.rate}/s" for s in steps if p95(s.latencies("api_ms")) < API_P95_MS)
                or "no rate"
            ),
        ]
    latency = Scenario(
        key="submit.end_to_end",
        title="Submit to the officer's inbox and the citizen's notification, by rate",
        ceiling=floor,
        measured=latency_measured,
        target=f"submit API p95 < {API_P95_MS:.0f} ms; submit-to-inbox p95 <"
        f" {INBOX_P95_MS:.0f} ms at {REFERENCE_RATE} submissions/s with no errors",
        met=latency_met,
        notes=verdicts + common_notes,
    )
    # Judged when a rate of at least the target was offered, or the load broke below it.
    capacity_met: bool | None = capacity >= CAPACITY
    offered_enough = max((s.rate for s in steps), default=0) >= CAPACITY
    if not offered_enough and not any(not s.sustained() for s in steps):
        capacity_met = None
    saturation = Scenario(
        key="submit.capacity",
        title="Submit capacity: achieved vs offered submissions/s (latency: to notification)",
        ceiling=floor,
        measured=[
            Measured(
                f"{step.rate}/s offered"
                + (" (sustained)" if step.sustained() else " (not sustained)"),
                step.latencies("notified_ms"),
                rate=step.achieved(),
                unit="submissions/s",
                errors=step.errors(),
            )
            for step in steps
        ],
        target=f"sustained capacity >= {CAPACITY} submissions/s",
        met=capacity_met,
        notes=[
            f"Sustained capacity: {capacity or 'none'} submissions/s of the rates offered"
            f" ({', '.join(str(s.rate) for s in steps)}): achieved >= {SUSTAINED_SHARE:.0%} of"
            " offered, no errors (API, inbox, missing messages), and neither the API nor the"
            " notification p95 of a step's last third over twice its first third's + 50 ms.",
            "Achieved = 201s per second between the step's first and last; messages made per"
            " second likewise: "
            + ", ".join(f"{s.rate}/s {notified_rate(s):.1f}" for s in steps)
            + ".",
        ],
    )
    return [latency, saturation]


def notified_rate(step: Step) -> float:
    """Messages made per second, between the first and the last."""
    return per_second(sorted(a.wall + (a.notified_ms or 0.0) / 1000 for a in step.notified))


def per_second(moments: list[float]) -> float:
    """How many things per second happened at these sorted moments."""
    if len(moments) < 2 or moments[-1] <= moments[0]:
        return 0.0
    return (len(moments) - 1) / (moments[-1] - moments[0])


def others_running() -> int:
    """Service processes already running (other benchmarks' stacks): in the same namespace, they
    share its consumer groups and outbox, and the figures with it."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                words = (entry / "cmdline").read_bytes().split(b"\0")
                count += any(w.decode(errors="replace") in SERVICES for w in words[1:3])
    return count


async def main(arguments: argparse.Namespace) -> None:
    rates = [int(r) for r in arguments.rates.split(",") if r]
    report = Report(
        context={
            "benchmark": "bench_submit.py",
            "namespace": arguments.namespace,
            "rates": ", ".join(map(str, rates)),
            "seconds per rate": arguments.seconds,
            "citizens": arguments.citizens,
            "command": " ".join(sys.argv),
        }
    )
    profile = {name: Path(out) for name, _, out in (p.partition("=") for p in arguments.profile)}
    report.context["other services' processes on the machine"] = others_running()
    async with started(arguments.namespace, profile=profile) as stack:
        pids = ", ".join(f"{n} {s.pid}" for n, s in stack.services.items())
        print(f"Services: {pids}; bench pid {os.getpid()}", flush=True)
        found = await scenarios(
            stack,
            rates=rates,
            seconds=arguments.seconds,
            citizens=arguments.citizens,
            keep=arguments.keep,
        )
    report.context["load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for scenario in found:
        report.add(scenario)
    report.write()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--namespace", default="volume")
    parser.add_argument("--rates", default=",".join(map(str, RATES)), help="submissions/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate")
    parser.add_argument("--citizens", type=int, default=100, help="signed-in citizens applying")
    parser.add_argument("--keep", action="store_true", help="leave the submissions submitted")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="SERVICE=OUT",
        help="record a service with py-spy (uv run --with py-spy): .svg, .txt, .json",
    )
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(parser.parse_args()))
