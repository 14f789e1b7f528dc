"""The command center's delivery figures: the messages created today (the mall's local day) and in
the last 24 hours, per channel and status, and the share of the finished ones that arrived."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from notifications.messages import CHANNELS, MESSAGES, RETRYABLE
from notifications.providers import DELIVERED, PERMANENT, SENDING, TECHNICAL, TEMPORARY

Db = AsyncDatabase[dict[str, Any]]
STATUSES = ("created", SENDING, DELIVERED, TEMPORARY, TECHNICAL, PERMANENT)
WINDOW = dt.timedelta(hours=24)
# Only what the counts need: decoding whole messages (their text, their history) costs far more.
FIELDS = {"_id": 0, "channel": 1, "status": 1, "created_at": 1, "next_attempt_at": 1}


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


class Today(Period):
    """The messages created since the local midnight."""

    since: dt.datetime


class DeliveryFigures(BaseModel):
    """Messages created today (the local day) and in the 24 hours before `at`."""

    at: dt.datetime
    timezone: str
    today: Today
    last_24h: Period


async def delivery_figures(db: Db, *, now: dt.datetime, zone: ZoneInfo) -> DeliveryFigures:
    """Count the messages created since the earlier of local midnight and 24 hours ago."""
    midnight = dt.datetime.combine(now.astimezone(zone).date(), dt.time(), tzinfo=zone)
    day_ago = now - WINDOW
    # FerretDB 1 pushes down only exact _id filters: one range read, counted here.
    found = db[MESSAGES].find({"created_at": {"$gte": min(midnight, day_ago)}}, FIELDS)
    recent = [m async for m in found]
    return DeliveryFigures(
        at=now,
        timezone=zone.key,
        today=Today(since=midnight, **_period(recent, since=midnight)),
        last_24h=Period(**_period(recent, since=day_ago)),
    )


def _period(messages: list[dict[str, Any]], *, since: dt.datetime) -> dict[str, Any]:
    chosen = [m for m in messages if m["created_at"] >= since]
    channels = [
        ChannelCounts(channel=channel, **_counts(m for m in chosen if m["channel"] == channel))
        for channel in CHANNELS
    ]
    return {"channels": channels, **_counts(chosen)}


def _counts(messages: Iterable[dict[str, Any]]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    failed = 0
    for message in messages:
        status = message["status"]
        statuses[status] += 1
        final = message.get("next_attempt_at") is None
        failed += status == PERMANENT or (status in RETRYABLE and final)
    delivered = statuses[DELIVERED]
    finished = delivered + failed
    return {
        "total": sum(statuses.values()),
        "by_status": {status: statuses[status] for status in STATUSES},
        "failed": failed,
        "delivery_rate": round(delivered / finished, 4) if finished else None,
    }
