"""What the application routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mpp_shared.contracts.catalog import LocalizedText

DocumentIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=10)
]
Note = Annotated[str, Field(min_length=1, max_length=2000)]


class Input(BaseModel):
    """Strict input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Submission(Input):
    """A citizen's application: the service, the form and a document per requirement."""

    service: Annotated[str, Field(description="The service's slug or id", min_length=1)]
    form: dict[str, Any] = {}
    documents: Annotated[
        dict[str, DocumentIds],
        Field(description="Document ids (from the documents service) by requirement code"),
    ] = {}


class RevisionItem(Input):
    """One thing a send-back asks the citizen to fix: a requirement's documents or a form
    field's answer, with what is wrong with it."""

    kind: Literal["requirement", "field"]
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            description="The requirement's code or the form field's name, in the service's "
            "version the application was made under",
        ),
    ]
    note: Note | None = None


class ActionInput(Input):
    """A workflow step: a note (required by some actions); sending back, what must be fixed;
    resubmitting, the new documents and answers of what was named."""

    note: Note | None = None
    documents: dict[str, DocumentIds] | None = None
    form: dict[str, Any] | None = Field(
        default=None,
        description="Resubmitting: the new answers of the form fields the send-back named "
        "(only those)",
    )
    revision: Annotated[list[RevisionItem], Field(max_length=50)] | None = Field(
        default=None,
        description="Sending back: the requirements to replace and the form fields to correct, "
        "each with a note; the citizen may then change only these",
    )


class State(BaseModel):
    """A workflow state, labelled in both languages."""

    code: str
    label: LocalizedText
    terminal: bool = False


class Action(BaseModel):
    """An action the caller may take now."""

    code: str
    label: LocalizedText
    requires_note: bool = False


class AskedFix(BaseModel):
    """What a send-back asked to fix, named by its label."""

    kind: Literal["requirement", "field"]
    name: str
    label: LocalizedText
    note: str | None = None


class Change(BaseModel):
    """What a resubmission changed: a form answer (old and new, unless sensitive: then only
    that it changed) or a requirement's documents (their ids)."""

    kind: Literal["requirement", "field"]
    name: str
    label: LocalizedText
    old: Any = None
    new: Any = None
    sensitive: bool = Field(
        default=False, description="A sensitive answer (a NIK): its values are not kept"
    )


class HistoryLine(BaseModel):
    """One step of an application's audit history."""

    at: datetime
    action: str
    actor_role: str
    actor: str | None = None  # shown to staff only
    from_state: str | None
    to_state: str
    note: str | None = None
    revision: list[AskedFix] = Field(
        default=[], description="A send-back: what the citizen was asked to fix"
    )
    changes: list[Change] = Field(default=[], description="A resubmission: what was changed")


class OutputLink(BaseModel):
    """Where the application's issued document is: its holder downloads it signed in, without
    a PIN; anyone checks it on the verification page."""

    output_id: str
    verification_code: str
    status: Literal["valid", "revoked"]
    issued_at: datetime
    download_url: str = Field(
        description="`GET` it signed in as the holder (or the agency's staff): a redirect to "
        "the PDF, or with `?redirect=false` the link"
    )
    verify_url: str = Field(description="The public verification page of the document")


class Application(BaseModel):
    """An application as its citizen or the agency's staff see it."""

    id: str
    tracking_number: str
    check_code: str = Field(
        description="The code the public tracking page asks for with the tracking number "
        "(`GET /track/{tracking_number}?code=`); given to the applicant with the number"
    )
    service_id: str
    service_slug: str
    service_version: int
    service_name: LocalizedText
    agency: str
    citizen_id: str
    applicant_name: str | None = Field(
        default=None,
        description="The applicant's name, for the agency's staff (null until the identity "
        "service's news of the citizen has arrived, and in citizens' own views)",
    )
    state: State
    form: dict[str, Any] = Field(
        description="The form answers; those the service's form schema marks `x-sensitive` "
        "(NIKs) whole for the applicant and the handling agency's staff, masked for everyone "
        "else (a NIK as `7307********0001`)"
    )
    documents: dict[str, list[str]]
    submitted_at: datetime
    updated_at: datetime
    due_at: datetime | None = Field(description="The whole application's deadline")
    state_due_at: datetime | None = None
    sla_paused: bool
    overdue: bool
    actions: list[Action] = Field(description="What the caller may do now")
    history: list[HistoryLine]
    revision: list[AskedFix] = Field(
        default=[],
        description="While sent back: what the citizen is asked to fix, and may change (empty "
        "otherwise, and when the officer named nothing: then any document may be replaced)",
    )
    output: OutputLink | None = Field(
        default=None,
        description="The document issued for the application, once issued (null before)",
    )


