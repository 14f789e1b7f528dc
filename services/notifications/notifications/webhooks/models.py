"""What the partners' webhook routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mpp_shared.contracts.catalog import LocalizedText

AgencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", max_length=30)
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2048)]
# Checked against the event contracts by the service, so that unknown ones can be named.
EventTypePattern = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)
]
FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
EventTypes = Annotated[list[EventTypePattern], Field(min_length=1, max_length=50)]
FieldNames = Annotated[
    list[FieldName],
    Field(
        max_length=100,
        description="Payload fields to receive (omit for all; [] for the event's ids only)",
    ),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]

DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"

# What a partner finds on a webhook the service switched off, by notice code.
NOTICES = {
    "disabled_consecutive_failures": {
        "id": "Webhook dinonaktifkan setelah {failures} pengiriman berturut-turut gagal. "
        "Perbaiki penerima, uji dengan POST .../test, lalu aktifkan kembali dengan PATCH "
        "active: true.",
        "en": "Webhook switched off after {failures} deliveries in a row failed. Fix the "
        "receiver, try it with POST .../test, then switch it back on with PATCH active: true.",
    },
    "disabled_gone": {
        "id": "Webhook dinonaktifkan karena penerima menjawab 410 Gone. Aktifkan kembali dengan "
        "PATCH active: true bila penerima siap.",
        "en": "Webhook switched off because the receiver answered 410 Gone. Switch it back on "
        "with PATCH active: true when the receiver is ready.",
    },
}


class Input(BaseModel):
    """Strict input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class SubscriptionInput(Input):
    """A partner's webhook: where to, which events, optionally one agency's and some fields."""

    url: Url = Field(description="https:// address of the partner's receiver")
    event_types: EventTypes = Field(
        description='Event types, "*" or prefixes such as "applications.application.*"'
    )
    agency: AgencyCode | None = Field(
        default=None, description="Only events of this agency (a partner key's own by default)"
    )
    fields: FieldNames | None = None
    description: Description | None = None


class SubscriptionUpdate(Input):
    """Change a webhook; `active: true` switches a disabled one back on."""

    active: bool | None = None
    url: Url | None = None
    event_types: EventTypes | None = None
    fields: FieldNames | None = None
    description: Description | None = None


class Notice(BaseModel):
    """Something the partner should know about its webhook, e.g. why it was switched off."""

    code: str
    at: datetime
    message: LocalizedText


class Subscription(BaseModel):
    """A partner's webhook as its owner sees it (never its signing secret)."""

    id: str
    owner: str
    url: str
    event_types: list[str]
    agency: str | None
    fields: list[str] | None
    description: str | None
    active: bool
    consecutive_failures: int
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    notice: Notice | None = None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(Subscription):
    """A new webhook with its signing secret, shown only in this answer."""

    secret: str = Field(description="Standard Webhooks signing secret (whsec_...); shown once")


class SubscriptionList(BaseModel):
    """The caller's webhooks."""

    items: list[Subscription]


class SecretRotated(BaseModel):
    """The new signing secret, shown once; the previous one also signs until the given time."""

    secret: str
    previous_secret_valid_until: datetime


class Delivery(BaseModel):
    """One event for one webhook: its attempts and their outcome."""

    id: str = Field(description="The webhook-id header: the same on every retry")
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None


class DeliveryList(BaseModel):
    """A page of a webhook's deliveries, newest first."""

    items: list[Delivery]
    next_cursor: str | None


class StoredSubscription(Subscription):
    """A subscription as kept: with its sealed signing secrets and its version."""

    model_config = ConfigDict(frozen=True)

    secret: str
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    request_fingerprint: str | None = None
    version: int

    def view(self) -> Subscription:
        """What its owner is shown."""
        return Subscription.model_validate(self.model_dump(include=set(Subscription.model_fields)))


class StoredDelivery(Delivery):
    """A delivery as kept: with its subscription and, until it is finished, its body."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    body: str | None = None

    def view(self) -> Delivery:
        """What the subscription's owner is shown."""
        return Delivery.model_validate(self.model_dump(include=set(Delivery.model_fields)))


class DueDelivery(BaseModel):
    """A pending delivery due for an attempt, before it is claimed."""

    model_config = ConfigDict(frozen=True)

    id: str
    subscription_id: str
