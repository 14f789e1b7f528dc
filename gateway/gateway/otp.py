"""Publishing one-time codes to the notifications service, on their own short-lived topic.

Not through the outbox: a code is useful for minutes, so it is sent now or the citizen is told
to ask again, and it is never written to the gateway's database in clear.
"""

from __future__ import annotations

from aiokafka.errors import KafkaError

from mpp_shared import events, topics
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.kafka import DirectPublisher
from mpp_shared.problems import Problem
from mpp_shared.settings import ServiceSettings


class OtpSender:
    """Sends each code as an `identity.otp.requested.v1` event on `identity.otp`."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.publisher = DirectPublisher(settings, topics.IDENTITY_OTP)

    async def send(self, otp: OtpRequested) -> None:
        """Publish the code; a 503 problem when Kafka does not take it within seconds."""
        event = events.new_event(
            otp, source=topics.source_of("gateway"), subject=otp.citizen_id or otp.phone
        )
        try:
            await self.publisher.publish(event)
        except (KafkaError, OSError, TimeoutError) as exc:
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

    async def close(self) -> None:
        """Stop the producer."""
        await self.publisher.close()
