"""Signing in and sessions: failed sign-ins slowed then locked, refresh tokens rotated (a reused
one ends its session), sign-out, and new passwords that end every other session."""

from __future__ import annotations

import secrets
from datetime import timedelta

from gateway import tokens
from gateway.identity import accounts, codes, passwords, phones, store
from gateway.identity.accounts import (
    Identity,
    check_password,
    field_problem,
    hash_password,
    now,
    parse_phone,
    slow_down,
    verify_password,
)
from gateway.identity.models import PasswordChange, PasswordReset, TokenPair
from gateway.identity.store import Account, Session
from gateway.tokens import Claims
from mpp_shared import outbox
from mpp_shared.auth import Principal
from mpp_shared.formats import digits_of
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem


def failure_key(identity: Identity, key: str, account: Account | None) -> str:
    """Where failed sign-ins are counted: per account, whichever name it is signed in with (a
    NIK and a phone number do not get a budget of guesses each); per name for a name that is
    nobody's, keyed so that no name is stored."""
    if account is not None:
        return account_failures(account)
    return f"login:{identity.codes.lookup_hash(key)}"


def account_failures(account: Account) -> str:
    """Where an account's failed sign-ins are counted."""
    return f"account:{account.id}"


def login_key(identity: Identity, username: str) -> str:
    """The account key a sign-in name refers to: a NIK, a phone number or a staff username."""
    text = username.strip()
    digits = digits_of(text)  # a NIK typed with spaces, dots or dashes
    if digits.isdigit() and len(digits) == 16:
        return f"nik:{identity.niks.lookup_hash(digits)}"
    if text.startswith(("+", "0", "62")) and any(c.isdigit() for c in text):
        try:
            return f"phone:{phones.normalise(text)}"
        except phones.InvalidPhone:
            pass
    return f"user:{text.lower()}"


async def sign_in(identity: Identity, *, username: str, password: str) -> TokenPair:
    """Tokens for a correct name and password. Every attempt is counted before its password is
    checked: after `login_slow_after` failures each next one waits twice as long, and the
    account locks on the `login_lock_after`th, however many guesses arrive at once."""
    key = login_key(identity, username)
    account = await accounts.account_by_login(identity, key)
    counted_under = failure_key(identity, key, account)
    await _claim_attempt(identity, counted_under)
    stored = account.password_hash if account else None
    correct = await verify_password(stored or passwords.DUMMY_HASH, password)
    if not correct or account is None or not account.active:
        raise Problem(
            401,
            "unauthorized",
            detail={
                "id": "NIK/nomor HP/nama pengguna atau kata sandi salah.",
                "en": "Wrong NIK/phone/username or password.",
            },
            reason="invalid-credentials",
            error="invalid_grant",
        )
    async with identity.begin() as connection:
        await store.clear_failures(connection, counted_under)
    if account.kind == "citizen" and not account.phone_verified:
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": "Nomor HP belum diverifikasi. Masukkan kode yang dikirim ke HP Anda.",
                "en": "The phone number is not verified yet. Enter the code sent to your phone.",
            },
            reason="phone-not-verified",
            error="invalid_grant",
        )
    if stored and passwords.needs_rehash(stored):
        account = await accounts.update(
            identity, account, password_hash=await hash_password(password)
        )
    return await start_session(identity, account=account)


async def _claim_attempt(identity: Identity, key: str) -> None:
    """Count this attempt, or refuse it (429) while the account is locked or slowed."""
    settings = identity.settings
    at = now()
    async with identity.begin() as connection:
        record = await store.claim_attempt(
            connection,
            key,
            now=at,
            window_start=at - timedelta(minutes=settings.login_window_minutes),
            slow_after=settings.login_slow_after,
            lock_after=settings.login_lock_after,
            locked_until=at + timedelta(minutes=settings.login_lock_minutes),
        )
    if record.refused == "account-locked" and record.locked_until:
        wait = (record.locked_until - at).total_seconds()
        problem = slow_down(wait, "account-locked")
        problem.detail = {
            "id": f"Terlalu banyak percobaan gagal. Akun dikunci sementara; coba lagi dalam "
            f"{int(wait // 60) + 1} menit atau atur ulang kata sandi.",
            "en": f"Too many failed attempts. Sign-in is locked; try again in "
            f"{int(wait // 60) + 1} minutes or reset the password.",
        }
        raise problem
    if record.refused == "login-slowed":
        extra = record.failures - settings.login_slow_after
        wait = (record.last_at + timedelta(seconds=2**extra) - at).total_seconds()
        raise slow_down(wait, "login-slowed")


def _claims(account: Account, session_id: str | None) -> Claims:
    return Claims(subject=account.id, role=account.role, session=session_id, agency=account.agency)


