"""Citizens: registration with a code sent to the phone, its verification, their profile."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.identity import accounts, codes, handling, sessions, store
from gateway.identity import nik as niks
from gateway.identity.accounts import (
    Identity,
    busy,
    check_password,
    citizen_event,
    hash_password,
    now,
    parse_nik,
    parse_phone,
)
from gateway.identity.models import (
    CitizenView,
    Me,
    PhoneVerification,
    ProfileUpdate,
    Registration,
    TokenPair,
)
from gateway.identity.store import Account, Handling
from mpp_shared import db, outbox
from mpp_shared.auth import Principal
from mpp_shared.db import VersionConflict
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem


def _nik_registered() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "NIK ini sudah terdaftar. Silakan masuk, atau atur ulang kata sandi.",
            "en": "This NIK is registered already. Sign in, or reset the password.",
        },
        reason="nik-registered",
    )


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


async def register(identity: Identity, *, registration: Registration) -> tuple[Account, int]:
    """Create a citizen account (or redo an unverified one) and send the phone a code."""
    nik = parse_nik(registration.nik)
    phone = parse_phone(registration.phone)
    check_password(registration.password, personal=[registration.name, nik.value, phone[3:]])
    nik_hash = identity.niks.lookup_hash(nik.value)
    at = now()
    password_hash = await hash_password(registration.password)
    fields = {
        "name": registration.name,
        "phone": phone,
        "phone_verified": False,
        "email": registration.email,
        "language": registration.language,
        "password_hash": password_hash,
        "updated_at": at,
    }
    try:
        async with identity.begin() as connection:
            existing = await store.account_by_login(connection, f"nik:{nik_hash}")
            if existing is not None and existing.phone_verified:
                raise _nik_registered()
            taken = await store.account_by_login(connection, f"phone:{phone}")
            if taken is not None and (existing is None or taken.id != existing.id):
                raise _phone_taken()
            if existing is None:
                account = Account(
                    id=new_id(),
                    kind="citizen",
                    role="citizen",
                    active=True,
                    nik_hash=nik_hash,
                    nik_encrypted=identity.niks.encrypt(nik.value),
                    created_at=at,
                    sessions_valid_from=at,
                    **fields,
                )
                if not await store.insert_account(connection, account):
                    raise _nik_registered()  # a concurrent registration of the same NIK won
                await outbox.record(connection, [citizen_event(account, registered=True)])
            else:
                # An unverified registration is redone: whoever holds the phone will verify it.
                account = await store.update_account(connection, existing.model_copy(update=fields))
                await outbox.record(connection, [citizen_event(account)])
    except VersionConflict:
        raise busy() from None
    expires_in = await codes.send_code(
        identity, phone=phone, purpose="verify_phone", account=account, enforce_limits=False
    )
    return account, expires_in


async def verify_phone(identity: Identity, *, verification: PhoneVerification) -> TokenPair:
    """Mark the phone verified, which makes it a login name, and sign the citizen in."""
    phone = parse_phone(verification.phone)
    account = await codes.spend_code(
        identity, phone=phone, purpose="verify_phone", code=verification.code
    )
    if not account.phone_verified:
        try:
            account = await accounts.update(
                identity, account, phone_verified=True, updated_at=now()
            )
        except IntegrityError as error:
            if db.is_unique_violation(error):
                raise _phone_taken() from None  # another account verified it first
            raise
    return await sessions.start_session(identity, account=account)


async def _own_account(identity: Identity, caller: Principal) -> Account:
    found = await accounts.account(identity, caller.subject)
    if found is None or not found.active:
        raise Problem(401, "unauthorized")
    return found


def me_view(identity: Identity, account: Account) -> Me:
    """An account as its holder sees it, the NIK masked."""
    if account.kind == "staff":
        return Me.model_validate(account.model_dump(exclude={"phone", "phone_verified"}))
    assert account.nik_encrypted is not None  # every citizen has one
    masked = niks.parse(identity.niks.decrypt(account.nik_encrypted)).masked
    return Me.model_validate(account.model_dump() | {"nik_masked": masked})


async def me(identity: Identity, *, caller: Principal) -> Me:
    """The caller's own account, NIK masked."""
    return me_view(identity, await _own_account(identity, caller))


async def update_profile(identity: Identity, *, caller: Principal, update: ProfileUpdate) -> Me:
    """Change the caller's name, e-mail or language."""
    account = await _own_account(identity, caller)
    fields = update.model_dump(exclude_unset=True, exclude_none=True)
    if "email" in update.model_fields_set and update.email is None:
        fields["email"] = None
    if fields:
        account = await accounts.update(identity, account, **fields, updated_at=now())
    return me_view(identity, account)


# Roles that see a citizen because their agency handles an application of the citizen.
AGENCY_STAFF = ("officer", "agency_admin")


async def citizen_for_staff(
    identity: Identity, *, caller: Principal, citizen_id: str
) -> CitizenView:
    """A citizen's identity and contacts as the caller may see them (the caller audits the
    read): an agency's staff only while the agency handles an application of the citizen or did
    within `handling.GRACE`, the whole NIK only where one of those applications' services needs
    it; the mall's administrators with the NIK masked. Anyone else, like an unknown citizen, is
    a 404: whether someone is registered is not told."""
    async with identity.begin() as connection:
        found = await store.account(connection, citizen_id)
        if found is None or found.kind != "citizen" or found.nik_encrypted is None:
            raise Problem(404, "not-found")
        allowed = await _allowed(connection, caller=caller, citizen_id=citizen_id)
    if allowed is None:
        raise Problem(404, "not-found")
    nik = identity.niks.decrypt(found.nik_encrypted)
    return CitizenView.model_validate(
        found.model_dump()
        | {"nik_masked": niks.masked(nik), "nik": nik if allowed.requires_full_nik else None}
    )


async def _allowed(
    connection: AsyncConnection, *, caller: Principal, citizen_id: str
) -> Handling | None:
    """What the caller may see of the citizen; None: nothing."""
    if caller.role == "mpp_admin":
        return Handling(requires_full_nik=False)
    if caller.role not in AGENCY_STAFF or not caller.agency:
        return None
    return await store.handling(
        connection, citizen_id=citizen_id, agency=caller.agency, ended_since=now() - handling.GRACE
    )
