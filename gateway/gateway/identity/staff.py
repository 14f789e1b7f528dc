"""Staff accounts: created and switched off by administrators (agency admins: their own agency's
officers only); the first administrator comes from the settings."""

from __future__ import annotations

from gateway.identity import accounts, store
from gateway.identity.accounts import (
    Identity,
    check_password,
    field_problem,
    hash_password,
    now,
    staff_event,
)
from gateway.identity.models import StaffInput
from gateway.identity.store import Account
from mpp_shared import outbox
from mpp_shared.auth import Principal
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem


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
) -> Account:
    """A staff account; `caller` None only for the bootstrap administrator."""
    needs_agency = staff.role in ("officer", "agency_admin")
    if needs_agency != (staff.agency is not None):
        raise field_problem(
            "agency",
            {
                "id": "Instansi wajib untuk petugas dan admin instansi, dan hanya untuk mereka.",
                "en": "An agency is required for officers and agency admins, and only for them.",
            },
        )
    if caller is not None:
        _may_manage(caller, staff.role, staff.agency)
    check_password(staff.password, personal=[staff.username, staff.name])
    at = now()
    account = Account(
        id=new_id(),
        kind="staff",
        role=staff.role,
        active=True,
        name=staff.name,
        email=staff.email,
        username=staff.username,
        agency=staff.agency,
        created_by=caller.subject if caller else "bootstrap",
        password_hash=await hash_password(staff.password),
        created_at=at,
        updated_at=at,
        sessions_valid_from=at,
    )
    async with identity.begin() as connection:
        created = await store.insert_account(connection, account)
        if created:
            await outbox.record(connection, [staff_event(account)])
    if not created:
        raise Problem(
            409,
            "conflict",
            detail={"id": "Nama pengguna sudah dipakai.", "en": "The username is taken."},
            reason="username-taken",
        )
    return account


async def list_staff(identity: Identity, *, agency: str | None, limit: int) -> list[Account]:
    """Staff accounts, newest first, of one agency or all."""
    async with identity.begin() as connection:
        return await store.staff_accounts(connection, agency=agency, limit=limit)


async def set_staff_active(
    identity: Identity, *, caller: Principal, staff_id: str, active: bool
) -> Account:
    """Switch a staff account off (ending its sessions) or on again."""
    account = await accounts.account(identity, staff_id)
    if account is None or account.kind != "staff":
        raise Problem(404, "not-found")
    _may_manage(caller, account.role, account.agency)
    at = now()
    ended = {} if active else {"sessions_valid_from": at}
    return await accounts.update(identity, account, active=active, updated_at=at, **ended)


async def ensure_bootstrap_admin(identity: Identity) -> None:
    """Create the configured administrator on first start."""
    settings = identity.settings
    username = settings.bootstrap_admin_username.lower()
    if await accounts.account_by_login(identity, f"user:{username}") is not None:
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
