"""The identity rules: registration, phone verification, sign-in, sessions, staff and partners.

Keyword-only functions over the store; expected failures are Problems the caller sees as
problem+json. NIKs are kept encrypted with a keyed hash for look-up and appear in no log or event.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from gateway import tokens
from gateway.identity import nik as niks
from gateway.identity import passwords, phones, store
from gateway.identity.models import (
    ApiKeyInput,
    PasswordChange,
    PasswordReset,
    PhoneVerification,
    ProfileUpdate,
    Registration,
    StaffInput,
    TokenPair,
)
from gateway.identity.pii import Vault
from gateway.settings import Settings
from gateway.tokens import Claims, TokenIssuer
from mpp_shared import topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.identity import (
    CitizenContact,
    CitizenRegistered,
    CitizenUpdated,
    OtpRequested,
    StaffUpdated,
)
from mpp_shared.events import Event, new_event
from mpp_shared.ids import new_id
from mpp_shared.outbox import VersionConflict
from mpp_shared.problems import Problem

Db = store.Db
Document = store.Document
SOURCE = topics.source_of("gateway")


@dataclass
class Identity:
    """What the identity functions need: the store, keys, settings and the OTP sender."""

    db: Db
    settings: Settings
    issuer: TokenIssuer
    niks: Vault
    codes: Vault
    send_otp: Any  # async (OtpRequested) -> None: publishes on identity.otp

    @classmethod
    def create(cls, *, db: Db, settings: Settings, send_otp: Any) -> Identity:
        """An Identity with keys derived from the settings."""
        secret = settings.pii_key.get_secret_value()
        return cls(
            db=db,
            settings=settings,
            issuer=TokenIssuer(settings),
            niks=Vault(secret, kind="nik"),
            codes=Vault(secret, kind="otp"),
            send_otp=send_otp,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _field_problem(field: str, messages: dict[str, str]) -> Problem:
    return Problem(422, "validation", errors=[{"field": field, "in": "body", "message": messages}])


def parse_nik(text: str, field: str = "nik") -> niks.Nik:
    """A structurally valid NIK or a 422 naming the field."""
    try:
        return niks.parse(text)
    except niks.InvalidNik as exc:
        raise _field_problem(field, exc.messages) from None


def parse_phone(text: str, field: str = "phone") -> str:
    """An Indonesian mobile number in E.164 or a 422 naming the field."""
    try:
        return phones.normalise(text)
    except phones.InvalidPhone:
        raise _field_problem(field, phones.InvalidPhone.messages) from None


def check_password(password: str, *, personal: list[str], field: str = "password") -> None:
    """A 422 naming the field when the password is too easy to guess."""
    words = [w.lower() for p in personal if p for w in (p, *p.split(), p.replace(" ", ""))]
    try:
        passwords.check_strength(password, personal=[*words, "mpp", "sinjai", "pelayanan"])
    except passwords.WeakPassword:
        raise _field_problem(field, passwords.WeakPassword.messages) from None


async def _hash(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(passwords.hash_password, password)


async def _verify(stored_hash: str, password: str) -> bool:
    return await asyncio.to_thread(passwords.verify, stored_hash, password)


def contact(account: Document) -> dict[str, Any]:
    """The event payload fields that say how to reach a citizen."""
    return CitizenContact(
        citizen_id=account["_id"],
        name=account["name"],
        phone=account["phone"],
        phone_verified=account["phone_verified"],
        email=account.get("email"),
        language=account.get("language", "id"),
    ).model_dump()


def _event(kind: type[CitizenRegistered] | type[CitizenUpdated], account: Document) -> Event:
    event_type = (
        "identity.citizen.registered.v1"
        if kind is CitizenRegistered
        else "identity.citizen.updated.v1"
    )
    return new_event(
        type=event_type, source=SOURCE, subject=account["_id"], data=kind(**contact(account))
    )


def _staff_event(account: Document) -> Event:
    return new_event(
        type="identity.staff.updated.v1",
        source=SOURCE,
        subject=account["_id"],
        data=StaffUpdated(
            staff_id=account["_id"],
            name=account["name"],
            role=account["role"],
            agency=account.get("agency"),
            email=account.get("email"),
            active=account["active"],
        ),
    )


# --- registration and one-time codes ------------------------------------------------------------


async def register(identity: Identity, *, registration: Registration) -> tuple[Document, int]:
    """Create a citizen account (or redo an unverified one) and send the phone a code."""
    nik = parse_nik(registration.nik)
    phone = parse_phone(registration.phone)
    check_password(registration.password, personal=[registration.name, nik.value, phone[3:]])
    nik_key = f"nik:{identity.niks.lookup_hash(nik.value)}"
    now = _now()
    fields = {
        "name": registration.name,
        "phone": phone,
        "phone_verified": False,
        "email": registration.email,
        "language": registration.language,
        "password_hash": await _hash(registration.password),
        "updated_at": now,
    }
    existing = await store.account_by_key(identity.db, nik_key)
    if existing is not None and existing.get("phone_verified"):
        raise Problem(
            409,
            "conflict",
            detail={
                "id": "NIK ini sudah terdaftar. Silakan masuk, atau atur ulang kata sandi.",
                "en": "This NIK is registered already. Sign in, or reset the password.",
            },
            reason="nik-registered",
        )
    taken = await store.account_by_key(identity.db, f"phone:{phone}")
    if taken is not None and (existing is None or taken["_id"] != existing["_id"]):
        raise _phone_taken()
    if existing is None:
        account: Document = {
            "_id": new_id(),
            "kind": "citizen",
            "role": "citizen",
            "active": True,
            "nik_hash": nik_key.removeprefix("nik:"),
            "nik_encrypted": identity.niks.encrypt(nik.value),
            "created_at": now,
            "sessions_valid_from": now,
            **fields,
        }
        if not await store.claim_key(identity.db, nik_key, account["_id"]):
            raise Problem(409, "conflict", reason="nik-registered")
        try:
            await store.insert_account(
                identity.db, account, [_event(CitizenRegistered, account | {"version": 1})]
            )
        except BaseException:
            await store.release_key(identity.db, nik_key, account["_id"])
            raise
    else:
        # An unverified registration is redone: whoever holds the phone will verify it.
        try:
            account = await store.update_account(
                identity.db,
                account_id=existing["_id"],
                expected_version=existing["version"],
                fields=fields,
                new_events=[_event(CitizenUpdated, existing | fields)],
            )
        except VersionConflict:
            raise _busy() from None
    expires_in = await send_code(
        identity, phone=phone, purpose="verify_phone", account=account, enforce_limits=False
    )
    return account, expires_in


def _phone_taken() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Nomor HP ini sudah dipakai akun lain yang terverifikasi.",
            "en": "This phone number belongs to another verified account.",
        },
        reason="phone-registered",
    )


def _busy() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Akun sedang diubah oleh permintaan lain. Silakan coba lagi.",
            "en": "The account is being changed by another request. Please try again.",
        },
    )


def _otp_id(purpose: str, phone: str) -> str:
    return f"{purpose}:{phone}"


async def send_code(
    identity: Identity,
    *,
    phone: str,
    purpose: str,
    account: Document,
    enforce_limits: bool = True,
) -> int:
    """Send a fresh code for `purpose` to `phone`; returns its lifetime in seconds.

    Codes to one phone are spaced by `otp_resend_seconds` and capped at `otp_per_hour`.
    """
    settings = identity.settings
    now = _now()
    otp_id = _otp_id(purpose, phone)
    previous = await store.otp(identity.db, otp_id)
    sent = [t for t in (previous or {}).get("sent", []) if t > now - timedelta(hours=1)]
    if previous and sent:
        wait = (sent[-1] + timedelta(seconds=settings.otp_resend_seconds) - now).total_seconds()
        if enforce_limits and wait > 0:
            raise _slow_down(wait, "otp-resend-wait")
        if len(sent) >= settings.otp_per_hour:
            oldest = (sent[0] + timedelta(hours=1) - now).total_seconds()
            raise _slow_down(oldest, "otp-hourly-limit")
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires_at = now + timedelta(minutes=settings.otp_minutes)
    await store.save_otp(
        identity.db,
        {
            "_id": otp_id,
            "account": account["_id"],
            "code_hash": identity.codes.lookup_hash(f"{otp_id}:{code}"),
            "expires_at": expires_at,
            "attempts": 0,
            "used_at": None,
            "sent": [*sent, now],
        },
    )
    await identity.send_otp(
        OtpRequested(
            phone=phone,
            code=code,
            purpose=purpose,  # type: ignore[arg-type]
            language=account.get("language", "id"),
            expires_at=expires_at,
            citizen_id=account["_id"],
        )
    )
    return settings.otp_minutes * 60


def _slow_down(seconds: float, reason: str) -> Problem:
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


async def request_code(identity: Identity, *, phone_text: str, purpose: str) -> int:
    """Send a code again (verification) or for a password reset; silent about unknown phones."""
    phone = parse_phone(phone_text)
    if purpose == "verify_phone":
        previous = await store.otp(identity.db, _otp_id(purpose, phone))
        account = await store.account(identity.db, previous["account"]) if previous else None
        if account is None or account.get("phone_verified") or account.get("phone") != phone:
            return identity.settings.otp_minutes * 60
    else:
        account = await store.account_by_key(identity.db, f"phone:{phone}")
        if account is None or not account.get("active"):
            return identity.settings.otp_minutes * 60
    return await send_code(identity, phone=phone, purpose=purpose, account=account)


async def spend_code(identity: Identity, *, phone: str, purpose: str, code: str) -> Document:
    """The account a correct, unexpired, unused code was sent for; the code is spent."""
    otp_id = _otp_id(purpose, phone)
    record = await store.otp(identity.db, otp_id)
    now = _now()
    invalid = Problem(
        400,
        "bad-request",
        detail={
            "id": "Kode salah, sudah dipakai, atau kedaluwarsa. Minta kode baru bila perlu.",
            "en": "The code is wrong, used or expired. Ask for a new code if needed.",
        },
        reason="otp-invalid",
    )
    if record is None or record.get("used_at") is not None:
        raise invalid
    if record["attempts"] >= identity.settings.otp_attempts:
        raise Problem(
            429,
            "rate-limited",
            detail={
                "id": "Terlalu banyak kode salah. Minta kode baru.",
                "en": "Too many wrong codes. Ask for a new code.",
            },
            reason="otp-attempts-exhausted",
        )
    if record["expires_at"] <= now:
        raise invalid
    given = identity.codes.lookup_hash(f"{otp_id}:{code}")
    if not secrets.compare_digest(given, record["code_hash"]):
        counted = await store.count_otp_attempt(identity.db, otp_id, record["code_hash"])
        left = identity.settings.otp_attempts - (counted or record)["attempts"]
        invalid.extensions["attempts_left"] = max(0, left)
        raise invalid
    if not await store.use_otp(identity.db, otp_id, record["code_hash"], now=now):
        raise invalid  # spent by a concurrent request
    account = await store.account(identity.db, record["account"])
    if account is None:
        raise invalid
    return account


async def verify_phone(identity: Identity, *, verification: PhoneVerification) -> TokenPair:
    """Mark the phone verified, claim it as a login name, and sign the citizen in."""
    phone = parse_phone(verification.phone)
    account = await spend_code(
        identity, phone=phone, purpose="verify_phone", code=verification.code
    )
    if not await store.claim_key(identity.db, f"phone:{phone}", account["_id"]):
        raise _phone_taken()
    fields = {"phone_verified": True, "updated_at": _now()}
    if not account.get("phone_verified"):
        account = await _update(identity, account, fields)
    return await start_session(identity, account=account)


async def _update(identity: Identity, account: Document, fields: Document) -> Document:
    """Change an account, retrying once on a concurrent change; every change is an event."""
    for _ in range(3):
        after = account | fields
        citizen = account["kind"] == "citizen"
        events = [_event(CitizenUpdated, after) if citizen else _staff_event(after)]
        try:
            return await store.update_account(
                identity.db,
                account_id=account["_id"],
                expected_version=account["version"],
                fields=fields,
                new_events=events,
            )
        except VersionConflict:
            fresh = await store.account(identity.db, account["_id"])
            if fresh is None:
                break
            account = fresh
    raise _busy()


# --- sign-in and sessions ------------------------------------------------------------------


def login_keys(account: Document) -> list[str]:
    """Every name an account signs in with."""
    if account["kind"] == "staff":
        return [f"user:{account['username']}"]
    return [f"nik:{account['nik_hash']}", f"phone:{account['phone']}"]


def throttle_id(identity: Identity, key: str) -> str:
    """Where failed sign-ins with one name are counted (keyed, so no name is stored)."""
    return f"login:{identity.codes.lookup_hash(key)}"


def login_key(identity: Identity, username: str) -> str:
    """The account key a sign-in name refers to: a NIK, a phone number or a staff username."""
    text = username.strip()
    digits = text.replace(" ", "").replace(".", "")
    if digits.isdigit() and len(digits) == 16:
        return f"nik:{identity.niks.lookup_hash(digits)}"
    if text.startswith(("+", "0", "62")) and any(c.isdigit() for c in text):
        try:
            return f"phone:{phones.normalise(text)}"
        except phones.InvalidPhone:
            pass
    return f"user:{text.lower()}"


async def sign_in(identity: Identity, *, username: str, password: str) -> TokenPair:
    """Tokens for a correct name and password; failures are slowed, then locked."""
    key = login_key(identity, username)
    throttled = throttle_id(identity, key)
    await _check_throttle(identity, throttled)
    account = await store.account_by_key(identity.db, key)
    stored = account.get("password_hash") if account else None
    correct = await _verify(stored or passwords.DUMMY_HASH, password)
    if not correct or account is None or not account.get("active"):
        await _count_failure(identity, throttled)
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
    await store.clear_throttle(identity.db, throttled)
    if account["kind"] == "citizen" and not account.get("phone_verified"):
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
        account = await _update(identity, account, {"password_hash": await _hash(password)})
    return await start_session(identity, account=account)


async def _check_throttle(identity: Identity, throttle_id: str) -> None:
    settings = identity.settings
    record = await store.throttle(identity.db, throttle_id)
    if record is None:
        return
    now = _now()
    if record.get("locked_until") and record["locked_until"] > now:
        wait = (record["locked_until"] - now).total_seconds()
        problem = _slow_down(wait, "account-locked")
        problem.detail = {
            "id": f"Terlalu banyak percobaan gagal. Akun dikunci sementara; coba lagi dalam "
            f"{int(wait // 60) + 1} menit atau atur ulang kata sandi.",
            "en": f"Too many failed attempts. Sign-in is locked; try again in "
            f"{int(wait // 60) + 1} minutes or reset the password.",
        }
        raise problem
    if record["first_at"] < now - timedelta(minutes=settings.login_window_minutes):
        return
    extra = record["failures"] - settings.login_slow_after
    if extra >= 0:
        wait = (record["last_at"] + timedelta(seconds=2**extra) - now).total_seconds()
        if wait > 0:
            raise _slow_down(wait, "login-slowed")


async def _count_failure(identity: Identity, throttle_id: str) -> None:
    settings = identity.settings
    now = _now()
    record = await store.count_failure(identity.db, throttle_id, now=now)
    window_start = now - timedelta(minutes=settings.login_window_minutes)
    if record["first_at"] < window_start:
        await store.set_throttle(
            identity.db, throttle_id, {"failures": 1, "first_at": now, "locked_until": None}
        )
    elif record["failures"] >= settings.login_lock_after:
        locked_until = now + timedelta(minutes=settings.login_lock_minutes)
        await store.set_throttle(
            identity.db, throttle_id, {"locked_until": locked_until, "failures": 0, "first_at": now}
        )


def _claims(account: Document, session_id: str | None) -> Claims:
    return Claims(
        subject=account["_id"],
        role=account["role"],
        session=session_id,
        agency=account.get("agency"),
    )


async def start_session(identity: Identity, *, account: Document) -> TokenPair:
    """A new session and its first token pair."""
    now = _now()
    session_id = new_id()
    secret = tokens.new_secret()
    await store.insert_session(
        identity.db,
        {
            "_id": session_id,
            "account": account["_id"],
            "secret_hash": tokens.digest(secret),
            "previous_hash": None,
            "created_at": now,
            "refreshed_at": now,
            "expires_at": now + timedelta(days=identity.settings.refresh_token_days),
            "revoked_at": None,
        },
    )
    access, ttl = identity.issuer.issue(_claims(account, session_id))
    return TokenPair(
        access_token=access,
        expires_in=ttl,
        refresh_token=f"{session_id}.{secret}",
        role=account["role"],
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
    found = await store.session(identity.db, session_id) if secret else None
    now = _now()
    if found is None or found["revoked_at"] is not None or found["expires_at"] <= now:
        raise _invalid_refresh()
    account = await store.account(identity.db, found["account"])
    if account is None or not _session_valid(found, account):
        raise _invalid_refresh()
    new_secret = tokens.new_secret()
    rotated = await store.rotate_session(
        identity.db,
        session_id=session_id,
        secret_hash=tokens.digest(secret),
        new_hash=tokens.digest(new_secret),
        now=now,
    )
    if rotated is None:
        if found.get("previous_hash") == tokens.digest(secret):
            # A refresh token used twice was copied: end the session for both holders.
            await store.revoke_session(identity.db, session_id, now=now, reason="refresh-reused")
            raise _invalid_refresh("refresh-token-reused")
        raise _invalid_refresh()
    access, ttl = identity.issuer.issue(_claims(account, session_id))
    return TokenPair(
        access_token=access,
        expires_in=ttl,
        refresh_token=f"{session_id}.{new_secret}",
        role=account["role"],
    )


def _session_valid(session: Document, account: Document) -> bool:
    return bool(account.get("active")) and session["created_at"] >= account["sessions_valid_from"]


async def session_valid(identity: Identity, *, session_id: str) -> bool:
    """True while a session may be used: not revoked or expired, its account active."""
    found = await store.session(identity.db, session_id)
    if found is None or found["revoked_at"] is not None or found["expires_at"] <= _now():
        return False
    account = await store.account(identity.db, found["account"])
    return account is not None and _session_valid(found, account)


async def sign_out(
    identity: Identity, *, caller: Principal | None, refresh_token: str | None
) -> list[str]:
    """End the caller's session (by access or refresh token); the ids of sessions ended."""
    ended = []
    if caller is not None and caller.session:
        ended.append(caller.session)
    if refresh_token:
        session_id, _, secret = refresh_token.partition(".")
        found = await store.session(identity.db, session_id)
        if found and secret and found["secret_hash"] == tokens.digest(secret):
            ended.append(session_id)
    for session_id in ended:
        await store.revoke_session(identity.db, session_id, now=_now(), reason="sign-out")
    return ended


