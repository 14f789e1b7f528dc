"""The sign-in sessions the gateway has ended, known to every service within a moment.

An access token lives minutes and every service verifies it by its signature alone, so without
this a signed-out, password-changed or switched-off session's token would still open each
service's door until it expired. The gateway publishes `identity.sessions.ended.v1`; each
process reads `identity.events` without a consumer group (every replica must see every ended
session), starting a little further back than any access token lives, and refuses the ended
sessions' tokens until none of them can still be valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from mpp_shared import contracts, events, topics
from mpp_shared.contracts.identity import SessionsEnded
from mpp_shared.settings import ServiceSettings
from mpp_shared.supervisor import Heartbeat

log = logging.getLogger(__name__)

ENDED = contracts.type_of(SessionsEnded)
# Longer than any access token lives (the gateway's live 10 minutes, partners' one).
KEEP_SECONDS = 3600.0
RETRY_SECONDS = (0.5, 30.0)


class EndedSessions:
    """Session ids whose access tokens are refused, each kept until its tokens would have
    expired anyway; `follow` keeps the set current from Kafka."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._until: dict[str, float] = {}
        self._stopping = asyncio.Event()

    def __contains__(self, session_id: str) -> bool:
        until = self._until.get(session_id)
        return until is not None and until > time.time()

    def add(self, session_ids: Iterable[str], *, ended_at: float) -> None:
        """Refuse these sessions' tokens for as long as one could still be valid."""
        until = ended_at + self.keep_seconds
        for session_id in session_ids:
            self._until[session_id] = max(until, self._until.get(session_id, 0.0))

    def forget_expired(self) -> None:
        """Drop sessions none of whose tokens can be valid any more."""
        now = time.time()
        for session_id in [s for s, until in self._until.items() if until <= now]:
            del self._until[session_id]

    def stop(self) -> None:
        """End `follow` at its next poll."""
        self._stopping.set()

    async def follow(self, settings: ServiceSettings, heartbeat: Heartbeat | None = None) -> None:
        """Read the ended sessions from `identity.events` until stopped; Kafka away is waited
        out (logged), never the end of it. Each poll beats the `heartbeat`."""
        delay = RETRY_SECONDS[0]
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=settings.kafka_bootstrap,
                client_id=f"{settings.service_name}-ended-sessions",
                group_id=None,
                enable_auto_commit=False,
            )
            try:
                await consumer.start()
                await self._read(consumer, settings.topic(topics.IDENTITY), heartbeat)
                delay = RETRY_SECONDS[0]
            except (KafkaError, OSError) as exc:
                log.warning(
                    "ended sessions: %s: %s; again in %.1fs", type(exc).__name__, exc, delay
                )
            finally:
                with contextlib.suppress(KafkaError, OSError):
                    await consumer.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, RETRY_SECONDS[1])

    async def _read(
        self, consumer: AIOKafkaConsumer, topic: str, heartbeat: Heartbeat | None
    ) -> None:
        consumer.subscribe([topic])  # without a group: every partition is this process's
        partitions = await self._assigned(consumer)
        if not partitions:
            return  # the topic is not there yet: started again in a moment
        since = int((time.time() - self.keep_seconds) * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, since))
        for partition in partitions:
            offset = found.get(partition)
            if offset is None:
                await consumer.seek_to_end(partition)
            else:
                consumer.seek(partition, offset.offset)
        last_sweep = time.monotonic()
        while not self._stopping.is_set():
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batch.values():
                for record in records:
                    self._apply(record.value, record.timestamp / 1000)
            if time.monotonic() - last_sweep > 60:
                self.forget_expired()
                last_sweep = time.monotonic()
            if heartbeat:
                heartbeat.beat()

    async def _assigned(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """The partitions assigned once the topic's metadata came; none within 10 s if the
        topic does not exist yet (or if stopped first)."""
        deadline = time.monotonic() + 10
        while not consumer.assignment() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)
            if self._stopping.is_set():
                return []
        return sorted(consumer.assignment())

    def _apply(self, value: bytes | None, ended_at: float) -> None:
        if value is None or ENDED.encode() not in value:  # most identity events: not parsed
            return
        try:
            event = events.from_json(value)
            if event.type == ENDED:
                ended = event.payload(SessionsEnded)
                self.add(ended.session_ids, ended_at=ended_at)
        except (events.InvalidEvent, ValidationError) as exc:
            log.warning("ended sessions: skipped a bad record: %s", exc)
