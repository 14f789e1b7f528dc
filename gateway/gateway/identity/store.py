"""Every query of the gateway's identity database.

Tables: `accounts` (citizens and staff; a `version` guards concurrent changes; the NIK's keyed
hash, the staff username and a verified phone are each unique), `sessions` (one refresh secret
each, the previous one kept to detect reuse), `otps` (the current code of a purpose and phone),
`sign_in_failures` (per account, each attempt counted under the row's lock), `api_keys`,
`audit_log`, `handled_applications` (which agency handles which citizen's application, from
`applications.events`: what lets an agency's staff read that citizen), and the outbox of
`identity.events` and the inbox of the events applied.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, inbox, outbox, pagination
from mpp_shared.db import VersionConflict

Connection = AsyncConnection
Time = DateTime(timezone=True)

metadata = db.metadata()
outbox.table(metadata)
inbox.table(metadata)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("language", Text, nullable=False),
    # Citizens: the phone, its verification, the NIK encrypted and its keyed hash for look-up.
    Column("phone", Text),
    Column("phone_verified", Boolean, nullable=False),
    Column("nik_hash", Text, unique=True),
    Column("nik_encrypted", Text),
    # Staff: the username they sign in with, their agency and who created the account.
    Column("username", Text, unique=True),
    Column("agency", Text),
    Column("created_by", Text),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    # Sessions started before this instant are over (a new password, a switched-off account).
    Column("sessions_valid_from", Time, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("kind IN ('citizen', 'staff')", name="kind"),
    # A phone signs in to one account: the one that verified it.
    Index(
        "uq_accounts_verified_phone", "phone", unique=True, postgresql_where=text("phone_verified")
    ),
    Index("ix_accounts_kind_agency_created_at", "kind", "agency", "created_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("account_id", Text, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("secret_hash", Text, nullable=False),
    Column("previous_hash", Text),
    Column("created_at", Time, nullable=False),
    Column("refreshed_at", Time, nullable=False),
    Column("expires_at", Time, nullable=False),
    Column("revoked_at", Time),
    Column("revoked_because", Text),
)

otps = Table(
    "otps",
    metadata,
    Column("purpose", Text, primary_key=True),
    Column("phone", Text, primary_key=True),
    Column("account_id", Text, ForeignKey("accounts.id"), nullable=False),
    Column("code_hash", Text, nullable=False),
    Column("expires_at", Time, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", Time),
    # When codes went to this phone for this purpose within the last hour (the hourly cap).
    Column("sent", ARRAY(Time), nullable=False),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", Text, primary_key=True),  # a keyed hash of the login name: no name is stored
    Column("failures", Integer, nullable=False),
    Column("first_at", Time, nullable=False),
    Column("last_at", Time, nullable=False),
    Column("locked_until", Time),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("agency", Text),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("revoked_at", Time),
    Index("ix_api_keys_created_at_id", "created_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Text, primary_key=True),
    Column("at", Time, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("actor_agency", Text),
    Column("method", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("query", Text),
    Column("status", Integer, nullable=False),
    Column("request_id", Text),
    Index("ix_audit_log_at_id", "at", "id"),
    Index("ix_audit_log_actor_at_id", "actor", "at", "id"),
)

# One row per application, from `applications.events`: the agency that handles it, whose
# applicant it is, whether the service needs the full NIK, and when it ended (if it has).
handled_applications = Table(
    "handled_applications",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("citizen_id", Text, nullable=False),
    Column("agency", Text, nullable=False),
    Column("requires_full_nik", Boolean, nullable=False),
    Column("open", Boolean, nullable=False),
    Column("closed_at", Time),
    Index("ix_handled_applications_citizen_id_agency", "citizen_id", "agency"),
)


class Record(BaseModel):
    """A row as the service layer sees it."""

    model_config = ConfigDict(frozen=True)


class Account(Record):
    id: str
    kind: str
    role: str
    active: bool
    name: str
    email: str | None = None
    language: Literal["id", "en"] = "id"
    phone: str | None = None
    phone_verified: bool = False
    nik_hash: str | None = None
    nik_encrypted: str | None = None
    username: str | None = None
    agency: str | None = None
    created_by: str | None = None
    password_hash: str
    created_at: dt.datetime
    updated_at: dt.datetime
    sessions_valid_from: dt.datetime
    version: int = 1


class Session(Record):
    id: str
    account_id: str
    secret_hash: str
    previous_hash: str | None = None
    created_at: dt.datetime
    refreshed_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    revoked_because: str | None = None


class Otp(Record):
    purpose: str
    phone: str
    account_id: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int
    used_at: dt.datetime | None = None
    sent: list[dt.datetime]


class Failures(Record):
    key: str
    failures: int
    first_at: dt.datetime
    last_at: dt.datetime
    locked_until: dt.datetime | None = None
    refused: str | None = None  # not stored: why claim_attempt refused this attempt


class ApiKey(Record):
    id: str
    name: str
    agency: str | None = None
    scopes: list[str]
    secret_hash: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None = None


class AuditRecord(Record):
    id: str
    at: dt.datetime
    actor: str
    actor_role: str
    actor_agency: str | None = None
    method: str
    resource: str
    query: str | None = None
    status: int
    request_id: str | None = None


class Handling(Record):
    """What an agency's applications of a citizen let its staff read."""

    requires_full_nik: bool


