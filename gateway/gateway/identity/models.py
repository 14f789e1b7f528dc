"""What the identity routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from mpp_shared.formats import MobileText, NikText

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
Password = Annotated[str, Field(min_length=1, max_length=128)]
Language = Literal["id", "en"]
StaffRole = Literal["officer", "agency_admin", "mpp_admin", "ops_viewer"]
Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9._-]{2,63}$"),
]
Scope = Literal["subscriptions:write", "applications:read", "catalog:read"]


class Input(BaseModel):
    """Strict input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Registration(Input):
    """A citizen signing up."""

    nik: Annotated[
        NikText,
        Field(description="16-digit NIK (spaces or dashes allowed)", examples=["7307015506900001"]),
    ]
    name: Name
    phone: Annotated[
        MobileText, Field(description="Indonesian mobile number", examples=["081234567890"])
    ]
    email: EmailStr | None = None
    password: Password
    language: Language = "id"


class OtpRequest(Input):
    """Send (again) a one-time code to a phone."""

    phone: str
    purpose: Literal["verify_phone", "reset_password"] = "verify_phone"


class PhoneVerification(Input):
    """The code received on the phone."""

    phone: str
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]


class PasswordReset(Input):
    """A new password, allowed by a code sent to the account's phone."""

    phone: str
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]
    new_password: Password


class PasswordChange(Input):
    """A new password, allowed by the current one."""

    current_password: Password
    new_password: Password


class ProfileUpdate(Input):
    """What a citizen may change themselves (the phone changes by verification only)."""

    name: Name | None = None
    email: EmailStr | None = None
    language: Language | None = None


class StaffInput(Input):
    """A staff account an administrator creates."""

    username: Username
    name: Name
    role: StaffRole
    agency: str | None = Field(default=None, description="Required for officers and agency admins")
    email: EmailStr | None = None
    password: Password


class StaffUpdate(Input):
    """Switch a staff account off or on."""

    active: bool


class ApiKeyInput(Input):
    """A partner agency's API key."""

    name: Name
    agency: str | None = None
    scopes: Annotated[list[Scope], Field(min_length=1)]


class TokenPair(BaseModel):
    """OAuth 2.0 token response (RFC 6749 section 5.1)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int
    refresh_token: str
    role: str


class Registered(BaseModel):
    """A new account waiting for its phone to be verified."""

    id: str
    phone: str
    phone_verified: bool
    otp_sent_to: str
    otp_expires_in: int


class OtpSent(BaseModel):
    """Where a code went, if the phone is known (the answer is the same when it is not)."""

    sent_to: str
    expires_in: int


class Me(BaseModel):
    """The signed-in person."""

    id: str
    role: str
    name: str
    agency: str | None = None
    username: str | None = None
    nik_masked: str | None = None
    phone: str | None = None
    phone_verified: bool | None = None
    email: str | None = None
    language: Language = "id"
    created_at: datetime


class CitizenView(BaseModel):
    """A citizen as staff see them: officers and agency administrators only while their agency
    handles an application of the citizen, or did within the last 30 days (each read is
    audited)."""

    id: str
    name: str
    nik_masked: str = Field(
        description="The NIK with its district and birth date hidden, e.g. 7307********0001",
        examples=["7307********0001"],
    )
    nik: str | None = Field(
        default=None,
        description="The whole NIK, only to the staff of an agency handling an application for a "
        "service whose definition needs it (`requires_full_nik`: identity cards, family cards, "
        "civil certificates); null otherwise",
    )
    phone: str = Field(description="To reach the applicant about the application (E.164)")
    phone_verified: bool
    email: str | None = Field(default=None, description="To reach the applicant, if given")
    language: Language


class StaffView(BaseModel):
    """A staff account."""

    id: str
    username: str
    name: str
    role: StaffRole
    agency: str | None = None
    email: str | None = None
    active: bool
    created_at: datetime


class ApiKeyView(BaseModel):
    """A partner's API key (the secret is shown once, at creation)."""

    id: str
    name: str
    agency: str | None = None
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None
    key: str | None = Field(default=None, description="Only in the creation response")


class AuditEntry(BaseModel):
    """One read of personal data by staff."""

    id: str
    at: datetime
    actor: str
    actor_role: str
    actor_agency: str | None = None
    method: str
    resource: str
    status: int
    request_id: str | None = None
