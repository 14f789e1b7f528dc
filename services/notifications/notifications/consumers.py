"""One handler per consumed event type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.events import Event
from mpp_shared.kafka import Handler
from notifications import channels
from notifications.settings import Settings

MESSAGES = "messages"

OTP_TEXT = {
    "verify_phone": {
        "id": "Kode verifikasi MPP Elektronik: {code}. Berlaku {minutes} menit. JANGAN berikan "
        "kode ini kepada siapa pun, termasuk petugas.",
        "en": "MPP Elektronik verification code: {code}. Valid for {minutes} minutes. Do NOT "
        "share this code with anyone, including staff.",
    },
    "reset_password": {
        "id": "Kode atur ulang kata sandi MPP Elektronik: {code}. Berlaku {minutes} menit. "
        "Abaikan bila Anda tidak memintanya.",
        "en": "MPP Elektronik password reset code: {code}. Valid for {minutes} minutes. Ignore "
        "this if you did not ask for it.",
    },
}


def otp_handler(settings: Settings, db: AsyncDatabase[dict[str, Any]]) -> Handler:
    """Send each one-time code by SMS once, however often its event arrives; skip stale ones."""

    async def handle(event: Event) -> None:
        otp = OtpRequested.model_validate(event.data)
        now = datetime.now(UTC)
        message_id = idempotency.derived_id(event.id, "sms")
        first = await idempotency.insert_once(
            db[MESSAGES],
            {
                "_id": message_id,
                "event_type": event.type,
                "channel": "sms",
                "to": otp.phone,
                "status": "created",
                "created_at": now,
            },
        )
        if not first:
            existing = await db[MESSAGES].find_one({"_id": message_id})
            if existing and existing["status"] != "created":
                return
        if otp.expires_at <= now:
            await db[MESSAGES].update_one({"_id": message_id}, {"$set": {"status": "expired"}})
            return
        minutes = max(1, round((otp.expires_at - now).total_seconds() / 60))
        text = OTP_TEXT[otp.purpose][otp.language].format(code=otp.code, minutes=minutes)
        reference = await channels.send_sms(settings, to=otp.phone, text=text)
        await db[MESSAGES].update_one(
            {"_id": message_id},
            # The sandbox records the message itself: nothing further will report on it.
            {"$set": {"status": "delivered", "sent_at": datetime.now(UTC), "reference": reference}},
        )

    return handle