async def start_session(identity: Identity, *, account: Account) -> TokenPair:
    """A new session and its first token pair."""
    at = now()
    secret = tokens.new_secret()
    started = Session(
        id=new_id(),
        account_id=account.id,
        secret_hash=tokens.digest(secret),
        created_at=at,
        refreshed_at=at,
        expires_at=at + timedelta(days=identity.settings.refresh_token_days),
    )
    async with identity.begin() as connection:
        await store.insert_session(connection, started)
    access, ttl = identity.issuer.issue(_claims(account, started.id))
    return TokenPair(
        access_token=access,
        expires_in=ttl,
        refresh_token=f"{started.id}.{secret}",
        role=account.role,
    )


def _invalid_refresh(reason: str = "invalid-refresh-token") -> Problem:
    return Problem(
        401,
        "unauthorized",
        detail={
            "id": "Sesi berakhir. Silakan masuk lagi.",
            "en": "The session has ended. Please sign in again.",
        },
        reason=reason,
        error="invalid_grant",
    )


async def refresh(identity: Identity, *, refresh_token: str) -> TokenPair:
    """A new token pair for a current refresh token; a reused old one ends the session."""
    session_id, _, secret = refresh_token.partition(".")
    if not secret:
        raise _invalid_refresh()
    at = now()
    async with identity.begin() as connection:
        found = await store.session(connection, session_id)
        live = await store.session_live(connection, session_id, now=at)
        account = await store.account(connection, found.account_id) if found else None
    if found is None or account is None or not live:
        raise _invalid_refresh()
    new_secret = tokens.new_secret()
    async with identity.begin() as connection:
        rotated = await store.rotate_session(
            connection,
            session_id=session_id,
            secret_hash=tokens.digest(secret),
            new_hash=tokens.digest(new_secret),
            now=at,
        )
        reused = False
        if not rotated:
            # A refresh token used twice was copied: end the session for both holders. Read
            # after the update, so a use racing the rotation is seen as the reuse it is.
            current = await store.session(connection, session_id)
            reused = current is not None and current.previous_hash == tokens.digest(secret)
            if reused:
                await store.revoke_session(connection, session_id, now=at, reason="refresh-reused")
                ended = accounts.sessions_ended(found.account_id, [session_id], "refresh-reused")
                await outbox.record(connection, [ended])
    if not rotated:
        raise _invalid_refresh("refresh-token-reused" if reused else "invalid-refresh-token")
    access, ttl = identity.issuer.issue(_claims(account, session_id))
    return TokenPair(
        access_token=access,
        expires_in=ttl,
        refresh_token=f"{session_id}.{new_secret}",
        role=account.role,
    )


async def session_valid(identity: Identity, *, session_id: str) -> bool:
    """True while a session may be used: not revoked or expired, its account active."""
    async with identity.begin() as connection:
        return await store.session_live(connection, session_id, now=now())


async def sign_out(
    identity: Identity, *, caller: Principal | None, refresh_token: str | None
) -> list[str]:
    """End the caller's session (by access or refresh token); the ids of sessions ended."""
    ended: dict[str, str] = {}  # session id: account id
    if caller is not None and caller.session:
        ended[caller.session] = caller.subject
    async with identity.begin() as connection:
        if refresh_token:
            session_id, _, secret = refresh_token.partition(".")
            found = await store.session(connection, session_id)
            if (
                found
                and secret
                and secrets.compare_digest(found.secret_hash, tokens.digest(secret))
            ):
                ended[session_id] = found.account_id
        for session_id in ended:
            await store.revoke_session(connection, session_id, now=now(), reason="sign-out")
        by_account: dict[str, list[str]] = {}
        for session_id, account_id in ended.items():
            by_account.setdefault(account_id, []).append(session_id)
        await outbox.record(
            connection,
            [accounts.sessions_ended(a, ids, "sign-out") for a, ids in by_account.items()],
        )
    return list(ended)


async def change_password(
    identity: Identity, *, caller: Principal, change: PasswordChange
) -> TokenPair:
    """A new password; every other session ends, and this one continues with new tokens."""
    account = await accounts.account(identity, caller.subject)
    if account is None or not account.active:
        raise Problem(401, "unauthorized")
    if not await verify_password(account.password_hash, change.current_password):
        raise field_problem(
            "current_password",
            {"id": "Kata sandi saat ini salah.", "en": "The current password is wrong."},
        )
    return await _set_password(identity, account, change.new_password, "new_password")


async def reset_password(identity: Identity, *, reset: PasswordReset) -> TokenPair:
    """A new password allowed by a code sent to the account's phone; every session ends."""
    phone = parse_phone(reset.phone)
    account = await codes.spend_code(
        identity, phone=phone, purpose="reset_password", code=reset.code
    )
    return await _set_password(identity, account, reset.new_password, "new_password")


async def _set_password(
    identity: Identity, account: Account, password: str, field: str
) -> TokenPair:
    personal = [account.name, (account.phone or "")[3:], account.username or ""]
    check_password(password, personal=personal, field=field)
    account = await accounts.update(
        identity,
        account,
        password_hash=await hash_password(password),
        sessions_valid_from=now(),
    )
    async with identity.begin() as connection:
        await store.clear_failures(connection, account_failures(account))
    return await start_session(identity, account=account)