async def change_password(
    identity: Identity, *, caller: Principal, change: PasswordChange
) -> TokenPair:
    """A new password; every other session ends, and this one continues with new tokens."""
    account = await _own_account(identity, caller)
    if not await _verify(account["password_hash"], change.current_password):
        raise _field_problem(
            "current_password",
            {"id": "Kata sandi saat ini salah.", "en": "The current password is wrong."},
        )
    return await _set_password(identity, account, change.new_password, "new_password")


async def reset_password(identity: Identity, *, reset: PasswordReset) -> TokenPair:
    """A new password allowed by a code sent to the account's phone; every session ends."""
    phone = parse_phone(reset.phone)
    account = await spend_code(identity, phone=phone, purpose="reset_password", code=reset.code)
    return await _set_password(identity, account, reset.new_password, "new_password")


async def _set_password(
    identity: Identity, account: Document, password: str, field: str
) -> TokenPair:
    personal = [account["name"], account.get("phone", "")[3:], account.get("username", "")]
    check_password(password, personal=personal, field=field)
    now = _now()
    fields = {"password_hash": await _hash(password), "sessions_valid_from": now}
    account = await _update(identity, account, fields)
    for key in login_keys(account):
        await store.clear_throttle(identity.db, throttle_id(identity, key))
    return await start_session(identity, account=account)


