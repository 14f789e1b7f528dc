"""What the complaint routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mpp_shared.contracts.catalog import LocalizedText

AgencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", max_length=30)
]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]

# A complaint's states and the steps of its timeline, labelled for people.
RECEIVED, FORWARDED, RESPONDED, CLOSED = "received", "forwarded", "responded", "closed"
STATES = {
    RECEIVED: LocalizedText(id="Diterima, sedang diverifikasi", en="Received, being verified"),
    FORWARDED: LocalizedText(id="Diteruskan ke instansi", en="Forwarded to the agency"),
    RESPONDED: LocalizedText(id="Ditanggapi instansi", en="Answered by the agency"),
    CLOSED: LocalizedText(id="Selesai", en="Closed"),
}
ACTIONS = {
    "file": LocalizedText(id="Pengaduan diajukan", en="Complaint filed"),
    "forward": LocalizedText(id="Diverifikasi dan diteruskan", en="Verified and forwarded"),
    "respond": LocalizedText(id="Tanggapan instansi", en="Agency's answer"),
    "reply": LocalizedText(id="Balasan pelapor", en="Citizen's reply"),
    "close": LocalizedText(id="Ditutup", en="Closed"),
    "auto_close": LocalizedText(
        id="Ditutup otomatis: tidak ada balasan dalam 10 hari kerja",
        en="Closed automatically: no reply within 10 working days",
    ),
    "forward_overdue": LocalizedText(
        id="Batas waktu penerusan (3 hari kerja) terlewati",
        en="Forwarding deadline (3 working days) passed",
    ),
    "response_overdue": LocalizedText(
        id="Batas waktu tanggapan instansi (5 hari kerja) terlewati",
        en="Agency's response deadline (5 working days) passed",
    ),
}


class Input(BaseModel):
    """Strict input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ComplaintInput(Input):
    """A citizen's complaint, about one of their applications or an agency, or the mall."""

    application_id: Annotated[
        str | None, Field(min_length=1, max_length=64, description="One of your applications")
    ] = None
    agency: Annotated[
        AgencyCode | None, Field(description="The agency complained about, if known")
    ] = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)
    ]
    category: Annotated[
        str | None, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    ] = None


class ForwardInput(Input):
    """Forward a verified complaint: to its agency, or to the one named here."""

    agency: AgencyCode | None = None
    message: Message | None = None


class MessageInput(Input):
    """An answer or a reply."""

    message: Message


class CloseInput(Input):
    """Close a complaint; the mall's administrators say why."""

    message: Message | None = None


class Coded(BaseModel):
    """A code (state or action) with its label in both languages."""

    code: str
    label: LocalizedText


class TimelineLine(BaseModel):
    """One step of a complaint: who (role) did what, when, the state after and the message."""

    at: datetime
    action: Coded
    actor_role: str
    actor: str | None = None  # shown to staff only
    state: Coded
    message: str | None = None


class Complaint(BaseModel):
    """A complaint as its citizen, the agency's staff or the mall's staff see it."""

    id: str
    tracking_id: str
    check_code: str = Field(
        description="The code the public tracking page asks for with the tracking id "
        "(`GET /track/complaints/{tracking_id}?code=`); given to the citizen with the id"
    )
    state: Coded
    citizen_id: str
    application_id: str | None
    agency: str | None
    subject: str
    description: str
    category: str | None
    filed_at: datetime
    updated_at: datetime
    due_at: datetime | None = Field(description="When the step the mall or agency owes is due")
    overdue: bool
    closes_at: datetime | None = Field(description="Closes then unless the citizen replies")
    closed_at: datetime | None
    actions: list[Coded] = Field(description="What the caller may do now")
    timeline: list[TimelineLine]


class ComplaintSummary(BaseModel):
    """A complaint in a list."""

    id: str
    tracking_id: str
    state: Coded
    agency: str | None
    application_id: str | None
    subject: str
    category: str | None
    filed_at: datetime
    updated_at: datetime
    due_at: datetime | None
    overdue: bool
    closes_at: datetime | None


class ComplaintList(BaseModel):
    """The complaints the caller may see, newest first, with the counts that matter."""

    open: int
    by_state: dict[str, int]
    overdue_forward: int = Field(description="Open complaints not forwarded in 3 working days")
    overdue_response: int = Field(description="Forwarded complaints unanswered in 5 working days")
    items: list[ComplaintSummary]
    next_cursor: str | None = None


class TrackStep(BaseModel):
    """A public step: when, what, the state after (no messages, no names)."""

    at: datetime
    action: Coded
    state: Coded


class ComplaintTracking(BaseModel):
    """What anyone with the tracking id and its check code may know: no personal data."""

    tracking_id: str
    state: Coded
    agency: str | None
    filed_at: datetime
    updated_at: datetime
    due_at: datetime | None
    timeline: list[TrackStep]


# --- what the store holds --------------------------------------------------------------------


class ComplaintLine(BaseModel):
    """One step of a complaint's timeline as the store holds it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    action: str
    actor: str
    actor_role: str
    state: str
    message: str | None = None


class ComplaintRecord(BaseModel):
    """A complaint's row: its state and clocks, without description and timeline."""

    model_config = ConfigDict(frozen=True)

    id: str
    tracking_id: str
    check_code: str
    citizen_id: str
    application_id: str | None
    agency: str | None
    subject: str
    category: str | None
    state: str
    open: bool
    filed_at: datetime
    updated_at: datetime
    forward_due_at: datetime
    forwarded_at: datetime | None
    response_due_at: datetime | None
    responded_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    overdue: bool = Field(description="The clock check noted the step owed as overdue")
    version: int


class StoredComplaint(ComplaintRecord):
    """A complaint with its description and timeline."""

    description: str
    request_fingerprint: str | None
    timeline: list[ComplaintLine]


class ComplaintScope(BaseModel):
    """Which complaints a list holds: a citizen's, an agency's (forwarded ones only), or all."""

    model_config = ConfigDict(frozen=True)

    citizen_id: str | None = None
    agency: str | None = None
    forwarded_only: bool = False


class ComplaintCounts(BaseModel):
    """The counts a list of complaints shows."""

    model_config = ConfigDict(frozen=True)

    open: int
    by_state: dict[str, int]
    overdue_forward: int
    overdue_response: int
