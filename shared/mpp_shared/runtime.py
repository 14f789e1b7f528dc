"""What a service holds while it runs: its store, outbox relay, consumer and their tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db, outbox, read_audit, telemetry, topics
from mpp_shared.batches import BatchWriter
from mpp_shared.ended_sessions import EndedSessions
from mpp_shared.events import Event
from mpp_shared.kafka import ConsumerRunner, Handler, by_type, ensure_topics
from mpp_shared.settings import ServiceSettings
from mpp_shared.supervisor import Heartbeat, Supervisor

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """A running service's connections and background work."""

    settings: ServiceSettings
    engine: AsyncEngine
    relay: outbox.Relay | None = None
    consumer: ConsumerRunner | None = None
    # Sessions the gateway ended: their access tokens are refused here too.
    ended_sessions: EndedSessions = field(default_factory=EndedSessions)
    # Audit events of staff reads of personal data, on their way to the outbox.
    read_audit: BatchWriter[Event] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Every background loop of the service, started again whenever an exception ends it.
    supervisor: Supervisor = field(default_factory=Supervisor)
    extra_checks: Mapping[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    _ready_cache: tuple[float, dict[str, str]] = (0.0, {})

    async def check(self) -> dict[str, str]:
        """Each dependency's state, `ok` or why not; cached for a second."""
        at, cached = self._ready_cache
        if time.monotonic() - at < 1.0:
            return cached
        checks = {"store": "ok", "bus": "ok"}
        try:
            await asyncio.wait_for(db.ping(self.engine), 2.0)
        except (DBAPIError, OSError, TimeoutError) as exc:
            checks["store"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(kafka_reachable(self.settings.kafka_bootstrap), 3.0)
        except (KafkaError, OSError, TimeoutError) as exc:
            checks["bus"] = f"unreachable: {type(exc).__name__}"
        stalled = [f"{name} ({s:.0f} s)" for name, s in self.supervisor.stalled().items()]
        checks["loops"] = "stalled: " + ", ".join(stalled) if stalled else "ok"
        for name, probe in self.extra_checks.items():
            try:
                await asyncio.wait_for(probe(), 3.0)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unreachable: {type(exc).__name__}"
        self._ready_cache = (time.monotonic(), checks)
        return checks


async def kafka_reachable(bootstrap: str) -> None:
    """Raise unless a Kafka broker answers a metadata request."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2_000)
    try:
        await client.bootstrap()
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def run(
    settings: ServiceSettings,
    *,
    migrations: str | Path,
    consumes: Iterable[str] = (),
    produces: Iterable[str] = (),
    handlers: Mapping[type[BaseModel], Handler]
    | Callable[[AsyncEngine], Mapping[type[BaseModel], Handler]] = {},  # noqa: B006
    checks: Mapping[str, Callable[[], Awaitable[None]]] = {},
    partitions_side_by_side: bool = True,
) -> AsyncIterator[Runtime]:
    """Bring the service's database up to date (its Alembic `migrations`), open it, start the
    outbox relay and the consumer, whose every event is applied once (the inbox) by the
    `handlers` of its contract model (`kafka.by_type`); close everything on exit. A service
    whose handlers change rows that events of different entities share (a count per day) has
    its partitions applied one after another (`partitions_side_by_side=False`), else their
    transactions wait for each other's row locks.

    Nothing here waits for Kafka: a service serves its own reads and writes while the bus is
    away, and its relay and consumer catch up when it is back.
    """
    telemetry.setup(settings.service_name, log_level=settings.log_level)
    await db.migrate(settings, migrations)
    engine = db.create_engine(settings)
    runtime = Runtime(settings=settings, engine=engine, extra_checks=checks)
    consumed = list(consumes)
    own = [topics.PRODUCERS.get(settings.service_name, f"{settings.service_name}.events")]
    own += list(produces)
    creation = asyncio.create_task(_create_topics(settings, own + consumed))
    runtime.tasks.append(creation)
    runtime.relay = outbox.Relay(settings=settings, engine=engine)
    supervise = runtime.supervisor.start
    runtime.tasks.append(supervise("outbox relay", runtime.relay.run, stale_after=30))

    async def follow_ended_sessions(heartbeat: Heartbeat) -> None:
        await runtime.ended_sessions.follow(settings, heartbeat)

    runtime.tasks.append(supervise("ended sessions", follow_ended_sessions, stale_after=60))
    runtime.read_audit = read_audit.writer(engine)
    runtime.read_audit.start()
    if consumed:
        by_model = handlers(engine) if callable(handlers) else handlers
        runtime.consumer = ConsumerRunner(
            settings=settings,
            topics=consumed,
            handlers=by_type(by_model),
            engine=engine,
            side_by_side=partitions_side_by_side,
        )
        consumer = runtime.consumer

        async def consume(heartbeat: Heartbeat) -> None:
            await _consume_after(creation, consumer, heartbeat)

        runtime.tasks.append(supervise("consumer", consume, stale_after=60))
    try:
        yield runtime
    finally:
        await runtime.read_audit.close()  # into the outbox, for the relay now or next time
        runtime.relay.stop()
        runtime.ended_sessions.stop()
        if runtime.consumer:
            runtime.consumer.stop()
        _, pending = await asyncio.wait(runtime.tasks, timeout=10)
        for task in pending:
            task.cancel()
        await engine.dispose()


async def _consume_after(
    creation: asyncio.Task[None], consumer: ConsumerRunner, heartbeat: Heartbeat
) -> None:
    """Subscribe once the topics exist: a consumer that subscribes to a topic not created yet
    would learn of it only at its next metadata refresh."""
    await asyncio.shield(creation)  # a restart of the consumer does not cancel the creation
    await consumer.run(heartbeat)


async def _create_topics(settings: ServiceSettings, names: list[str]) -> None:
    """Create the service's topics and dead-letter topic, retrying while Kafka is away."""
    wanted = [settings.topic(name) for name in names] + [settings.dlq_topic]
    delay = 0.5
    while True:
        try:
            await ensure_topics(
                settings.kafka_bootstrap,
                wanted,
                partitions=settings.kafka_partitions,
                replication_factor=settings.kafka_replication_factor,
                compacted=[settings.topic(name) for name in topics.COMPACTED],
                retention_ms={settings.topic(k): v for k, v in topics.SHORT_LIVED.items()},
            )
            return
        except (KafkaError, OSError) as exc:
            log.warning("creating topics %s: %s; retrying in %.1fs", wanted, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
