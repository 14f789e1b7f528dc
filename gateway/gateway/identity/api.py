"""The identity routes, under /api/v1/auth, and the public keys at /api/v1/.well-known/jwks.json."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Form, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from gateway.guard import Guard
from gateway.identity import accounts, citizens, codes, partners, sessions
from gateway.identity import audit as audit_log
from gateway.identity import staff as staffing
from gateway.identity.accounts import Identity
from gateway.identity.models import (
    ApiKeyInput,
    ApiKeyView,
    AuditEntry,
    CitizenView,
    Me,
    OtpRequest,
    OtpSent,
    PasswordChange,
    PasswordReset,
    PhoneVerification,
    ProfileUpdate,
    Registered,
    Registration,
    StaffInput,
    StaffUpdate,
    StaffView,
    TokenPair,
)
from gateway.identity.phones import masked
from gateway.identity.store import Account, ApiKey
from mpp_shared import pagination
from mpp_shared.auth import Principal, require
from mpp_shared.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["identity"])


async def _identity(request: Request) -> Identity:
    found: Identity = request.app.state.identity
    return found


async def _guard(request: Request) -> Guard:
    found: Guard = request.app.state.guard
    return found


IdentityDep = Annotated[Identity, Depends(_identity)]
GuardDep = Annotated[Guard, Depends(_guard)]


async def _optional_caller(request: Request, guard: GuardDep) -> Principal | None:
    caller, _ = await guard.authenticate(request)
    return caller


async def _caller(caller: Annotated[Principal | None, Depends(_optional_caller)]) -> Principal:
    if caller is None or caller.role == "partner":
        raise Problem(
            401,
            "unauthorized",
            detail={"id": "Silakan masuk terlebih dahulu.", "en": "Please sign in first."},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


Caller = Annotated[Principal, Depends(_caller)]
OptionalCaller = Annotated[Principal | None, Depends(_optional_caller)]


Admin = Annotated[Principal, require("mpp_admin", "agency_admin", source=_caller)]
MppAdmin = Annotated[Principal, require("mpp_admin", source=_caller)]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", source=_caller)]


@router.get("/.well-known/jwks.json", tags=["identity"])
async def jwks(identity: IdentityDep, response: Response) -> dict[str, Any]:
    """The public keys that verify access tokens (JWKS)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    keys: dict[str, Any] = json.loads(identity.issuer.jwks)
    return keys


@router.post("/auth/register", status_code=201)
async def register(identity: IdentityDep, registration: Registration) -> Registered:
    """Create a citizen account; a code is sent to the phone to verify it."""
    account, expires_in = await citizens.register(identity, registration=registration)
    phone = account.phone or ""
    return Registered(
        id=account.id,
        phone=phone,
        phone_verified=False,
        otp_sent_to=masked(phone),
        otp_expires_in=expires_in,
    )


@router.post("/auth/otp", status_code=202)
async def request_otp(identity: IdentityDep, otp: OtpRequest) -> OtpSent:
    """Send a code again, or for a password reset (the answer is the same for unknown numbers)."""
    expires_in = await codes.request_code(identity, phone_text=otp.phone, purpose=otp.purpose)
    return OtpSent(sent_to=masked(accounts.parse_phone(otp.phone)), expires_in=expires_in)


@router.post("/auth/verify-phone")
async def verify_phone(identity: IdentityDep, verification: PhoneVerification) -> TokenPair:
    """Verify the phone with the code it received; answers with tokens (signed in)."""
    return await citizens.verify_phone(identity, verification=verification)


@router.post("/auth/token")
async def token(
    request: Request,
    identity: IdentityDep,
    guard: GuardDep,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()],
    username: Annotated[str | None, Form(description="NIK, phone number or staff username")] = None,
    password: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
) -> TokenPair:
    """Sign in (OAuth 2.0 password grant) or refresh the tokens (refresh_token grant)."""
    if grant_type == "password":
        if not username or not password:
            raise _missing("username" if not username else "password")
        await guard.check_sign_in_failures(request)
        try:
            return await sessions.sign_in(identity, username=username, password=password)
        except Problem as problem:
            if problem.status == 401:
                await guard.count_sign_in_failure(request)
            raise
    if not refresh_token:
        raise _missing("refresh_token")
    try:
        return await sessions.refresh(identity, refresh_token=refresh_token)
    finally:
        # A reused refresh token ends its session: stop trusting the cached answer now.
        guard.forget_sessions(refresh_token.partition(".")[0])


def _missing(field: str) -> Problem:
    return Problem(
        422,
        "validation",
        errors=[
            {
                "field": field,
                "in": "body",
                "message": {"id": "Wajib diisi.", "en": "Field required"},
            }
        ],
        error="invalid_request",
    )


class SignOut(BaseModel):
    """The refresh token to end, when the access token is not at hand."""

    model_config = ConfigDict(extra="forbid")
    refresh_token: str | None = None


@router.post("/auth/logout", status_code=204)
async def logout(
    identity: IdentityDep,
    guard: GuardDep,
    caller: OptionalCaller,
    body: Annotated[SignOut | None, Body()] = None,
) -> Response:
    """End this session: its refresh token stops working and its access token here."""
    ended = await sessions.sign_out(
        identity, caller=caller, refresh_token=body.refresh_token if body else None
    )
    guard.forget_sessions(*ended)
    return Response(status_code=204)


