"""What every identity rule shares: the Identity at hand, input checks, the events an account's
change causes, and the change itself, guarded by the account's version.

Keyword-only functions over the store; expected failures are Problems the caller sees as
problem+json. NIKs are kept encrypted with a keyed hash for look-up and appear in no log or event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.identity import nik as niks
from gateway.identity import passwords, phones, store
from gateway.identity.store import Account
from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from mpp_shared import db, outbox, topics
from mpp_shared.contracts.identity import (
    CitizenContact,
    CitizenRegistered,
    CitizenUpdated,
    SessionsEnded,
    StaffUpdated,
)
from mpp_shared.db import VersionConflict
from mpp_shared.events import Event, new_event
from mpp_shared.pii import Vault
from mpp_shared.problems import Problem

SOURCE = topics.source_of("gateway")


@dataclass
class Identity:
    """What the identity functions need: the database, keys, settings and the OTP sender."""

    engine: AsyncEngine
    settings: Settings
    issuer: TokenIssuer
    niks: Vault
    codes: Vault
    send_otp: Any  # async (OtpRequested) -> None: publishes on identity.otp

    @classmethod
    def create(cls, *, engine: AsyncEngine, settings: Settings, send_otp: Any) -> Identity:
        """An Identity with keys derived from the settings."""
        secret = settings.pii_key.get_secret_value()
        return cls(
            engine=engine,
            settings=settings,
            issuer=TokenIssuer(settings),
            niks=Vault(secret, kind="nik"),
            codes=Vault(secret, kind="otp"),
            send_otp=send_otp,
        )

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One transaction on the identity database."""
        async with db.transaction(self.engine) as connection:
            yield connection


def now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


def field_problem(field: str, messages: dict[str, str]) -> Problem:
    """A 422 naming one body field."""
    return Problem(422, "validation", errors=[{"field": field, "in": "body", "message": messages}])


def parse_nik(text: str, field: str = "nik") -> niks.Nik:
    """A structurally valid NIK or a 422 naming the field."""
    try:
        return niks.parse(text)
    except niks.InvalidNik as exc:
        raise field_problem(field, exc.messages) from None


def parse_phone(text: str, field: str = "phone") -> str:
    """An Indonesian mobile number in E.164 or a 422 naming the field."""
    try:
        return phones.normalise(text)
    except phones.InvalidPhone as exc:
        raise field_problem(field, exc.messages) from None


def check_password(password: str, *, personal: list[str], field: str = "password") -> None:
    """A 422 naming the field when the password is too easy to guess."""
    words = [w.lower() for p in personal if p for w in (p, *p.split(), p.replace(" ", ""))]
    try:
        passwords.check_strength(password, personal=[*words, "mpp", "sinjai", "pelayanan"])
    except passwords.WeakPassword:
        raise field_problem(field, passwords.WeakPassword.messages) from None


async def hash_password(password: str) -> str:
    """The password's argon2 hash."""
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(passwords.hash_password, password)


async def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches the hash (as slowly when it does not)."""
    return await asyncio.to_thread(passwords.verify, stored_hash, password)


def busy() -> Problem:
    """The 409 when a concurrent request keeps changing the same account."""
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Akun sedang diubah oleh permintaan lain. Silakan coba lagi.",
            "en": "The account is being changed by another request. Please try again.",
        },
    )


def slow_down(seconds: float, reason: str) -> Problem:
    """A 429 telling the caller how long to wait."""
    wait = max(1, int(seconds + 0.999))
    return Problem(
        429,
        "rate-limited",
        detail={
            "id": f"Terlalu sering. Silakan coba lagi dalam {wait} detik.",
            "en": f"Too many attempts. Please try again in {wait} seconds.",
        },
        headers={"Retry-After": str(wait)},
        reason=reason,
        retry_after=wait,
    )


# --- events -------------------------------------------------------------------------------------


def contact(account: Account) -> CitizenContact:
    """How to reach a citizen, as events tell it."""
    return CitizenContact(
        citizen_id=account.id,
        name=account.name,
        phone=account.phone or "",
        phone_verified=account.phone_verified,
        email=account.email,
        language=account.language,
    )


def citizen_event(account: Account, *, registered: bool = False) -> Event:
    """`identity.citizen.registered.v1` or `.updated.v1` with the citizen's contact."""
    fields = contact(account).model_dump()
    if registered:
        return new_event(CitizenRegistered(**fields), source=SOURCE, subject=account.id)
    return new_event(CitizenUpdated(**fields), source=SOURCE, subject=account.id)


def staff_event(account: Account) -> Event:
    """`identity.staff.updated.v1`: who the staff member is and whether they are active."""
    return new_event(
        StaffUpdated(
            staff_id=account.id,
            name=account.name,
            role=account.role,  # type: ignore[arg-type]
            agency=account.agency,
            email=account.email,
            active=account.active,
        ),
        source=SOURCE,
        subject=account.id,
    )


def account_event(account: Account) -> Event:
    """The event an account's change causes."""
    return citizen_event(account) if account.kind == "citizen" else staff_event(account)


# --- changes ------------------------------------------------------------------------------------


async def update(identity: Identity, account: Account, **fields: Any) -> Account:
    """Change an account and record its event, reading it again on a concurrent change; when
    the change ends sessions (a new password, switched off), the sessions it ends too."""
    for _ in range(3):
        changed = account.model_copy(update=fields)
        try:
            async with identity.begin() as connection:
                saved = await store.update_account(connection, changed)
                events = [account_event(saved)]
                ended = await _sessions_ended_by(connection, account, saved)
                if ended is not None:
                    events.append(ended)
                await outbox.record(connection, events)
                return saved
        except VersionConflict:
            async with identity.begin() as connection:
                fresh = await store.account(connection, account.id)
            if fresh is None:
                break
            account = fresh
    raise busy()


async def _sessions_ended_by(
    connection: AsyncConnection, before: Account, after: Account
) -> Event | None:
    """`identity.sessions.ended.v1` for the sessions a change of an account ends, if any."""
    at = now()
    if before.active and not after.active:
        ids = await store.live_session_ids(connection, after.id, now=at)
        reason = "account-switched-off"
    elif after.sessions_valid_from > before.sessions_valid_from:
        ids = await store.live_session_ids(
            connection, after.id, now=at, before=after.sessions_valid_from
        )
        reason = "password-changed"
    else:
        return None
    return sessions_ended(after.id, ids, reason) if ids else None


def sessions_ended(account_id: str, session_ids: list[str], reason: str) -> Event:
    """`identity.sessions.ended.v1`: services stop accepting these sessions' access tokens."""
    ended = SessionsEnded.model_validate(
        {"account_id": account_id, "session_ids": session_ids, "reason": reason}
    )
    return new_event(ended, source=SOURCE, subject=account_id)


async def account(identity: Identity, account_id: str) -> Account | None:
    """An account by id."""
    async with identity.begin() as connection:
        return await store.account(connection, account_id)


async def account_by_login(identity: Identity, key: str) -> Account | None:
    """The account a login name names."""
    async with identity.begin() as connection:
        return await store.account_by_login(connection, key)
