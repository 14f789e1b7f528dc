"""Every process learns the sessions the gateway ended from `identity.events`: those ended after
it started and, when it starts late, those ended while any of their tokens can still be valid."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer

from mpp_shared import events, topics
from mpp_shared.contracts.identity import SessionsEnded
from mpp_shared.ended_sessions import EndedSessions
from mpp_shared.ids import new_id
from mpp_shared.kafka import ensure_topics
from mpp_shared.settings import ServiceSettings
from mpp_shared.testing import eventually, settings_for


async def _publish(producer: AIOKafkaProducer, topic: str, *session_ids: str) -> None:
    ended = events.new_event(
        type="identity.sessions.ended.v1",
        source="/mpp/gateway",
        subject="account-1",
        data=SessionsEnded(
            account_id="account-1", session_ids=list(session_ids), reason="sign-out"
        ),
    )
    record = events.to_kafka(ended)
    await producer.send_and_wait(topic, value=record.value, key=b"account-1")


async def test_ended_sessions_are_learnt_whenever_the_process_starts(
    namespace: str, kafka: str
) -> None:
    # A namespace of its own: the gateway's tests read this run's identity topic as JSON.
    settings = settings_for(ServiceSettings, f"{namespace}ended", service_name="probe")
    topic = settings.topic(topics.IDENTITY)
    await ensure_topics(kafka, [topic], partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    early, late = new_id(), new_id()
    try:
        await _publish(producer, topic, early)
        await producer.send_and_wait(topic, value=b"not an event", key=b"x")
        ended = EndedSessions()
        following = asyncio.create_task(ended.follow(settings))
        try:
            await eventually(lambda: early in ended, timeout=20)  # from before it started
            await _publish(producer, topic, late)
            await eventually(lambda: late in ended, timeout=20)
            assert "a-live-session" not in ended
        finally:
            ended.stop()
            await asyncio.wait_for(following, 5)
    finally:
        await producer.stop()


def test_an_ended_session_is_forgotten_once_none_of_its_tokens_can_be_valid() -> None:
    ended = EndedSessions(keep_seconds=60)
    ended.add(["old", "recent"], ended_at=time.time() - 61)
    ended.add(["recent"], ended_at=time.time())
    assert "old" not in ended and "recent" in ended
    ended.forget_expired()
    assert "recent" in ended
