"""The event pipeline's health, read from Kafka itself: how far each of the platform's consumer
groups is behind, and how many records wait in each dead-letter topic.

A group or topic is the platform's when, without this namespace's prefix, it is named after one of
the services (`applications`, `applications.dlq-replay`; `applications.dlq`), as the services'
settings name them; another namespace's (a test run's on the same broker) is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import BaseModel, Field

from mpp_shared import topics
from mpp_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

SERVICES = frozenset(topics.PRODUCERS)  # every deployable: each may consume and dead-letter
TIMEOUT_SECONDS = 5.0
# Several command center screens read at once: one look at Kafka serves them all for a moment.
FRESH_SECONDS = 2.0


class ConsumerLag(BaseModel):
    """How many records a consumer group has yet to process."""

    group: str
    lag: int = Field(description="Sum over its partitions of end offset - committed offset")


class DeadLetters(BaseModel):
    """How many records a dead-letter topic holds."""

    topic: str
    size: int = Field(description="Sum over its partitions of end offset - beginning offset")


class PipelineHealth(BaseModel):
    """The consumers' lag and the dead-letter topics' sizes; totals are null when Kafka is away."""

    at: dt.datetime
    available: bool
    reason: str | None = None
    consumers: list[ConsumerLag] = []
    dead_letters: list[DeadLetters] = []
    total_lag: int | None = None
    total_dead_letters: int | None = None


def platform_group(group: str, namespace: str) -> bool:
    """Whether a consumer group is one of this platform's (in this namespace)."""
    own = _without_namespace(group, namespace)
    return own is not None and own.split(".", 1)[0] in SERVICES


def platform_dead_letters(topic: str, namespace: str) -> bool:
    """Whether a topic is the dead-letter topic of one of this platform's services."""
    own = _without_namespace(topic, namespace)
    return own is not None and any(own == topics.dlq_of(service) for service in SERVICES)


def _without_namespace(name: str, namespace: str) -> str | None:
    """The name without the namespace's prefix; None for another namespace's."""
    prefix = f"{namespace}." if namespace else ""
    return name.removeprefix(prefix) if name.startswith(prefix) else None


class PipelineProbe:
    """Reads the pipeline's health with one admin client and one group-less consumer (for
    partition offsets, which the admin client does not ask for), started on first use, kept
    while they work, and started again on the next read after a failure."""

    def __init__(self, settings: ServiceSettings, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.timeout = timeout
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._last: tuple[float, PipelineHealth] | None = None

    async def read(self) -> PipelineHealth:
        """The health now (or a moment ago); Kafka away is `available: false`, never an error."""
        async with self._lock:
            if self._last and time.monotonic() - self._last[0] < FRESH_SECONDS:
                return self._last[1]
            try:
                health = await asyncio.wait_for(self._read(), self.timeout)
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("pipeline health: %s: %s", type(exc).__name__, exc)
                await self._close()
                health = PipelineHealth(
                    at=dt.datetime.now(dt.UTC),
                    available=False,
                    reason=f"unavailable: {type(exc).__name__}",
                )
            self._last = (time.monotonic(), health)
            return health

    async def close(self) -> None:
        """Stop the clients."""
        async with self._lock:
            await self._close()

    async def _read(self) -> PipelineHealth:
        admin, offsets = await self._clients()
        groups = sorted(
            group
            for group, _ in await admin.list_consumer_groups()
            if platform_group(group, self.settings.namespace)
        )
        committed = await asyncio.gather(*(admin.list_consumer_group_offsets(g) for g in groups))
        dead_letter_topics = sorted(
            name
            for name in await admin.list_topics()
            if platform_dead_letters(name, self.settings.namespace)
        )
        # Only partitions that exist now: a deleted topic's offsets would never be answered.
        named = {tp.topic for found in committed for tp in found} | set(dead_letter_topics)
        existing = await self._partitions(admin, named)
        wanted = existing & {tp for found in committed for tp in found}
        dead_partitions = {tp for tp in existing if tp.topic in dead_letter_topics}
        ends = await offsets.end_offsets(list(wanted | dead_partitions))
        beginnings = await offsets.beginning_offsets(list(dead_partitions))
        consumers = [
            ConsumerLag(
                group=group,
                lag=sum(
                    max(ends[tp] - position.offset, 0)
                    for tp, position in found.items()
                    if tp in wanted and position.offset >= 0
                ),
            )
            for group, found in zip(groups, committed, strict=True)
        ]
        dead_letters = [
            DeadLetters(
                topic=name,
                size=sum(ends[tp] - beginnings[tp] for tp in dead_partitions if tp.topic == name),
            )
            for name in dead_letter_topics
        ]
        return PipelineHealth(
            at=dt.datetime.now(dt.UTC),
            available=True,
            consumers=consumers,
            dead_letters=dead_letters,
            total_lag=sum(c.lag for c in consumers),
            total_dead_letters=sum(d.size for d in dead_letters),
        )

    async def _partitions(
        self, admin: AIOKafkaAdminClient, names: Iterable[str]
    ) -> set[TopicPartition]:
        chosen = sorted(names)
        if not chosen:
            return set()
        described = await admin.describe_topics(chosen)
        return {
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic["error_code"] == 0
            for partition in topic["partitions"]
        }

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            await self._close()
            timeout_ms = int(self.timeout * 1000)
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.settings.kafka_bootstrap,
                client_id=f"{self.settings.service_name}-pipeline",
                request_timeout_ms=timeout_ms,
            )
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                client_id=f"{self.settings.service_name}-pipeline",
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=timeout_ms,
            )
            # Kept even if a start fails, so that _close() stops what did start.
            self._admin, self._offsets = admin, offsets
            await admin.start()
            await offsets.start()
        return self._admin, self._offsets

    async def _close(self) -> None:
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        if offsets is not None:
            with contextlib.suppress(KafkaError, OSError):
                await offsets.stop()
        if admin is not None:
            with contextlib.suppress(KafkaError, OSError):
                await admin.close()