# --- accounts -------------------------------------------------------------------------------


async def account(connection: Connection, account_id: str) -> Account | None:
    """An account by id."""
    row = (await connection.execute(select(accounts).where(accounts.c.id == account_id))).first()
    return Account.model_validate(row._mapping) if row else None


async def account_by_login(connection: Connection, key: str) -> Account | None:
    """The account a login name (`nik:<keyed hash>`, `phone:<E.164>`, `user:<name>`) names."""
    kind, _, value = key.partition(":")
    query = select(accounts)
    if kind == "nik":
        query = query.where(accounts.c.nik_hash == value)
    elif kind == "phone":
        query = query.where(accounts.c.phone == value, accounts.c.phone_verified)
    else:
        query = query.where(accounts.c.username == value)
    row = (await connection.execute(query)).first()
    return Account.model_validate(row._mapping) if row else None


async def insert_account(connection: Connection, new: Account) -> bool:
    """A new account; False when its NIK or username names another one already."""
    inserted = await connection.execute(
        insert(accounts).values(new.model_dump()).on_conflict_do_nothing().returning(accounts.c.id)
    )
    return inserted.first() is not None


async def update_account(connection: Connection, changed: Account) -> Account:
    """Write `changed` if the account is still at `changed.version` (else VersionConflict).

    A phone that another account has verified already raises the unique violation."""
    values = changed.model_dump(exclude={"id", "kind", "created_at", "version"})
    row = (
        await connection.execute(
            update(accounts)
            .where(accounts.c.id == changed.id, accounts.c.version == changed.version)
            .values({**values, "version": accounts.c.version + 1})
            .returning(accounts)
        )
    ).first()
    if row is None:
        raise VersionConflict(changed.id)
    return Account.model_validate(row._mapping)


async def staff_accounts(
    connection: Connection, *, agency: str | None, limit: int
) -> list[Account]:
    """Staff accounts, newest first, of one agency or all."""
    query = select(accounts).where(accounts.c.kind == "staff")
    if agency:
        query = query.where(accounts.c.agency == agency)
    query = query.order_by(accounts.c.created_at.desc(), accounts.c.id.desc()).limit(limit)
    return [Account.model_validate(row._mapping) for row in await connection.execute(query)]


# --- sessions -------------------------------------------------------------------------------


async def insert_session(connection: Connection, new: Session) -> None:
    """A new sign-in session."""
    await connection.execute(insert(sessions).values(new.model_dump()))


async def session(connection: Connection, session_id: str) -> Session | None:
    """A session by id."""
    row = (await connection.execute(select(sessions).where(sessions.c.id == session_id))).first()
    return Session.model_validate(row._mapping) if row else None


async def session_live(connection: Connection, session_id: str, *, now: dt.datetime) -> bool:
    """True while a session may be used: not revoked or expired, begun after its account's
    sessions were last ended, the account active."""
    query = (
        select(sessions.c.id)
        .join(accounts, accounts.c.id == sessions.c.account_id)
        .where(
            sessions.c.id == session_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
            sessions.c.created_at >= accounts.c.sessions_valid_from,
            accounts.c.active,
        )
    )
    return (await connection.execute(query)).first() is not None


async def live_session_ids(
    connection: Connection, account_id: str, *, now: dt.datetime, before: dt.datetime | None = None
) -> list[str]:
    """The ids of an account's sessions not revoked or expired (begun before `before`)."""
    query = select(sessions.c.id).where(
        sessions.c.account_id == account_id,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > now,
    )
    if before is not None:
        query = query.where(sessions.c.created_at < before)
    return list((await connection.execute(query)).scalars())


