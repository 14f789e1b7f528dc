"""The transactional outbox: the `outbox` table and the relay that publishes it.

A state change and the events it causes are one transaction: the service writes its rows and
`record()`s the events in the `outbox` table of its own database. `record()` also NOTIFYs, which
PostgreSQL delivers at commit, so the relay publishes within milliseconds (polling only as a
fallback). The relay claims the first waiting event of each entity with FOR UPDATE SKIP LOCKED
and takes that entity's later events with it: while one relay holds an entity's first event no
other relay may publish any event of that entity, so replicas relay side by side and one
entity's events still go out in the order they were recorded. Published rows are deleted in
the same transaction; if Kafka fails, the transaction rolls back and the events wait.

The claim is a lease: its row locks last as long as the claiming transaction, and the server
ends that transaction's session when it sits idle for longer than `lease_seconds` (a relay that
stalled: a frozen process, a lost network), so another relay takes the entities over. A stalled
relay is fenced: right before it hands its batch to Kafka it asks the server whether its session,
and so its lease, still stands, and publishes nothing when it does not. What might still slip
through (a process frozen between that check and the network) is a repeat of events the new
holder publishes too, an earlier part of the same ordered run, so the consumers' inbox, which
applies an event id once, sees each event once and in order.

An event Kafka can never take (too large, or an envelope that no longer parses) is parked: moved
to `outbox_parked` with the reason, in the transaction that publishes the others, logged as an
error and counted (`mpp.outbox.parked`, and the table's depth). The events after it, of its
entity too, go on; once the cause is fixed, `make outbox-replay SERVICE=...` puts the parked
ones back in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from opentelemetry.trace import SpanKind
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy import text as sa_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mpp_shared import events, metrics, telemetry, topics
from mpp_shared.events import Event
from mpp_shared.kafka import create_producer
from mpp_shared.settings import ServiceSettings
from mpp_shared.supervisor import Heartbeat

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "mpp_outbox"


# Errors no retry mends: the event is parked, the others are published.
UNPUBLISHABLE = (MessageSizeTooLargeError, RecordTooLargeError, events.InvalidEvent)


def table(metadata: MetaData) -> Table:
    """The outbox table and the table of parked events, added to a service's metadata (its
    migrations create them); returns the outbox."""
    Table(
        "outbox_parked",
        metadata,
        Column("position", BigInteger, primary_key=True),  # its place in the outbox
        Column("event_id", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("envelope", Text, nullable=False),
        Column("trace", JSONB, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("reason", Text, nullable=False),
    )
    return Table(
        "outbox",
        metadata,
        Column("position", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Text, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        # The CloudEvents JSON exactly as it goes on the wire.
        Column("envelope", Text, nullable=False),
        Column("trace", JSONB, nullable=False, server_default=sa_text("'{}'::jsonb")),
        Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_outbox_subject_position", "subject", "position"),
    )


async def record(connection: AsyncConnection, new_events: Sequence[Event]) -> None:
    """Record events in the transaction that made them happen; the relay publishes them."""
    if not new_events:
        return
    trace = json.dumps(telemetry.current_trace_headers())
    await connection.execute(
        _RECORD,
        {
            "event_ids": [e.id for e in new_events],
            "subjects": [e.subject for e in new_events],
            "envelopes": [e.to_json().decode() for e in new_events],
            "trace": trace,
            "channel": NOTIFY_CHANNEL,
        },
    )


# Built once: SQLAlchemy works out a statement's cache key once per statement object, and a
# statement built per call paid for it every time.
# One statement, one round trip, for the events and the notification: the rows in the order of
# the arrays (their positions, and so the order they are published in, follow it).
_RECORD = sa_text(
    "WITH recorded AS ("
    " INSERT INTO outbox (event_id, subject, envelope, trace)"
    " SELECT event_id, subject, envelope, CAST(:trace AS jsonb)"
    " FROM unnest(CAST(:event_ids AS text[]), CAST(:subjects AS text[]),"
    " CAST(:envelopes AS text[])) WITH ORDINALITY AS e(event_id, subject, envelope, n)"
    " ORDER BY n"
    " RETURNING 1)"
    " SELECT pg_notify(:channel, '') FROM (SELECT 1 FROM recorded LIMIT 1) AS one"
)
_NOTIFY = sa_text(f"NOTIFY {NOTIFY_CHANNEL}")
_FENCE = sa_text("SELECT 1")
_DELETE = sa_text("DELETE FROM outbox WHERE position = ANY(:positions)")
_PARK = sa_text(
    "INSERT INTO outbox_parked (position, event_id, subject, envelope, trace, recorded_at, reason)"
    " SELECT position, event_id, subject, envelope, trace, recorded_at, :reason"
    " FROM outbox WHERE position = :position"
)
_UNPARK = sa_text(
    "WITH taken AS (DELETE FROM outbox_parked RETURNING *)"
    " INSERT INTO outbox (event_id, subject, envelope, trace, recorded_at)"
    " SELECT event_id, subject, envelope, trace, recorded_at FROM taken ORDER BY position"
    " RETURNING event_id"
)


# The first waiting event of each entity, locked, skipping those another relay holds; then those
# entities' events in recording order.
_CLAIM = sa_text(
    """
    SELECT position, event_id, envelope, trace FROM outbox
    WHERE subject IN (
        SELECT subject FROM outbox AS head
        WHERE NOT EXISTS (
            SELECT 1 FROM outbox AS earlier
            WHERE earlier.subject = head.subject AND earlier.position < head.position
        )
        ORDER BY position
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    ORDER BY position
    LIMIT :limit
    """
)


class Relay:
    """Publishes the events recorded in a service's outbox table, in order per entity."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        engine: AsyncEngine,
        poll_seconds: float = 5.0,
        batch_size: int = 500,
        lease_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        # The producer gives up on a request after 10 s (`kafka.create_producer`): a healthy
        # relay is never idle in its transaction for as long as its lease.
        self._lease = sa_text(
            f"SET LOCAL idle_in_transaction_session_timeout = {int(lease_seconds * 1000)}"
        )
        self.topic = settings.topic(_topic_of(settings.service_name))
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._tracer = telemetry.tracer(__name__)
        self._depth_at = 0.0

    def wake(self) -> None:
        """Publish soon (the database's notification does this too)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in hand and stop."""
        self._stopping.set()
        self._wake.set()

    async def run(self, heartbeat: Heartbeat | None = None) -> None:
        """Publish whenever notified, drain a backlog without pausing, poll as a fallback; each
        round that reached the store (and Kafka, when there was something to publish) beats
        the `heartbeat`. Kafka or the store away is waited out here; any other error ends the
        run, for its supervisor (`mpp_shared.supervisor`) to log and start again."""
        listener = asyncio.create_task(self._listen())
        delay = 0.5
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    published = await self.publish_pending()
                    await self._record_depth()
                    if heartbeat:
                        heartbeat.beat()
                    delay = 0.5
                    if published < self.batch_size:
                        await self._sleep(self.poll_seconds)
                except (KafkaError, OSError, DBAPIError, TimeoutError) as exc:
                    log.warning("outbox relay: %s; retrying in %.1fs", exc, delay)
                    await self._close_producer()
                    await self._sleep(delay)
                    delay = min(delay * 2, 10.0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self._close_producer()

    async def publish_pending(self) -> int:
        """Publish one batch of waiting events; returns how many."""
        async with self.engine.begin() as connection:
            await connection.execute(self._lease)
            rows = (await connection.execute(_CLAIM, {"limit": self.batch_size})).all()
            if not rows or self._stopping.is_set():
                return 0
            producer = await self._ensure_producer()
            # The fence: a session the server ended for idling past the lease answers nothing,
            # and the batch, taken over by another relay meanwhile, is not published.
            await connection.execute(_FENCE)
            # Sent together, delivered in order: the idempotent producer keeps one key's order.
            sent, parked = [], []
            for row in rows:
                try:
                    sent.append((row, await self._send(producer, row.envelope, row.trace)))
                except UNPUBLISHABLE as exc:
                    parked.append((row, exc))
            outcomes = await asyncio.gather(*(s for _, s in sent), return_exceptions=True)
            for (row, _), outcome in zip(sent, outcomes, strict=True):
                if isinstance(outcome, UNPUBLISHABLE):
                    parked.append((row, outcome))
                elif isinstance(outcome, BaseException):
                    raise outcome  # Kafka away: the whole batch waits, as it was
            for row, error in parked:
                await self._park(connection, row, error)
            await connection.execute(_DELETE, {"positions": [row.position for row in rows]})
        metrics.record_published(service=self.settings.service_name, count=len(rows) - len(parked))
        return len(rows)

    async def _park(self, connection: AsyncConnection, row: Any, error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"[:2000]
        await connection.execute(_PARK, {"position": row.position, "reason": reason})
        metrics.record_parked(service=self.settings.service_name)
        log.error(
            "outbox: event %s parked, Kafka cannot take it (%s); the others go on."
            " Fix the cause, then: make outbox-replay SERVICE=%s",
            row.event_id,
            reason,
            self.settings.service_name,
        )

    async def _send(
        self, producer: AIOKafkaProducer, envelope: str, trace: dict[str, str]
    ) -> asyncio.Future[Any]:
        event = events.from_json(envelope)
        record = events.to_kafka(event)
        parent = telemetry.context_from_headers(trace or {})
        with self._tracer.start_as_current_span(
            f"{self.topic} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self.topic,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
            },
        ):
            headers = list(record.headers.items()) + telemetry.kafka_headers(
                telemetry.current_trace_headers()
            )
            key = record.key.encode() if isinstance(record.key, str) else record.key
            sent: asyncio.Future[Any] = await producer.send(
                self.topic, value=record.value, key=key, headers=headers
            )
            return sent

    async def _record_depth(self) -> None:
        if time.monotonic() - self._depth_at < 5.0:
            return
        self._depth_at = time.monotonic()
        async with self.engine.connect() as connection:
            depths = (await connection.execute(_DEPTHS)).one()
        for collection, depth in zip(("outbox", "outbox_parked"), depths, strict=True):
            metrics.record_outbox_depth(
                service=self.settings.service_name, collection=collection, depth=int(depth)
            )

    async def _listen(self) -> None:
        """Wake the relay on every commit that recorded events; reconnect if the link drops."""
        import asyncpg

        delay = 0.5
        while not self._stopping.is_set():
            try:
                connection = await asyncpg.connect(
                    host=self.settings.postgres_host,
                    port=self.settings.postgres_port,
                    user=self.settings.postgres_role,
                    password=self.settings.postgres_password.get_secret_value(),
                    database=self.settings.postgres_database_name,
                    timeout=5,
                )
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("outbox listener: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            try:
                lost = asyncio.Event()
                connection.add_termination_listener(lambda *_, lost=lost: lost.set())
                await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                self._wake.set()  # anything recorded while we were not listening
                while not connection.is_closed() and not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = create_producer(self.settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(KafkaError, OSError):
                await producer.stop()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


_DEPTHS = sa_text("SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM outbox_parked)")


async def unpark(engine: AsyncEngine) -> list[str]:
    """Put every parked event back in the outbox, in the order they were first recorded, for
    the relay to try again; returns their ids."""
    async with engine.begin() as connection:
        moved = await connection.execute(_UNPARK)
        ids = [row.event_id for row in moved]
        await connection.execute(_NOTIFY)
    return ids


def _topic_of(service_name: str) -> str:
    return topics.PRODUCERS.get(service_name, f"{service_name}.events")


async def _parked(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        found = await connection.execute(
            sa_text("SELECT event_id, parked_at, reason FROM outbox_parked ORDER BY position")
        )
        return list(found)


def main() -> None:
    """List a service's parked events, or put them back in its outbox (`--replay`)."""
    import argparse
    import sys

    from mpp_shared import db

    parser = argparse.ArgumentParser(prog="python -m mpp_shared.outbox", description=main.__doc__)
    parser.add_argument("service", help="the service whose outbox parked them, e.g. applications")
    parser.add_argument("--replay", action="store_true", help="back to the outbox, to publish")
    args = parser.parse_args()
    settings = ServiceSettings(service_name=args.service)

    async def run() -> None:
        engine = db.create_engine(settings)
        try:
            for row in await _parked(engine):
                print(f"{row.event_id}  parked {row.parked_at:%Y-%m-%d %H:%M:%S}  {row.reason}")
            if args.replay:
                moved = await unpark(engine)
                print(
                    f"{len(moved)} event(s) back in the outbox of {args.service}", file=sys.stderr
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


if __name__ == "__main__":
    main()