class ApplicationSummary(BaseModel):
    """An application in a list."""

    id: str
    tracking_number: str
    service_slug: str
    service_name: LocalizedText
    agency: str
    applicant_name: str | None = Field(
        default=None,
        description="The applicant's name, in the officer's inbox (null until known, and in "
        "citizens' own lists)",
    )
    state: State
    submitted_at: datetime
    due_at: datetime | None
    overdue: bool
    nearing_due: bool


class Inbox(BaseModel):
    """An agency's open applications, soonest deadline first, with the counts that matter."""

    open: int
    nearing_due: int
    overdue: int
    by_state: dict[str, int]
    items: list[ApplicationSummary]
    next_cursor: str | None = None


class TrackStep(BaseModel):
    """A public step of the timeline: when, which state (no notes, no names)."""

    at: datetime
    state: State


class Tracking(BaseModel):
    """What anyone with the tracking number and its check code may know: no personal data."""

    tracking_number: str
    service_name: LocalizedText
    agency: str
    state: State
    submitted_at: datetime
    updated_at: datetime
    due_at: datetime | None
    timeline: list[TrackStep]


class AgencyFigures(BaseModel):
    """One agency's figures on the command center."""

    agency: str
    submitted_today: int
    open: int
    overdue: int
    completed_30d: int
    completed_on_time_30d: int


class Summary(BaseModel):
    """The whole mall's figures for the command center."""

    at: datetime
    submitted_today: int
    open: int
    overdue: int
    by_state: dict[str, int]
    sla_compliance_30d: float | None = Field(description="Share completed on time, last 30 days")
    agencies: list[AgencyFigures]


# --- what the store holds --------------------------------------------------------------------


class ApplicationRecord(BaseModel):
    """An application's row: its state and clocks, without form, documents and history."""

    model_config = ConfigDict(frozen=True)

    id: str
    tracking_number: str
    check_code: str
    citizen_id: str
    service_id: str
    service_slug: str
    service_version: int
    agency: str
    state: str
    open: bool
    submitted_at: datetime
    updated_at: datetime
    state_entered_at: datetime
    state_due_at: datetime | None
    overall_due_at: datetime
    due_at: datetime | None = Field(description="The state's or the whole deadline, if sooner")
    paused_at: datetime | None
    completed_at: datetime | None
    breaches: list[str]
    escalated: bool
    version: int


class StoredApplication(ApplicationRecord):
    """An application with its form answers (sensitive ones sealed: see `answers`), documents by
    requirement and history."""

    form: dict[str, Any]
    documents: dict[str, list[str]]
    request_fingerprint: str | None
    history: list[HistoryLine]

    @property
    def document_ids(self) -> list[str]:
        """Every attached document, in requirement order."""
        return [d for ids in self.documents.values() for d in ids]


class InboxCounts(BaseModel):
    """The counts of an agency's open applications the inbox shows."""

    model_config = ConfigDict(frozen=True)

    open: int
    nearing_due: int
    overdue: int
    by_state: dict[str, int]


class AgencyCounts(BaseModel):
    """What the command center counts of one agency's applications."""

    model_config = ConfigDict(frozen=True)

    agency: str
    submitted_today: int
    open: int
    overdue: int
    completed: int
    completed_on_time: int