async def _own_account(identity: Identity, caller: Principal) -> Document:
    account = await store.account(identity.db, caller.subject)
    if account is None or not account.get("active"):
        raise Problem(401, "unauthorized")
    return account


async def me(identity: Identity, *, caller: Principal) -> dict[str, Any]:
    """The caller's own account, NIK masked."""
    account = await _own_account(identity, caller)
    view = {**account, "id": account["_id"]}
    if account["kind"] == "citizen":
        view["nik_masked"] = niks.parse(identity.niks.decrypt(account["nik_encrypted"])).masked
    return view


async def update_profile(
    identity: Identity, *, caller: Principal, update: ProfileUpdate
) -> dict[str, Any]:
    """Change the caller's name, e-mail or language."""
    account = await _own_account(identity, caller)
    fields: Document = update.model_dump(exclude_unset=True, exclude_none=True)
    if "email" in update.model_fields_set and update.email is None:
        fields["email"] = None
    if fields:
        await _update(identity, account, fields | {"updated_at": _now()})
    return await me(identity, caller=caller)


async def citizen_for_staff(identity: Identity, *, citizen_id: str) -> dict[str, Any]:
    """A citizen's identity and contacts as staff see them (the caller audits the read)."""
    account = await store.account(identity.db, citizen_id)
    if account is None or account["kind"] != "citizen":
        raise Problem(404, "not-found")
    return {**account, "id": account["_id"], "nik": identity.niks.decrypt(account["nik_encrypted"])}


