"""The command center's delivery figures: the messages created today (the mall's local day) and in
the last 24 hours, per channel and status, and the share of the finished ones that arrived."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications import store
from notifications.messages import CHANNELS, RETRYABLE
from notifications.models import CREATED, DELIVERED, PERMANENT, SENDING, TECHNICAL, TEMPORARY

STATUSES = (CREATED, SENDING, DELIVERED, TEMPORARY, TECHNICAL, PERMANENT)
WINDOW = dt.timedelta(hours=24)


class Counts(BaseModel):
    """How many messages, by status, and how many of those finished arrived."""

    total: int
    by_status: dict[str, int] = Field(description="Every status, zeros included")
    failed: int = Field(
        description="Failed for good: permanent failures, and temporary or technical failures "
        "with no retry left"
    )
    delivery_rate: float | None = Field(
        description="delivered / (delivered + failed), four decimals; null while none finished"
    )


class ChannelCounts(Counts):
    """One channel's messages."""

    channel: str


class Period(Counts):
    """The messages created in a period, then per channel (every channel, in a fixed order)."""

    channels: list[ChannelCounts]
    unaddressed_staff_alerts: int = Field(
        description="Staff alerts (SLA breaches, forwarded complaints) that reached nobody: the "
        "agency has no active administrator with an e-mail address; counted among the failed "
        "e-mails too"
    )


class Today(Period):
    """The messages created since the local midnight."""

    since: dt.datetime


class DeliveryFigures(BaseModel):
    """Messages created today (the local day) and in the 24 hours before `at`."""

    at: dt.datetime
    timezone: str
    today: Today
    last_24h: Period


async def delivery_figures(
    connection: AsyncConnection, *, now: dt.datetime, zone: ZoneInfo
) -> DeliveryFigures:
    """Count the messages created since local midnight and in the last 24 hours."""
    midnight = dt.datetime.combine(now.astimezone(zone).date(), dt.time(), tzinfo=zone)
    counts = await store.status_counts(connection, midnight=midnight, day_ago=now - WINDOW)
    alone_today, alone_last_day = await store.unaddressed_counts(
        connection, midnight=midnight, day_ago=now - WINDOW
    )
    today = [(c.channel, c.status, c.final, c.today) for c in counts]
    last_day = [(c.channel, c.status, c.final, c.last_day) for c in counts]
    return DeliveryFigures(
        at=now,
        timezone=zone.key,
        today=Today(since=midnight, unaddressed_staff_alerts=alone_today, **_period(today)),
        last_24h=Period(unaddressed_staff_alerts=alone_last_day, **_period(last_day)),
    )


# (channel, status, final, how many)
Group = tuple[str, str, bool, int]


def _period(groups: list[Group]) -> dict[str, Any]:
    channels = [
        ChannelCounts(channel=channel, **_counts(g for g in groups if g[0] == channel))
        for channel in CHANNELS
    ]
    return {"channels": channels, **_counts(groups)}


def _counts(groups: Iterable[Group]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    failed = 0
    for _, status, final, count in groups:
        statuses[status] += count
        if status == PERMANENT or (status in RETRYABLE and final):
            failed += count
    delivered = statuses[DELIVERED]
    finished = delivered + failed
    return {
        "total": sum(statuses.values()),
        "by_status": {status: statuses[status] for status in STATUSES},
        "failed": failed,
        "delivery_rate": round(delivered / finished, 4) if finished else None,
    }
