"""One-time codes sent to a phone: to verify it, or to reset a password.

A code is kept only as a keyed hash; codes to one phone are spaced and capped per hour; wrong
guesses are counted and a code is spent once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from gateway.identity import store
from gateway.identity.accounts import Identity, now, parse_phone, slow_down
from gateway.identity.store import Account, Otp
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.problems import Problem


async def send_code(
    identity: Identity,
    *,
    phone: str,
    purpose: str,
    account: Account,
    enforce_limits: bool = True,
) -> int:
    """Send a fresh code for `purpose` to `phone`; returns its lifetime in seconds.

    Codes to one phone are spaced by `otp_resend_seconds` and capped at `otp_per_hour`.
    """
    settings = identity.settings
    at = now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires_at = at + timedelta(minutes=settings.otp_minutes)
    async with identity.begin() as connection:
        # Locked: requests for a phone that has had a code check the limits one at a time.
        previous = await store.otp(connection, purpose=purpose, phone=phone, lock=True)
        sent = [t for t in (previous.sent if previous else []) if t > at - timedelta(hours=1)]
        if sent:
            wait = (sent[-1] + timedelta(seconds=settings.otp_resend_seconds) - at).total_seconds()
            if enforce_limits and wait > 0:
                raise slow_down(wait, "otp-resend-wait")
            if len(sent) >= settings.otp_per_hour:
                oldest = (sent[0] + timedelta(hours=1) - at).total_seconds()
                raise slow_down(oldest, "otp-hourly-limit")
        await store.save_otp(
            connection,
            Otp(
                purpose=purpose,
                phone=phone,
                account_id=account.id,
                code_hash=_code_hash(identity, purpose, phone, code),
                expires_at=expires_at,
                attempts=0,
                used_at=None,
                sent=[*sent, at],
            ),
        )
    await identity.send_otp(
        OtpRequested(
            phone=phone,
            code=code,
            purpose=purpose,  # type: ignore[arg-type]
            language=account.language,
            expires_at=expires_at,
            citizen_id=account.id,
        )
    )
    return settings.otp_minutes * 60


def _code_hash(identity: Identity, purpose: str, phone: str, code: str) -> str:
    return identity.codes.lookup_hash(f"{purpose}:{phone}:{code}")


async def request_code(identity: Identity, *, phone_text: str, purpose: str) -> int:
    """Send a code again (verification) or for a password reset; silent about unknown phones."""
    phone = parse_phone(phone_text)
    async with identity.begin() as connection:
        if purpose == "verify_phone":
            previous = await store.otp(connection, purpose=purpose, phone=phone)
            found = await store.account(connection, previous.account_id) if previous else None
            if found is None or found.phone_verified or found.phone != phone:
                found = None
        else:
            found = await store.account_by_login(connection, f"phone:{phone}")
            if found is not None and not found.active:
                found = None
    if found is None:
        return identity.settings.otp_minutes * 60
    return await send_code(identity, phone=phone, purpose=purpose, account=found)


def _invalid() -> Problem:
    return Problem(
        400,
        "bad-request",
        detail={
            "id": "Kode salah, sudah dipakai, atau kedaluwarsa. Minta kode baru bila perlu.",
            "en": "The code is wrong, used or expired. Ask for a new code if needed.",
        },
        reason="otp-invalid",
    )


async def spend_code(identity: Identity, *, phone: str, purpose: str, code: str) -> Account:
    """The account a correct, unexpired, unused code was sent for; the code is spent."""
    max_attempts = identity.settings.otp_attempts
    async with identity.begin() as connection:
        record = await store.otp(connection, purpose=purpose, phone=phone)
    at = now()
    if record is None or record.used_at is not None:
        raise _invalid()
    if record.attempts >= max_attempts:
        raise Problem(
            429,
            "rate-limited",
            detail={
                "id": "Terlalu banyak kode salah. Minta kode baru.",
                "en": "Too many wrong codes. Ask for a new code.",
            },
            reason="otp-attempts-exhausted",
        )
    if record.expires_at <= at:
        raise _invalid()
    given = _code_hash(identity, purpose, phone, code)
    if not secrets.compare_digest(given, record.code_hash):
        async with identity.begin() as connection:
            counted = await store.count_otp_attempt(
                connection, purpose=purpose, phone=phone, code_hash=record.code_hash
            )
        invalid = _invalid()
        invalid.extensions["attempts_left"] = max(0, max_attempts - (counted or record.attempts))
        raise invalid
    async with identity.begin() as connection:
        # The guard repeats every check: a concurrent request may have spent or spoiled the code.
        spent = await store.use_otp(
            connection,
            purpose=purpose,
            phone=phone,
            code_hash=record.code_hash,
            max_attempts=max_attempts,
            now=at,
        )
        found = await store.account(connection, record.account_id) if spent else None
    if found is None:
        raise _invalid()
    return found