async def rotate_session(
    connection: Connection, *, session_id: str, secret_hash: str, new_hash: str, now: dt.datetime
) -> bool:
    """Replace the refresh secret if `secret_hash` is the current one: True for one caller."""
    rotated = await connection.execute(
        update(sessions)
        .where(
            sessions.c.id == session_id,
            sessions.c.secret_hash == secret_hash,
            sessions.c.revoked_at.is_(None),
        )
        .values(secret_hash=new_hash, previous_hash=secret_hash, refreshed_at=now)
    )
    return rotated.rowcount == 1


async def revoke_session(
    connection: Connection, session_id: str, *, now: dt.datetime, reason: str
) -> None:
    """End a session: its refresh token stops working, its access tokens at the gateway."""
    await connection.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_because=reason)
    )


# --- one-time codes -------------------------------------------------------------------------


async def otp(
    connection: Connection, *, purpose: str, phone: str, lock: bool = False
) -> Otp | None:
    """The code record of a purpose and phone; `lock` holds it until the transaction ends."""
    query = select(otps).where(otps.c.purpose == purpose, otps.c.phone == phone)
    row = (await connection.execute(query.with_for_update() if lock else query)).first()
    return Otp.model_validate(row._mapping) if row else None


async def save_otp(connection: Connection, record: Otp) -> None:
    """Record a newly sent code, replacing the previous one of the purpose and phone."""
    values = record.model_dump()
    statement = insert(otps).values(values)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[otps.c.purpose, otps.c.phone],
            set_={k: statement.excluded[k] for k in values if k not in ("purpose", "phone")},
        )
    )


async def count_otp_attempt(
    connection: Connection, *, purpose: str, phone: str, code_hash: str
) -> int | None:
    """Count a wrong guess at this code; the attempts so far (None if the code changed)."""
    row = (
        await connection.execute(
            update(otps)
            .where(otps.c.purpose == purpose, otps.c.phone == phone, otps.c.code_hash == code_hash)
            .values(attempts=otps.c.attempts + 1)
            .returning(otps.c.attempts)
        )
    ).first()
    return int(row.attempts) if row else None


async def use_otp(
    connection: Connection,
    *,
    purpose: str,
    phone: str,
    code_hash: str,
    max_attempts: int,
    now: dt.datetime,
) -> bool:
    """Spend the code if still good: True for the one caller that spent it."""
    used = await connection.execute(
        update(otps)
        .where(
            otps.c.purpose == purpose,
            otps.c.phone == phone,
            otps.c.code_hash == code_hash,
            otps.c.used_at.is_(None),
            otps.c.attempts < max_attempts,
            otps.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return used.rowcount == 1


# --- failed sign-ins ------------------------------------------------------------------------


async def failures(connection: Connection, key: str) -> Failures | None:
    """Failed sign-ins recorded under a key."""
    query = select(sign_in_failures).where(sign_in_failures.c.key == key)
    row = (await connection.execute(query)).first()
    return Failures.model_validate(row._mapping) if row else None


async def claim_attempt(
    connection: Connection,
    key: str,
    *,
    now: dt.datetime,
    window_start: dt.datetime,
    slow_after: int,
    lock_after: int,
    locked_until: dt.datetime,
) -> Failures:
    """Count a sign-in attempt before its password is checked, under the row's lock, so that
    concurrent guesses queue here and no more are checked than the rules allow: the record as it
    was when the attempt was refused (locked, or too soon after the last failure: `refused`
    says which), or as it is with this attempt counted (the lock set on the attempt that
    reaches `lock_after`; a correct password clears it all). A window that began before
    `window_start` starts again."""
    t = sign_in_failures.c
    await connection.execute(
        insert(sign_in_failures)
        .values(key=key, failures=0, first_at=now, last_at=now)
        .on_conflict_do_nothing(index_elements=[t.key])
    )
    query = select(sign_in_failures).where(t.key == key).with_for_update()
    record = Failures.model_validate((await connection.execute(query)).one()._mapping)
    if record.locked_until and record.locked_until > now:
        return record.model_copy(update={"refused": "account-locked"})
    if record.first_at < window_start or record.locked_until:
        record = record.model_copy(update={"failures": 0, "first_at": now, "locked_until": None})
    extra = record.failures - slow_after
    if extra >= 0 and record.last_at + dt.timedelta(seconds=2**extra) > now:
        return record.model_copy(update={"refused": "login-slowed"})
    failures = record.failures + 1
    counted = record.model_copy(
        update={
            "failures": failures,
            "last_at": now,
            "locked_until": locked_until if failures >= lock_after else None,
        }
    )
    await connection.execute(
        update(sign_in_failures)
        .where(t.key == key)
        .values(counted.model_dump(include={"failures", "first_at", "last_at", "locked_until"}))
    )
    return counted


async def clear_failures(connection: Connection, key: str) -> None:
    """Forget the failures under a key (after a success)."""
    await connection.execute(delete(sign_in_failures).where(sign_in_failures.c.key == key))


# --- partners' API keys ---------------------------------------------------------------------


async def insert_api_key(connection: Connection, new: ApiKey) -> None:
    """A new API key (its secret only as a hash)."""
    await connection.execute(insert(api_keys).values(new.model_dump()))


async def api_key(connection: Connection, key_id: str) -> ApiKey | None:
    """An API key by id."""
    row = (await connection.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
    return ApiKey.model_validate(row._mapping) if row else None


async def list_api_keys(connection: Connection, *, limit: int) -> list[ApiKey]:
    """API keys, newest first."""
    query = (
        select(api_keys).order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc()).limit(limit)
    )
    return [ApiKey.model_validate(row._mapping) for row in await connection.execute(query)]


async def revoke_api_key(connection: Connection, key_id: str, *, now: dt.datetime) -> bool:
    """Switch a key off; False when there is no such key."""
    done = await connection.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id)
        # A key revoked twice keeps the first time.
        .values(revoked_at=func.coalesce(api_keys.c.revoked_at, now))
    )
    return done.rowcount == 1