# --- staff --------------------------------------------------------------------------------------


def _may_manage(caller: Principal, role: str, agency: str | None) -> None:
    own_agency = agency == caller.agency and role in ("officer", "agency_admin")
    allowed = caller.role == "mpp_admin" or (caller.role == "agency_admin" and own_agency)
    if not allowed:
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": "Administrator instansi hanya dapat mengelola petugas instansinya sendiri.",
                "en": "Agency administrators manage only their own agency's officers.",
            },
        )


async def create_staff(
    identity: Identity, *, caller: Principal | None, staff: StaffInput
) -> Document:
    """A staff account; `caller` None only for the bootstrap administrator."""
    needs_agency = staff.role in ("officer", "agency_admin")
    if needs_agency != (staff.agency is not None):
        raise _field_problem(
            "agency",
            {
                "id": "Instansi wajib untuk petugas dan admin instansi, dan hanya untuk mereka.",
                "en": "An agency is required for officers and agency admins, and only for them.",
            },
        )
    if caller is not None:
        _may_manage(caller, staff.role, staff.agency)
    check_password(staff.password, personal=[staff.username, staff.name])
    now = _now()
    account: Document = {
        "_id": new_id(),
        "kind": "staff",
        "role": staff.role,
        "agency": staff.agency,
        "username": staff.username,
        "name": staff.name,
        "email": staff.email,
        "active": True,
        "password_hash": await _hash(staff.password),
        "created_at": now,
        "updated_at": now,
        "sessions_valid_from": now,
        "created_by": caller.subject if caller else "bootstrap",
    }
    if not await store.claim_key(identity.db, f"user:{staff.username}", account["_id"]):
        raise Problem(
            409,
            "conflict",
            detail={"id": "Nama pengguna sudah dipakai.", "en": "The username is taken."},
            reason="username-taken",
        )
    await store.insert_account(identity.db, account, [_staff_event(account)])
    return account | {"version": 1}


