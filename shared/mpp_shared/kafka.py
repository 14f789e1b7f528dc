"""Kafka: the idempotent producer, topic creation, and the one consumer runner.

The runner commits a record's offset only after its handler's effect is stored, retries a
failing handler with backoff a bounded number of times, then parks the record in the service's
dead-letter topic with where it came from and why it failed, and goes on with the next record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, RetryCallState, wait_exponential_jitter

from mpp_shared import contracts, db, events, inbox, metrics, telemetry
from mpp_shared.events import Event, InvalidEvent
from mpp_shared.settings import ServiceSettings
from mpp_shared.supervisor import Heartbeat

log = logging.getLogger(__name__)

# A handler applies an event on the connection it is given, in the transaction that also records
# the event in the inbox.
TxHandler = Callable[[Event, AsyncConnection], Awaitable[None]]
# A service's handler of one contract: the event's payload parsed as that contract model, the
# event itself (its id, time, subject), and the connection of that same transaction.
Handler = Callable[[Any, Event, AsyncConnection], Awaitable[None]]
Handlers = dict[type[BaseModel], Handler]

# Headers a dead-lettered record carries besides its own.
DLQ_TOPIC = "dlq.original.topic"
DLQ_PARTITION = "dlq.original.partition"
DLQ_OFFSET = "dlq.original.offset"
DLQ_ERROR = "dlq.error"
DLQ_CONSUMER = "dlq.consumer"
DLQ_FAILED_AT = "dlq.failed_at"
DLQ_HEADERS = (DLQ_TOPIC, DLQ_PARTITION, DLQ_OFFSET, DLQ_ERROR, DLQ_CONSUMER, DLQ_FAILED_AT)


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """An idempotent producer that waits for every in-sync replica."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=settings.service_name,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=10_000,
    )


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    compacted: Iterable[str] = (),
    retention_ms: Mapping[str, int] | None = None,
) -> None:
    """Create the topics that do not exist yet, compact those that must be compacted, and cap the
    retention of those whose records must not outlive their use.

    Partitions and replication of existing topics are left as they are (operators own them).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        compacted = set(compacted)
        configs: dict[str, dict[str, str]] = {
            name: {"cleanup.policy": "compact"} for name in compacted
        }
        for name, milliseconds in (retention_ms or {}).items():
            configs.setdefault(name, {})["retention.ms"] = str(milliseconds)
        to_alter = [
            ConfigResource(ConfigResourceType.TOPIC, name, config)
            for name, config in configs.items()
            if name in existing
        ]
        if to_alter:
            await admin.alter_configs(to_alter)
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs=configs.get(name, {}),
            )
            for name in dict.fromkeys(names)
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


def by_type(handlers: Mapping[type[BaseModel], Handler]) -> dict[str, TxHandler]:
    """The runner's handlers by event type, from a service's handlers by contract model. Each
    parses its event's payload once, in the handler's transaction: a payload that does not parse
    is retried and dead-lettered like any failing handler."""

    def parsing(model: type[BaseModel], handler: Handler) -> TxHandler:
        async def handle(event: Event, connection: AsyncConnection) -> None:
            await handler(model.model_validate(event.data), event, connection)

        return handle

    return {contracts.type_of(model): parsing(model, h) for model, h in handlers.items()}


async def _all_or_none(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run side by side; if one raises, stop the others and raise its error as it is (a
    TaskGroup would wrap it in a group, which the callers' handlers of Kafka's errors miss)."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class ConsumerRunner:
    """Consumes a service's topics with its consumer group and hands each event to its handler."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        topics: Iterable[str],
        handlers: Mapping[str, TxHandler],
        engine: AsyncEngine,
        max_attempts: int = 4,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        side_by_side: bool = True,
    ) -> None:
        self.settings = settings
        self.side_by_side = side_by_side
        self.topics = [settings.topic(name) for name in topics]
        self.handlers = dict(handlers)
        self.engine = engine
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._stopping = asyncio.Event()
        self._tracer = telemetry.tracer(__name__)
        self.ready = asyncio.Event()

    def stop(self) -> None:
        """Ask the runner to finish the record in hand, commit, and leave the group."""
        self._stopping.set()

    async def run(self, heartbeat: Heartbeat | None = None) -> None:
        """Consume until stopped; a broken connection is reopened from the committed offsets.
        Each poll whose records were all handled beats the `heartbeat`; an error other than
        Kafka's or the network's ends the run, for its supervisor to start it again."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                await self._consume(heartbeat)
                delay = 0.5
            except (KafkaError, OSError) as exc:
                log.warning("consumer %s: %s; reconnecting in %.1fs", self.topics, exc, delay)
                self.ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, 10.0)

    async def _consume(self, heartbeat: Heartbeat | None) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.consumer_group,
            client_id=self.settings.service_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            # Topics other services create later are seen within half a minute, not five.
            metadata_max_age_ms=30_000,
        )
        producer = create_producer(self.settings)
        await consumer.start()
        try:
            await producer.start()
            self.ready.set()
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=100)
                if batches and not self._stopping.is_set():
                    work = [self._handle_together(rs, producer) for rs in batches.values()]
                    if self.side_by_side:
                        # Partitions side by side, each in its own order: one after another, a
                        # partition's events waited for the others' transactions, and on a busy
                        # process the consumer fell behind with CPU to spare.
                        await _all_or_none(work)
                    else:
                        for handling in work:
                            await handling
                    await self._commit(
                        consumer, {p: records[-1].offset + 1 for p, records in batches.items()}
                    )
                await self._record_lag(consumer)
                if heartbeat:
                    heartbeat.beat()
        finally:
            self.ready.clear()
            await producer.stop()
            await consumer.stop()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # A partition moved to another member, which starts again from the last commit;
            # handlers are idempotent, so the records seen twice change nothing.
            log.info("commit of %s skipped after a rebalance: %s", list(offsets), exc)

    async def _handle_together(
        self, records: list[ConsumerRecord[bytes, bytes]], producer: AIOKafkaProducer
    ) -> None:
        """A partition's records as they came, applied in one transaction: one commit instead
        of one per event, which under load was what limited a consumer (each commit waits for
        the disk). If any of them fails, nothing of the batch is kept and each is applied on
        its own, retried and dead-lettered as `_handle` does."""
        if len(records) > 1:
            try:
                together = [(record, events.from_json(record.value or b"")) for record in records]
            except InvalidEvent:
                together = []
            if together:
                try:
                    async with db.transaction(self.engine) as connection:
                        for record, event in together:
                            handler = self.handlers.get(event.type)
                            if handler is not None:
                                with self._span(record, event):
                                    if await inbox.claim(connection, event):
                                        await handler(event, connection)
                except Exception as exc:
                    log.info("%d events failed together (%r): one by one", len(records), exc)
                else:
                    for _, event in together:
                        outcome = "handled" if event.type in self.handlers else "ignored"
                        metrics.record_consumed(
                            service=self.settings.service_name,
                            event_type=event.type,
                            outcome=outcome,
                        )
                    return
        for record in records:
            await self._handle(record, producer)

    def _span(
        self, record: ConsumerRecord[bytes, bytes], event: Event
    ) -> AbstractContextManager[Span]:
        parent = telemetry.context_from_headers(telemetry.carrier_from_kafka(record.headers))
        return self._tracer.start_as_current_span(
            f"{record.topic} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.settings.consumer_group,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
            },
        )

    async def _handle(
        self, record: ConsumerRecord[bytes, bytes], producer: AIOKafkaProducer
    ) -> None:
        service = self.settings.service_name
        try:
            event = events.from_json(record.value or b"")
        except InvalidEvent as exc:
            await self._dead_letter(record, producer, exc)
            metrics.record_consumed(service=service, event_type="invalid", outcome="dead_lettered")
            return
        handler = self.handlers.get(event.type)
        if handler is None:
            metrics.record_consumed(service=service, event_type=event.type, outcome="ignored")
            return
        with self._span(record, event) as span:
            try:
                async for attempt in AsyncRetrying(
                    stop=self._stop_rule(),
                    wait=wait_exponential_jitter(
                        multiplier=self.backoff_initial,
                        max=self.backoff_max,
                        jitter=self.backoff_initial,
                    ),
                    reraise=True,
                ):
                    with attempt:
                        await self.apply(handler, event)
            except Exception as exc:
                if db.is_unreachable(exc):
                    # Stopping while the database is away: the event is not committed, so it is
                    # read again on the next start. Never a dead letter for an outage.
                    raise
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                log.exception(
                    "event %s (%s) failed %d times", event.id, event.type, self.max_attempts
                )
                await self._dead_letter(record, producer, exc)
                metrics.record_consumed(
                    service=service, event_type=event.type, outcome="dead_lettered"
                )
                return
        metrics.record_consumed(service=service, event_type=event.type, outcome="handled")

    def _stop_rule(self) -> Callable[[RetryCallState], bool]:
        """Give an event up after `max_attempts` failures of its own, never while the database
        is away: an outage would otherwise send every event it met to the dead-letter topic."""
        own_failures = 0

        def gives_up(state: RetryCallState) -> bool:
            nonlocal own_failures
            failed = state.outcome.exception() if state.outcome else None
            if failed is not None and db.is_unreachable(failed):
                if self._stopping.is_set():
                    return True
                log.warning("database unreachable (%r): the event waits for it", failed)
                return False
            own_failures += 1
            return own_failures >= self.max_attempts

        return gives_up

    async def apply(self, handler: TxHandler, event: Event) -> None:
        """Apply one event once: in one transaction with its inbox record."""
        async with db.transaction(self.engine) as connection:
            if await inbox.claim(connection, event):
                await handler(event, connection)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], producer: AIOKafkaProducer, error: Exception
    ) -> None:
        headers = [(k, v) for k, v in record.headers or () if k not in DLQ_HEADERS]
        headers += [
            (DLQ_TOPIC, record.topic.encode()),
            (DLQ_PARTITION, str(record.partition).encode()),
            (DLQ_OFFSET, str(record.offset).encode()),
            (DLQ_ERROR, f"{type(error).__name__}: {error}"[:1000].encode()),
            (DLQ_CONSUMER, self.settings.consumer_group.encode()),
            (DLQ_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        await producer.send_and_wait(
            self.settings.dlq_topic, value=record.value, key=record.key, headers=headers
        )

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for partition in consumer.assignment():
            end = consumer.highwater(partition)
            if end is None:
                continue
            position = await consumer.position(partition)
            metrics.record_lag(
                service=self.settings.service_name,
                topic=partition.topic,
                partition=partition.partition,
                lag=end - position,
            )


class DirectPublisher:
    """Publishes events now, bypassing the outbox: for secrets (one-time codes, PINs) that must
    not be stored in clear and are worthless later. The producer starts on first use; a failure
    raises `KafkaError`, `OSError` or `TimeoutError` and the caller decides what the user hears.
    """

    def __init__(self, settings: ServiceSettings, topic: str) -> None:
        self.settings = settings
        self.topic = settings.topic(topic)
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def publish(self, event: Event, *, timeout: float = 5.0) -> None:
        """Send one event and wait until Kafka has it."""
        record = events.to_kafka(event)
        key = record.key.encode() if isinstance(record.key, str) else record.key
        headers = list(record.headers.items()) + telemetry.kafka_headers(
            telemetry.current_trace_headers()
        )
        try:
            producer = await self._ensure()
            await asyncio.wait_for(
                producer.send_and_wait(self.topic, value=record.value, key=key, headers=headers),
                timeout=timeout,
            )
        except (KafkaError, OSError, TimeoutError):
            await self.close()
            raise

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = create_producer(self.settings)
                try:
                    await asyncio.wait_for(producer.start(), timeout=5)
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def close(self) -> None:
        """Stop the producer (it starts again on the next event)."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError, OSError):
                await producer.stop()
