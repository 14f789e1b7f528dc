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
import logging
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
