"""Messages, contacts and preferences as the store gives them and the API shows them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Statuses of a message, as GOV.UK Notify names them ("created" until its first attempt).
CREATED = "created"
DELIVERED = "delivered"
SENDING = "sending"
TEMPORARY = "temporary-failure"
PERMANENT = "permanent-failure"
TECHNICAL = "technical-failure"
# What a citizen gets unless they choose otherwise: WhatsApp only when asked for.
DEFAULT_CHANNELS = {"email": True, "sms": True, "whatsapp": False, "push": True}
Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Message(BaseModel):
    """One message to one recipient on one channel, planned from one event."""

    model_config = ConfigDict(frozen=True)

    id: str
    event_id: str
    event_type: str
    channel: str
    to: str  # an e-mail address, an E.164 number, a push subscription as JSON, a citizen id
    citizen_id: str | None
    subject: str | None
    text: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    reference: str | None = None
    last_detail: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    read_at: dt.datetime | None = None


class HistoryEntry(BaseModel):
    """What one attempt or receipt made of a message."""

    model_config = ConfigDict(frozen=True)

    at: dt.datetime
    status: str
    detail: str


class InboxItem(BaseModel):
    """A message in the citizen's in-app inbox."""

    id: str
    event_type: str
    subject: str | None
    text: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class Contact(BaseModel):
    """How to reach a citizen, as the latest identity event told."""

    model_config = ConfigDict(frozen=True)

    citizen_id: str
    name: str
    phone: str | None
    phone_verified: bool
    email: str | None
    language: str | None


class Staff(BaseModel):
    """A staff member to tell about their agency's work."""

    model_config = ConfigDict(frozen=True)

    staff_id: str
    name: str
    email: str


class QuietHours(BaseModel):
    """When SMS, WhatsApp and push wait (one-time codes and PINs never do), local time."""

    model_config = ConfigDict(extra="forbid")
    start: Clock = "21:00"
    end: Clock = "07:00"


class Preferences(BaseModel):
    """Which channels a citizen wants, and their quiet hours."""

    model_config = ConfigDict(extra="forbid")
    channels: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    quiet_hours: QuietHours | None = None

    def wants(self, channel: str) -> bool:
        """Inbox always; the others as chosen."""
        return channel == "inbox" or self.channels.get(
            channel, DEFAULT_CHANNELS.get(channel, False)
        )