@router.post("/auth/password")
async def change_password(
    identity: IdentityDep, guard: GuardDep, caller: Caller, change: PasswordChange
) -> TokenPair:
    """Change the password; every session ends and this one continues with the new tokens."""
    pair = await sessions.change_password(identity, caller=caller, change=change)
    guard.forget_all_sessions()
    return pair


@router.post("/auth/password/reset")
async def reset_password(identity: IdentityDep, guard: GuardDep, reset: PasswordReset) -> TokenPair:
    """Set a new password with a code sent to the account's phone; every session ends."""
    pair = await sessions.reset_password(identity, reset=reset)
    guard.forget_all_sessions()
    return pair


@router.get("/auth/me")
async def me(identity: IdentityDep, caller: Caller) -> Me:
    """The signed-in person's account."""
    return await citizens.me(identity, caller=caller)


@router.patch("/auth/me")
async def update_me(identity: IdentityDep, caller: Caller, update: ProfileUpdate) -> Me:
    """Change one's name, e-mail or language."""
    return await citizens.update_profile(identity, caller=caller, update=update)


@router.get(
    "/auth/citizens/{citizen_id}",
    responses={
        404: {
            "description": "No such citizen, or none the caller's agency handles an application "
            "of now or did in the last 30 days (the same answer: who is registered is not told)",
            "content": {"application/problem+json": {}},
        }
    },
)
async def citizen(
    identity: IdentityDep, guard: GuardDep, request: Request, caller: Staff, citizen_id: str
) -> CitizenView:
    """A citizen's identity and contacts, for the staff of an agency handling their application
    (every read, and every refused one, is audited)."""
    try:
        view = await citizens.citizen_for_staff(identity, caller=caller, citizen_id=citizen_id)
    except Problem as refused:
        guard.record(request, caller, refused.status)
        raise
    guard.record(request, caller, 200)
    return view


def _staff_view(account: Account) -> StaffView:
    return StaffView.model_validate(account.model_dump())


@router.post("/auth/staff", status_code=201)
async def create_staff(identity: IdentityDep, caller: Admin, staff: StaffInput) -> StaffView:
    """Create a staff account (agency admins: officers of their own agency)."""
    return _staff_view(await staffing.create_staff(identity, caller=caller, staff=staff))


@router.get("/auth/staff")
async def list_staff(
    identity: IdentityDep,
    caller: Admin,
    agency: Annotated[str | None, Query()] = None,
    limit: pagination.Limit = 100,
) -> list[StaffView]:
    """Staff accounts, of one agency (agency admins: always their own)."""
    if caller.role == "agency_admin":
        agency = caller.agency
    return [_staff_view(a) for a in await staffing.list_staff(identity, agency=agency, limit=limit)]


@router.patch("/auth/staff/{staff_id}")
async def update_staff(
    identity: IdentityDep, guard: GuardDep, caller: Admin, staff_id: str, update: StaffUpdate
) -> StaffView:
    """Switch a staff account off (its sessions end) or on."""
    account = await staffing.set_staff_active(
        identity, caller=caller, staff_id=staff_id, active=update.active
    )
    guard.forget_all_sessions()
    return _staff_view(account)


def _key_view(api_key: ApiKey, key: str | None = None) -> ApiKeyView:
    return ApiKeyView.model_validate(api_key.model_dump() | {"key": key})


@router.post("/auth/partner-keys", status_code=201)
async def create_partner_key(
    identity: IdentityDep, caller: MppAdmin, key: ApiKeyInput
) -> ApiKeyView:
    """An API key for a partner agency; the `key` is shown only in this answer."""
    created, secret = await partners.create_api_key(identity, caller=caller, key=key)
    return _key_view(created, secret)


@router.get("/auth/partner-keys")
async def list_partner_keys(
    identity: IdentityDep, caller: MppAdmin, limit: pagination.Limit = 100
) -> list[ApiKeyView]:
    """Partners' API keys, newest first."""
    return [_key_view(k) for k in await partners.list_api_keys(identity, limit=limit)]


@router.delete("/auth/partner-keys/{key_id}", status_code=204)
async def revoke_partner_key(
    identity: IdentityDep, guard: GuardDep, caller: MppAdmin, key_id: str
) -> Response:
    """Switch a partner's API key off."""
    if not await partners.revoke_api_key(identity, key_id=key_id):
        raise Problem(404, "not-found")
    guard.forget_partners()
    return Response(status_code=204)


@router.get("/auth/audit")
async def audit(
    identity: IdentityDep,
    guard: GuardDep,
    caller: MppAdmin,
    actor: Annotated[str | None, Query(description="A staff account id")] = None,
    limit: pagination.Limit = 50,
    cursor: pagination.Cursor = None,
) -> pagination.Page[AuditEntry]:
    """Reads of personal data by staff, newest first (this gateway's lines written first)."""
    await guard.audit.flush()
    found = await audit_log.audit_entries(identity, actor=actor, cursor=cursor, limit=limit)
    items = [AuditEntry.model_validate(e.model_dump()) for e in found.items]
    return pagination.Page[AuditEntry](items=items, next_cursor=found.next_cursor)
