"""Every query of the gateway's identity database.

FerretDB 1 finds documents quickly only by `_id`, so every look-up goes through one: accounts by
id, `account_keys` map a login name (`nik:<keyed hash>`, `phone:<E.164>`, `user:<name>`) to its
account and make it unique, sessions and one-time codes and throttles have meaningful ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

ACCOUNTS = "accounts"
KEYS = "account_keys"
SESSIONS = "sessions"
OTPS = "otps"
THROTTLES = "throttles"
API_KEYS = "api_keys"
AUDIT = "audit"
OUTBOX_COLLECTIONS = [ACCOUNTS]
HIDDEN = {"outbox": 0, "password_hash": 0}


# --- accounts and their login names ---------------------------------------------------------


async def account(db: Db, account_id: str) -> Document | None:
    """An account by id."""
    return await db[ACCOUNTS].find_one({"_id": account_id}, {"outbox": 0})


async def account_by_key(db: Db, key: str) -> Document | None:
    """The account a login name belongs to."""
    found = await db[KEYS].find_one({"_id": key})
    return await account(db, found["account"]) if found else None


async def claim_key(db: Db, key: str, account_id: str) -> bool:
    """Make `key` name this account; False when it names another one."""
    if await idempotency.insert_once(db[KEYS], {"_id": key, "account": account_id}):
        return True
    found = await db[KEYS].find_one({"_id": key})
    return found is not None and found["account"] == account_id


async def release_key(db: Db, key: str, account_id: str) -> None:
    """Stop `key` naming this account."""
    await db[KEYS].delete_one({"_id": key, "account": account_id})


async def insert_account(db: Db, document: Document, new_events: list[Event]) -> None:
    """A new account with the events its creation caused."""
    await db[ACCOUNTS].insert_one(outbox.new_document(document, new_events))


async def update_account(
    db: Db, *, account_id: str, expected_version: int, fields: Document, new_events: list[Event]
) -> Document:
    """Change an account if it is still at `expected_version` (else VersionConflict)."""
    return await outbox.apply_change(
        db[ACCOUNTS],
        id=account_id,
        expected_version=expected_version,
        set_fields=fields,
        new_events=new_events,
    )


async def staff_accounts(db: Db, *, agency: str | None, limit: int) -> list[Document]:
    """Staff accounts, newest first, of one agency or all."""
    query: Document = {"kind": "staff"} | ({"agency": agency} if agency else {})
    cursor = db[ACCOUNTS].find(query, HIDDEN).sort("_id", DESCENDING).limit(limit)
    return [d async for d in cursor]


# --- sessions ------------------------------------------------------------------------------


async def insert_session(db: Db, document: Document) -> None:
    """A new sign-in session."""
    await db[SESSIONS].insert_one(document)


async def session(db: Db, session_id: str) -> Document | None:
    """A session by id."""
    return await db[SESSIONS].find_one({"_id": session_id})


async def rotate_session(
    db: Db, *, session_id: str, secret_hash: str, new_hash: str, now: datetime
) -> Document | None:
    """Replace the refresh secret if `secret_hash` is the current one; None otherwise."""
    return await db[SESSIONS].find_one_and_update(
        {"_id": session_id, "secret_hash": secret_hash, "revoked_at": None},
        {"$set": {"secret_hash": new_hash, "previous_hash": secret_hash, "refreshed_at": now}},
        return_document=ReturnDocument.AFTER,
    )


async def revoke_session(db: Db, session_id: str, *, now: datetime, reason: str) -> None:
    """End a session: its refresh token stops working, its access tokens at the gateway."""
    await db[SESSIONS].update_one(
        {"_id": session_id, "revoked_at": None},
        {"$set": {"revoked_at": now, "revoked_because": reason}},
    )


# --- one-time codes ------------------------------------------------------------------------


async def otp(db: Db, otp_id: str) -> Document | None:
    """The one-time code record of a purpose and phone."""
    return await db[OTPS].find_one({"_id": otp_id})


async def save_otp(db: Db, document: Document) -> None:
    """Record a newly sent code (replacing the previous one of the purpose and phone)."""
    await db[OTPS].replace_one({"_id": document["_id"]}, document, upsert=True)


async def count_otp_attempt(db: Db, otp_id: str, code_hash: str) -> Document | None:
    """Count a wrong guess at this code; the record after it (None if the code changed)."""
    return await db[OTPS].find_one_and_update(
        {"_id": otp_id, "code_hash": code_hash},
        {"$inc": {"attempts": 1}},
        return_document=ReturnDocument.AFTER,
    )


async def use_otp(db: Db, otp_id: str, code_hash: str, *, now: datetime) -> bool:
    """Spend the code: True for the one caller that spent it."""
    used = await db[OTPS].update_one(
        {"_id": otp_id, "code_hash": code_hash, "used_at": None}, {"$set": {"used_at": now}}
    )
    return used.modified_count == 1


# --- throttles of failed attempts -------------------------------------------------------------


async def throttle(db: Db, throttle_id: str) -> Document | None:
    """Failures recorded under a key."""
    return await db[THROTTLES].find_one({"_id": throttle_id})


async def count_failure(db: Db, throttle_id: str, *, now: datetime) -> Document:
    """Add a failure; the record after it."""
    updated = await db[THROTTLES].find_one_and_update(
        {"_id": throttle_id},
        {"$inc": {"failures": 1}, "$set": {"last_at": now}, "$setOnInsert": {"first_at": now}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert updated is not None  # upserted
    return updated


async def set_throttle(db: Db, throttle_id: str, fields: Document) -> None:
    """Set fields of a throttle (its lock, or a restarted window)."""
    await db[THROTTLES].update_one({"_id": throttle_id}, {"$set": fields})


async def clear_throttle(db: Db, throttle_id: str) -> None:
    """Forget the failures under a key (after a success)."""
    await db[THROTTLES].delete_one({"_id": throttle_id})


# --- partners' API keys --------------------------------------------------------------------


async def insert_api_key(db: Db, document: Document) -> None:
    """A new API key (its secret only as a hash)."""
    await db[API_KEYS].insert_one(document)


async def api_key(db: Db, key_id: str) -> Document | None:
    """An API key by id."""
    return await db[API_KEYS].find_one({"_id": key_id})


async def api_keys(db: Db, *, limit: int) -> list[Document]:
    """API keys, newest first."""
    cursor = db[API_KEYS].find({}, {"secret_hash": 0}).sort("_id", DESCENDING).limit(limit)
    return [d async for d in cursor]


async def revoke_api_key(db: Db, key_id: str, *, now: datetime) -> bool:
    """Switch a key off; False when there is no such key."""
    done = await db[API_KEYS].update_one({"_id": key_id}, {"$set": {"revoked_at": now}})
    return done.matched_count == 1


# --- audit ---------------------------------------------------------------------------------


async def record_access(db: Db, entry: Document) -> None:
    """Append one line to the audit log of reads of personal data."""
    await db[AUDIT].insert_one(entry)


async def audit_entries(db: Db, *, query: Document, limit: int) -> list[Document]:
    """Audit lines, newest first."""
    cursor = db[AUDIT].find(query).sort("_id", DESCENDING).limit(limit + 1)
    return [d async for d in cursor]
