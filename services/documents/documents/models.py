"""What the documents routes take and give."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from documents.store import Document


class Input(BaseModel):
    """Strict input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class UploadStart(Input):
    """Announce an upload straight to S3: what and how big."""

    filename: Annotated[str, Field(max_length=255)] | None = None
    size: Annotated[int, Field(ge=1, le=50 * 1024 * 1024)]
    service: str | None = Field(default=None, description="The service's slug, for its limits")
    requirement: str | None = Field(default=None, description="The requirement's code")


class DocumentView(BaseModel):
    """A document's metadata."""

    id: str
    status: str = Field(description="pending, available, rejected or deleted")
    filename: str
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    service: str | None = None
    requirement: str | None = None
    attached: bool
    reason: dict[str, str] | None = Field(default=None, description="Why it was rejected")
    created_at: datetime

    @classmethod
    def of(cls, document: Document) -> DocumentView:
        """The view of a stored document."""
        reason = (
            {"id": document.reason_id or document.reason, "en": document.reason}
            if document.reason
            else None
        )
        return cls.model_validate(document.model_dump() | {"reason": reason})


class UploadTicket(BaseModel):
    """Where and how to send the content straight to storage, until when; then call finalize.

    Send a `multipart/form-data` POST to `upload_url` with every one of `fields`, as given, then
    the content as the last part, named `file`. Storage refuses a file of any other size than
    the one announced."""

    document: DocumentView
    upload_url: str = Field(description="The storage address to POST the form to")
    method: Literal["POST"] = "POST"
    fields: dict[str, str] = Field(
        description="Form fields to send as they are, before the `file` part (signed policy)"
    )
    expires_in: int = Field(description="Seconds the form is accepted for")
    finalize_url: str = Field(description="Where to POST once storage has accepted the file")


class Link(BaseModel):
    """A short-lived download link."""

    url: str
    expires_in: int


class AccessLine(BaseModel):
    """One access to a document."""

    at: datetime
    actor_role: str
    actor_agency: str | None = None
    action: str


class PinInput(Input):
    """The PIN the holder received."""

    pin: Annotated[str, Field(pattern=r"^\s*\d{6}\s*$")]


class NewPinInput(Input):
    """Whether the PINs sent before stop working (to stop sharing the document)."""

    revoke_previous: bool = Field(
        default=False,
        description="False: the PIN sent just before this one keeps working (its message may "
        "still be on the way). True: only the new PIN works.",
    )


class NewPin(BaseModel):
    """A new PIN, also sent to the holder."""

    pin: str
    previous_still_valid: bool


class RevokeInput(Input):
    """Why an output is revoked."""

    reason: Annotated[str, Field(min_length=3, max_length=500)]


class OutputView(BaseModel):
    """An issued output, for its holder or its agency."""

    id: str
    application_id: str
    tracking_number: str
    verification_code: str
    verify_url: str
    status: str
    issued_at: datetime
    valid_until: date | None = None
    sha256: str


class Verification(BaseModel):
    """The public verification page's facts."""

    verification_code: str
    status: str = Field(description="valid, revoked or expired")
    authentic_issuer: bool
    title: dict[str, str] = Field(description="The document's title, e.g. Kutipan Akta Kelahiran")
    service_name: dict[str, str]
    agency: str
    agency_name: dict[str, str] | None = None
    tracking_number: str
    holder: str = Field(description="The holder's name, masked")
    issued_at: datetime
    valid_until: date | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    sha256: str
    signature: dict[str, str]


class FileCheck(BaseModel):
    """Whether a PDF is exactly the one issued."""

    authentic: bool
    status: str
    detail: dict[str, str]