# --- audit ----------------------------------------------------------------------------------


async def record_accesses(connection: Connection, entries: list[AuditRecord]) -> None:
    """Append lines to the audit log of reads of personal data."""
    await connection.execute(insert(audit_log), [entry.model_dump() for entry in entries])


async def audit_entries(
    connection: Connection, *, actor: str | None, cursor: str | None, limit: int
) -> pagination.Page[AuditRecord]:
    """Audit lines, newest first; a page after the cursor."""
    query = select(audit_log)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    query = pagination.keyset(
        query,
        order_by=[audit_log.c.at, audit_log.c.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    found = [AuditRecord.model_validate(row._mapping) for row in await connection.execute(query)]
    return pagination.keyset_page(found, limit=limit, key=lambda e: (e.at, e.id))


# --- applications handled by agencies -------------------------------------------------------


async def record_handling(
    connection: Connection,
    *,
    application_id: str,
    citizen_id: str,
    agency: str,
    requires_full_nik: bool,
) -> None:
    """An application the agency handles, open unless its end was recorded already (an ended
    application never opens again); the full-NIK need, once known, is kept."""
    await connection.execute(
        _RECORD_HANDLING,
        {
            "application_id": application_id,
            "citizen_id": citizen_id,
            "agency": agency,
            "requires_full_nik": requires_full_nik,
            "open": True,
            "closed_at": None,
        },
    )


async def close_handling(
    connection: Connection,
    *,
    application_id: str,
    citizen_id: str,
    agency: str,
    closed_at: dt.datetime,
) -> None:
    """The application ended at `closed_at`; the first end recorded is kept."""
    await connection.execute(
        _CLOSE_HANDLING,
        {
            "application_id": application_id,
            "citizen_id": citizen_id,
            "agency": agency,
            "requires_full_nik": False,
            "open": False,
            "closed_at": closed_at,
        },
    )


# Built once, as every event of the applications topic runs one of them: SQLAlchemy works out a
# statement's cache key once per statement object, and building one per event cost as much CPU
# as running it.
_HANDLED = insert(handled_applications).values(
    {c: bindparam(c) for c in ("application_id", "citizen_id", "agency", "requires_full_nik")}
    | {"open": bindparam("open"), "closed_at": bindparam("closed_at")}
)
_RECORD_HANDLING = _HANDLED.on_conflict_do_update(
    index_elements=[handled_applications.c.application_id],
    set_={
        "requires_full_nik": handled_applications.c.requires_full_nik
        | _HANDLED.excluded.requires_full_nik
    },
)
_CLOSE_HANDLING = _HANDLED.on_conflict_do_update(
    index_elements=[handled_applications.c.application_id],
    set_={
        "open": False,
        "closed_at": func.coalesce(handled_applications.c.closed_at, _HANDLED.excluded.closed_at),
    },
)


async def handling(
    connection: Connection, *, citizen_id: str, agency: str, ended_since: dt.datetime
) -> Handling | None:
    """What the agency's applications of the citizen that are open, or ended since
    `ended_since`, allow; None when there are none."""
    t = handled_applications.c
    row = (
        await connection.execute(
            select(func.count().label("handled"), func.bool_or(t.requires_full_nik).label("full"))
            .select_from(handled_applications)
            .where(
                t.citizen_id == citizen_id,
                t.agency == agency,
                t.open | (t.closed_at >= ended_since),
            )
        )
    ).one()
    return Handling(requires_full_nik=bool(row.full)) if row.handled else None
