"""Events the notifications service publishes on `notifications.events`: what became of each
message. Ids and statuses only; the text stays in the service."""

from __future__ import annotations

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract


class NotificationFacts(Contract):
    """Which message, for which event, on which channel, to whom."""

    notification_id: str
    event_id: str
    event_type: str
    channel: str  # email, sms, whatsapp, push, inbox
    citizen_id: str | None = None
    status: str
    attempts: int


@contract("notifications.notification.delivered.v1", topic=topics.NOTIFICATIONS)
class NotificationDelivered(NotificationFacts):
    """The channel delivered the message (or accepted it where it reports no more)."""


@contract("notifications.notification.failed.v1", topic=topics.NOTIFICATIONS)
class NotificationFailed(NotificationFacts):
    """The message could not be delivered: permanent, or temporary after every retry."""

    reason: str
