"""Every query of partners' webhooks: subscriptions, the delivery log and the queue of due attempts.

FerretDB 1 answers only `{_id: ...}` from an index, so what is due each second lives in its own
small collection (`webhook_queue`, one entry per unfinished delivery) instead of a scan of the
whole, ever-growing log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

SUBSCRIPTIONS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"
QUEUE = "webhook_queue"
# For stores that use them; FerretDB 1 scans, which the small queue keeps cheap.
INDEXES: dict[str, list[IndexModel]] = {
    SUBSCRIPTIONS: [IndexModel([("owner", ASCENDING)])],
    DELIVERIES: [IndexModel([("subscription_id", ASCENDING), ("created_at", DESCENDING)])],
    QUEUE: [IndexModel([("due_at", ASCENDING)])],
}


# --- subscriptions ------------------------------------------------------------------------------


async def insert_subscription(db: Db, subscription: Document) -> bool:
    """A new subscription; False when its id (from an idempotency key) exists already."""
    return await idempotency.insert_once(db[SUBSCRIPTIONS], subscription)


async def find_subscription(db: Db, subscription_id: str) -> Document | None:
    """A subscription by id, or None."""
    return await db[SUBSCRIPTIONS].find_one({"_id": subscription_id})


async def subscriptions(db: Db, query: Document) -> list[Document]:
    """The subscriptions matching `query`, oldest first."""
    return [d async for d in db[SUBSCRIPTIONS].find(query).sort("created_at", 1)]


async def update_subscription(
    db: Db, subscription_id: str, *, expected_version: int, changes: Document
) -> Document | None:
    """Change a subscription still at `expected_version`; None if it changed meanwhile."""
    return await db[SUBSCRIPTIONS].find_one_and_update(
        {"_id": subscription_id, "version": expected_version},
        {**changes, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )


async def delete_subscription(db: Db, subscription_id: str) -> bool:
    """Remove a subscription with its log and queue; False if it was not there."""
    deleted = await db[SUBSCRIPTIONS].delete_one({"_id": subscription_id})
    await db[QUEUE].delete_many({"subscription_id": subscription_id})
    await db[DELIVERIES].delete_many({"subscription_id": subscription_id})
    return deleted.deleted_count == 1


async def count_failure(db: Db, subscription_id: str) -> Document | None:
    """One more consecutive failed delivery; the subscription after it."""
    return await db[SUBSCRIPTIONS].find_one_and_update(
        {"_id": subscription_id},
        {"$inc": {"consecutive_failures": 1}},
        return_document=ReturnDocument.AFTER,
    )


async def reset_failures(db: Db, subscription_id: str) -> None:
    """A delivery went through: the failures in a row start again from zero."""
    await db[SUBSCRIPTIONS].update_one(
        {"_id": subscription_id, "consecutive_failures": {"$gt": 0}},
        {"$set": {"consecutive_failures": 0}},
    )


async def disable(
    db: Db, subscription_id: str, *, min_failures: int, fields: Document
) -> Document | None:
    """Switch an active subscription off if it has failed at least `min_failures` times in a row;
    None when it is off already (another replica did it) or recovered."""
    return await db[SUBSCRIPTIONS].find_one_and_update(
        {
            "_id": subscription_id,
            "active": True,
            "consecutive_failures": {"$gte": min_failures},
        },
        {"$set": {**fields, "active": False}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )


# --- deliveries ---------------------------------------------------------------------------------


async def insert_delivery(db: Db, delivery: Document) -> bool:
    """A new delivery; False when one for the same event and subscription exists."""
    return await idempotency.insert_once(db[DELIVERIES], delivery)


async def find_delivery(db: Db, delivery_id: str) -> Document | None:
    """A delivery by id, or None."""
    return await db[DELIVERIES].find_one({"_id": delivery_id})


async def update_delivery(
    db: Db, delivery_id: str, *, set_fields: Document, unset: tuple[str, ...] = ()
) -> Document | None:
    """Record an attempt's outcome; the delivery after it."""
    update: Document = {"$set": set_fields}
    if unset:
        update["$unset"] = dict.fromkeys(unset, "")
    return await db[DELIVERIES].find_one_and_update(
        {"_id": delivery_id}, update, return_document=ReturnDocument.AFTER
    )


async def deliveries_of(
    db: Db, subscription_id: str, *, limit: int, before: tuple[datetime, str] | None
) -> list[Document]:
    """A subscription's deliveries, newest first, after the cursor position `before`."""
    query: Document = {"subscription_id": subscription_id}
    if before is not None:
        at, delivery_id = before
        query["$or"] = [
            {"created_at": {"$lt": at}},
            {"created_at": at, "_id": {"$lt": delivery_id}},
        ]
    found = (
        db[DELIVERIES]
        .find(query, {"body": 0})
        .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
    )
    return [d async for d in found]


# --- the queue of due attempts ------------------------------------------------------------------


async def enqueue(db: Db, *, delivery_id: str, subscription_id: str, at: datetime) -> bool:
    """Schedule a delivery's first attempt; False if it is queued already."""
    return await idempotency.insert_once(
        db[QUEUE],
        {"_id": delivery_id, "subscription_id": subscription_id, "due_at": at, "version": 0},
    )


async def due(db: Db, *, now: datetime, limit: int) -> list[Document]:
    """Queue entries due by `now`, earliest first."""
    found = db[QUEUE].find({"due_at": {"$lte": now}}).sort("due_at", 1).limit(limit)
    return [d async for d in found]


async def claim(db: Db, entry: Document, *, lease_until: datetime) -> Document | None:
    """Take a due entry for one attempt, pushing it to `lease_until` (when it is due again should
    this replica die mid-attempt); None when another replica took it first."""
    return await db[QUEUE].find_one_and_update(
        {"_id": entry["_id"], "version": entry["version"]},
        {"$set": {"due_at": lease_until}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )


async def reschedule(db: Db, entry: Document, *, at: datetime) -> None:
    """The next attempt of a claimed entry."""
    await db[QUEUE].update_one(
        {"_id": entry["_id"], "version": entry["version"]},
        {"$set": {"due_at": at}, "$inc": {"version": 1}},
    )


async def dequeue(db: Db, delivery_id: str) -> None:
    """A delivery is finished: nothing more is due."""
    await db[QUEUE].delete_one({"_id": delivery_id})
