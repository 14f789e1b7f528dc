"""Events the gateway publishes about identities: on `identity.events`, and one-time codes on
`identity.otp`.

Citizens' events carry what the notifications service needs to reach them (name, contact
addresses, language), never the NIK. One-time codes travel on their own short-retention topic that
only the notifications service reads, so the code is in no other service's log or store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract

Language = Literal["id", "en"]


class CitizenContact(Contract):
    """How to reach a citizen, as of this event."""

    citizen_id: str
    name: str
    phone: str  # E.164
    phone_verified: bool
    email: str | None = None
    language: Language = "id"


@contract("identity.citizen.registered.v1", topic=topics.IDENTITY)
class CitizenRegistered(CitizenContact):
    """A citizen created an account (their phone is not verified yet)."""


@contract("identity.citizen.updated.v1", topic=topics.IDENTITY)
class CitizenUpdated(CitizenContact):
    """A citizen's contact data changed: verified phone, new e-mail or language."""


@contract("identity.staff.updated.v1", topic=topics.IDENTITY)
class StaffUpdated(Contract):
    """A staff account was created or switched on or off: who to tell about their agency's work
    (an administrator about SLA breaches, for one)."""

    staff_id: str
    name: str
    role: Literal["officer", "agency_admin", "mpp_admin", "ops_viewer"]
    agency: str | None = None
    email: str | None = None
    active: bool


@contract("identity.sessions.ended.v1", topic=topics.IDENTITY)
class SessionsEnded(Contract):
    """Sign-in sessions ended: every service refuses their access tokens from now on, though
    the tokens have not expired yet (they live minutes)."""

    account_id: str
    session_ids: list[str]
    reason: Literal["sign-out", "refresh-reused", "password-changed", "account-switched-off"]


@contract("identity.otp.requested.v1", topic=topics.IDENTITY_OTP)
class OtpRequested(Contract):
    """Send this one-time code to this phone number now."""

    phone: str  # E.164
    code: str
    purpose: Literal["verify_phone", "reset_password"]
    language: Language = "id"
    expires_at: datetime
    citizen_id: str | None = None
