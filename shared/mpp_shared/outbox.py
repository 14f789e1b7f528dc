"""The outbox kept inside each aggregate document, and the relay that publishes it.

A state change and the events it causes are one update of one document: `$set` the new state,
`$push` the envelopes onto the document's `outbox` array, guarded by its `version`. The relay
publishes pending envelopes in order with the idempotent producer, then `$pullAll`s them. Kafka
down means events wait in their documents; nothing is lost. One relay per service publishes at
a time (a lease document with an expiry), so replicas never interleave one entity's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.trace import SpanKind
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError
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
from mpp_shared.ids import new_id
from mpp_shared.kafka import create_producer
from mpp_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

OUTBOX = "outbox"
PENDING = "outbox_pending"
LEASES = "outbox_leases"

# Every collection that keeps an outbox needs this index, so the relay finds pending documents.
INDEXES = [IndexModel(PENDING)]

Document = dict[str, Any]


class VersionConflict(Exception):
    """The document changed since it was read; the caller reads it again or gives up."""


def entries(new_events: Iterable[Event]) -> list[Document]:
    """Outbox entries for events, each with the trace context of the code that caused it.

    The envelope is kept as its JSON text: payloads may hold keys a document store refuses
    (a JSON Schema's `$schema`, `$ref`), and the text is exactly what goes on the wire.
    """
    trace = telemetry.current_trace_headers()
    return [{"id": e.id, "event": e.to_json().decode(), "trace": trace} for e in new_events]


def new_document(document: Document, new_events: Sequence[Event]) -> Document:
    """A new aggregate document at version 1 holding the events its creation caused."""
    result = {**document, "version": 1, OUTBOX: entries(new_events)}
    if new_events:
        result[PENDING] = True
    return result


def change(
    set_fields: Document, new_events: Sequence[Event], *, extra: Document | None = None
) -> Document:
    """The update that sets new state, bumps the version and records the events, atomically."""
    update: Document = {"$set": dict(set_fields), "$inc": {"version": 1}}
    if new_events:
        update["$set"][PENDING] = True
        update["$push"] = {OUTBOX: {"$each": entries(new_events)}}
    for operator, fields in (extra or {}).items():
        update.setdefault(operator, {}).update(fields)
    return update


async def apply_change(
    collection: AsyncCollection[Document],
    *,
    id: str,
    expected_version: int,
    set_fields: Document,
    new_events: Sequence[Event],
) -> Document:
    """Apply `change` if the document is still at `expected_version`; return the new document."""
    updated = await collection.find_one_and_update(
        {"_id": id, "version": expected_version},
        change(set_fields, new_events),
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise VersionConflict(id)
    return updated


class OutboxRelay:
    """Publishes the events waiting in a service's aggregate documents, in order, once leased."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        db: AsyncDatabase[Document],
        collections: Sequence[str],
        lease_seconds: float = 15.0,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
    ) -> None:
        self.settings = settings
        self.db = db
        self.collections = list(collections)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.holder = new_id()
        self.topic = settings.topic(_topic_of(settings.service_name))
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._tracer = telemetry.tracer(__name__)

    def wake(self) -> None:
        """Publish soon: called right after a write that recorded events."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the document in hand and stop."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish whenever woken or every poll interval; back off while Kafka is away."""
        delay = 0.5
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    await self.publish_pending()
                    delay = 0.5
                    await self._sleep(self.poll_seconds)
                except (KafkaError, OSError, PyMongoError) as exc:
                    log.warning("outbox relay: %s; retrying in %.1fs", exc, delay)
                    await self._close_producer()
                    await self._sleep(delay)
                    delay = min(delay * 2, 10.0)
        finally:
            await self._close_producer()
            with contextlib.suppress(PyMongoError):
                await self.db[LEASES].delete_one({"_id": self._lease_id, "holder": self.holder})

    async def publish_pending(self) -> int:
        """Publish every pending event this relay may publish now; returns how many."""
        if not await self._hold_lease():
            return 0
        published = 0
        for name in self.collections:
            collection = self.db[name]
            query = collection.find({PENDING: True}, {OUTBOX: 1, "version": 1})
            documents = [d async for d in query.limit(self.batch_size)]
            metrics.record_outbox_depth(
                service=self.settings.service_name, collection=name, depth=len(documents)
            )
            if not documents or self._stopping.is_set():
                continue
            producer = await self._ensure_producer()
            # Sent together, delivered in order: the idempotent producer keeps one key's order.
            sent = [await self._send(producer, e) for d in documents for e in d.get(OUTBOX) or []]
            await asyncio.gather(*sent)
            for document in documents:
                await self._clear(collection, document)
            published += len(sent)
        if published:
            metrics.record_published(service=self.settings.service_name, count=published)
        return published

    async def _clear(self, collection: AsyncCollection[Document], document: Document) -> None:
        """Remove the published events from the document, keeping any recorded meanwhile."""
        untouched = await collection.update_one(
            {"_id": document["_id"], "version": document.get("version")},
            {"$set": {OUTBOX: []}, "$unset": {PENDING: ""}},
        )
        if untouched.matched_count:
            return
        # The aggregate changed since it was read (and may hold new events): remove just ours.
        await collection.update_one(
            {"_id": document["_id"]}, {"$pullAll": {OUTBOX: document[OUTBOX]}}
        )
        await collection.update_one(
            {"_id": document["_id"], OUTBOX: {"$size": 0}}, {"$unset": {PENDING: ""}}
        )

    async def _send(self, producer: AIOKafkaProducer, entry: Document) -> asyncio.Future[Any]:
        event = events.from_json(entry["event"])
        record = events.to_kafka(event)
        parent = telemetry.context_from_headers(entry.get("trace") or {})
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

    @property
    def _lease_id(self) -> str:
        return f"relay:{self.settings.service_name}"

    async def _hold_lease(self) -> bool:
        now = datetime.now(UTC)
        try:
            held = await self.db[LEASES].find_one_and_update(
                {
                    "_id": self._lease_id,
                    "$or": [{"holder": self.holder}, {"expires_at": {"$lt": now}}],
                },
                {"$set": {"holder": self.holder, "expires_at": now + self.lease}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False
        return held is not None

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


def _topic_of(service_name: str) -> str:
    return topics.PRODUCERS.get(service_name, f"{service_name}.events")


# --- PostgreSQL: the outbox table and its relay -------------------------------------------------
#
# A state change and the events it causes are one transaction: the service writes its rows and
# `record()`s the events in the `outbox` table of its own database. `record()` also NOTIFYs, which
# PostgreSQL delivers at commit, so the relay publishes within milliseconds (polling only as a
# fallback). The relay claims the first waiting event of each entity with FOR UPDATE SKIP LOCKED
# and takes that entity's later events with it: while one relay holds an entity's first event no
# other relay may publish any event of that entity, so replicas relay side by side and one
# entity's events still go out in the order they were recorded. Published rows are deleted in
# the same transaction; if Kafka fails, the transaction rolls back and the events wait.

NOTIFY_CHANNEL = "mpp_outbox"


def table(metadata: MetaData) -> Table:
    """The outbox table, added to a service's metadata (its migrations create it)."""
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
    trace = telemetry.current_trace_headers()
    await connection.execute(
        sa_text(
            "INSERT INTO outbox (event_id, subject, envelope, trace)"
            " VALUES (:event_id, :subject, :envelope, CAST(:trace AS jsonb))"
        ),
        [
            {
                "event_id": e.id,
                "subject": e.subject,
                "envelope": e.to_json().decode(),
                "trace": json.dumps(trace),
            }
            for e in new_events
        ],
    )
    await connection.execute(sa_text(f"NOTIFY {NOTIFY_CHANNEL}"))


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
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
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

    async def run(self) -> None:
        """Publish whenever notified, drain a backlog without pausing, poll as a fallback."""
        listener = asyncio.create_task(self._listen())
        delay = 0.5
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    published = await self.publish_pending()
                    await self._record_depth()
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
            rows = (await connection.execute(_CLAIM, {"limit": self.batch_size})).all()
            if not rows or self._stopping.is_set():
                return 0
            producer = await self._ensure_producer()
            # Sent together, delivered in order: the idempotent producer keeps one key's order.
            sent = [await self._send(producer, row.envelope, row.trace) for row in rows]
            await asyncio.gather(*sent)
            await connection.execute(
                sa_text("DELETE FROM outbox WHERE position = ANY(:positions)"),
                {"positions": [row.position for row in rows]},
            )
        metrics.record_published(service=self.settings.service_name, count=len(rows))
        return len(rows)

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
            depth = (await connection.execute(sa_text("SELECT count(*) FROM outbox"))).scalar_one()
        metrics.record_outbox_depth(
            service=self.settings.service_name, collection="outbox", depth=int(depth)
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
