"""Publishing one-time codes to the notifications service, on their own short-lived topic.

Not through the outbox: a code is useful for minutes, so it is sent now or the citizen is told
to ask again, and it is never written to the gateway's database in clear.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from mpp_shared import events, telemetry, topics
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.kafka import create_producer
from mpp_shared.problems import Problem
from mpp_shared.settings import ServiceSettings

EVENT_TYPE = "identity.otp.requested.v1"


class OtpSender:
    """Sends each code as an `identity.otp.requested.v1` event; the producer starts on first use."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.topic = settings.topic(topics.IDENTITY_OTP)
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def send(self, otp: OtpRequested) -> None:
        """Publish the code; a 503 problem when Kafka does not take it within seconds."""
        event = events.new_event(
            type=EVENT_TYPE,
            source=topics.source_of("gateway"),
            subject=otp.citizen_id or otp.phone,
            data=otp,
        )
        record = events.to_kafka(event)
        key = record.key.encode() if isinstance(record.key, str) else record.key
        headers = list(record.headers.items()) + telemetry.kafka_headers(
            telemetry.current_trace_headers()
        )
        try:
            producer = await self._ensure()
            await asyncio.wait_for(
                producer.send_and_wait(self.topic, value=record.value, key=key, headers=headers),
                timeout=5,
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            await self.close()
            raise Problem(
                503,
                "unavailable",
                detail={
                    "id": "Kode belum dapat dikirim. Silakan minta kode lagi sebentar lagi.",
                    "en": "The code could not be sent. Please ask for it again shortly.",
                },
                headers={"Retry-After": "10"},
                reason="otp-not-sent",
            ) from exc

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
        """Stop the producer (it is started again on the next code)."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError, OSError):
                await producer.stop()