async def set_staff_active(
    identity: Identity, *, caller: Principal, staff_id: str, active: bool
) -> Document:
    """Switch a staff account off (ending its sessions) or on again."""
    account = await store.account(identity.db, staff_id)
    if account is None or account["kind"] != "staff":
        raise Problem(404, "not-found")
    _may_manage(caller, account["role"], account.get("agency"))
    fields: Document = {"active": active, "updated_at": _now()}
    if not active:
        fields["sessions_valid_from"] = _now()
    return await _update(identity, account, fields)


async def ensure_bootstrap_admin(identity: Identity) -> None:
    """Create the configured administrator on first start."""
    settings = identity.settings
    username = settings.bootstrap_admin_username.lower()
    if await store.account_by_key(identity.db, f"user:{username}") is not None:
        return
    try:
        await create_staff(
            identity,
            caller=None,
            staff=StaffInput(
                username=username,
                name="Administrator MPP",
                role="mpp_admin",
                password=settings.bootstrap_admin_password.get_secret_value(),
            ),
        )
    except Problem as problem:
        if problem.status != 409:  # another replica created it first
            raise


# --- partners' API keys -------------------------------------------------------------------------

API_KEY_PREFIX = "mppk_"


async def create_api_key(
    identity: Identity, *, caller: Principal, key: ApiKeyInput
) -> tuple[Document, str]:
    """A partner's API key and its secret text, shown once."""
    secret = tokens.new_secret()
    document = {
        "_id": new_id(),
        "name": key.name,
        "agency": key.agency,
        "scopes": list(key.scopes),
        "secret_hash": tokens.digest(secret),
        "created_at": _now(),
        "created_by": caller.subject,
        "revoked_at": None,
    }
    try:
        await store.insert_api_key(identity.db, document)
    except DuplicateKeyError:
        raise _busy() from None
    return document, f"{API_KEY_PREFIX}{document['_id']}.{secret}"


async def partner_claims(identity: Identity, *, api_key: str) -> Claims | None:
    """The claims of a valid, unrevoked API key; None otherwise."""
    key_id, _, secret = api_key.removeprefix(API_KEY_PREFIX).partition(".")
    if not api_key.startswith(API_KEY_PREFIX) or not secret:
        return None
    found = await store.api_key(identity.db, key_id)
    if found is None or found["revoked_at"] is not None:
        return None
    if not secrets.compare_digest(found["secret_hash"], tokens.digest(secret)):
        return None
    return Claims(
        subject=f"partner:{key_id}",
        role="partner",
        agency=found.get("agency"),
        scopes=tuple(found["scopes"]),
    )
