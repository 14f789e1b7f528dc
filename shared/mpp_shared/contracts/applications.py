"""Events the applications service publishes on `applications.events`: applications and their
workflow, SLA breaches, counter bookings, satisfaction surveys and complaints.

They carry ids, states and dates, never personal data: a consumer that needs the citizen's
contact looks it up by `citizen_id` in its own read model of identity events. Notes written by
officers travel only where the citizen must read them (revision requested, rejected).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract
from mpp_shared.contracts.catalog import LocalizedText


class ApplicationFacts(Contract):
    """What every application event says about the application."""

    application_id: str
    tracking_number: str
    service_id: str
    service_version: int
    agency: str
    citizen_id: str
    state: str
    due_at: datetime | None = None
    # What the public tracking page asks for with the number, for the link in the applicant's
    # messages (absent from events of applications made before there were codes).
    check_code: str | None = None


class OutputLine(Contract):
    """A line of the issued document: its label and what it says. `kind: date` is an ISO date
    (the issuer writes it out); `kind: holder_name` is the applicant's name, which the issuer
    knows from identity's events and fills in."""

    label: LocalizedText
    value: str = ""
    kind: Literal["text", "date", "holder_name"] = "text"


class OutputContent(Contract):
    """What the issued document of an approved application prints, as its service defines it:
    only the answers named there, never a sensitive one (a NIK is never printed from a form).
    It travels sealed (`output_sealed`): see `OUTPUT_CONTENT_KIND`."""

    title: LocalizedText
    lines: list[OutputLine]


# The answers an output prints are personal data that the other readers of this topic (the
# notifications service, partners) must not see: the applications service seals the content's
# JSON with `mpp_shared.pii.Vault(MPP_OUTPUT_CONTENT_KEY, kind=OUTPUT_CONTENT_KIND)`, bound to the
# application id, and only the documents service, which holds the same key, opens it.
OUTPUT_CONTENT_KIND = "output-content"


@contract("applications.application.submitted.v1", topic=topics.APPLICATIONS)
class ApplicationSubmitted(ApplicationFacts):
    """A citizen submitted an application; its documents are now the agency's to read."""

    document_ids: list[str]
    # The service's definition says its staff need the applicant's full NIK (civil registry);
    # otherwise they see it masked.
    requires_full_nik: bool = False


@contract("applications.application.status_changed.v1", topic=topics.APPLICATIONS)
class ApplicationStatusChanged(ApplicationFacts):
    """Any workflow step: from one state to another, by whom (role) and which action."""

    from_state: str
    action: str
    actor_role: str
    document_ids: list[str] = []
    # `state` ends the application (completed, rejected, cancelled or a service's own end).
    terminal: bool = False
    # A resubmission after a send-back: the form fields whose answers changed and the
    # requirements whose documents were replaced, by name (never the answers themselves).
    changed_fields: list[str] = []
    replaced_requirements: list[str] = []


class RevisionItemFact(Contract):
    """One thing a send-back asks the citizen to fix: a requirement's documents or a form
    field's answer (by its name in the service's version), with the officer's note."""

    kind: Literal["requirement", "field"]
    name: str
    label: LocalizedText
    note: str | None = None


@contract("applications.application.revision_requested.v1", topic=topics.APPLICATIONS)
class RevisionRequested(ApplicationFacts):
    """The officer sent the application back: the citizen must replace documents or correct
    answers (SLA paused). `note` is the officer's whole message, the items' notes included."""

    note: str
    # What the citizen must fix, when the officer named it (empty: a free-text send-back).
    items: list[RevisionItemFact] = []


@contract("applications.application.approved.v1", topic=topics.APPLICATIONS)
class ApplicationApproved(ApplicationFacts):
    """The agency approved the application; an electronic output may now be issued."""

    electronic_output: bool
    # What that output prints (an `OutputContent`, sealed), when its service defines it.
    output_sealed: str | None = None


@contract("applications.application.rejected.v1", topic=topics.APPLICATIONS)
class ApplicationRejected(ApplicationFacts):
    """The agency refused the application, with its reason."""

    reason: str


@contract("applications.application.completed.v1", topic=topics.APPLICATIONS)
class ApplicationCompleted(ApplicationFacts):
    """The service was delivered; the citizen may now rate it."""

    electronic_output: bool
    automatic: bool = False  # completed by the system when its SLA expired
    output_sealed: str | None = None  # what the electronic output prints, as on approval


@contract("applications.application.cancelled.v1", topic=topics.APPLICATIONS)
class ApplicationCancelled(ApplicationFacts):
    """The citizen withdrew the application before processing started."""


@contract("applications.application.sla_breached.v1", topic=topics.APPLICATIONS)
class SlaBreached(ApplicationFacts):
    """A deadline passed: the state's or the whole application's; escalated to the agency admin."""

    clock: str  # "state" or "overall"
    breached_due_at: datetime
    escalated_to: str = "agency_admin"
    # The state's name as its service's workflow gives it ("Diajukan"), for the people told.
    state_label: LocalizedText | None = None


@contract("applications.booking.created.v1", topic=topics.APPLICATIONS)
class BookingCreated(Contract):
    """A citizen booked a counter visit."""

    booking_id: str
    ticket_code: str
    citizen_id: str
    service_id: str
    agency: str
    counter: str
    date: date
    starts_at: datetime
    application_id: str | None = None


@contract("applications.booking.cancelled.v1", topic=topics.APPLICATIONS)
class BookingCancelled(Contract):
    """A booking was cancelled; its slot is free again."""

    booking_id: str
    citizen_id: str
    service_id: str
    agency: str
    counter: str
    date: date
    starts_at: datetime


@contract("applications.survey.submitted.v1", topic=topics.APPLICATIONS)
class SurveySubmitted(Contract):
    """A citizen rated a completed service (SKM: nine elements scored 1-4)."""

    survey_id: str
    application_id: str
    service_id: str
    agency: str
    scores: dict[str, int]


class ComplaintFacts(Contract):
    """What every complaint event says about the complaint."""

    complaint_id: str
    tracking_id: str
    state: str
    agency: str | None = None
    application_id: str | None = None
    citizen_id: str | None = None
    due_at: datetime | None = None


@contract("applications.complaint.filed.v1", topic=topics.APPLICATIONS)
class ComplaintFiled(ComplaintFacts):
    """A complaint was filed; it must be forwarded within 3 working days."""


@contract("applications.complaint.forwarded.v1", topic=topics.APPLICATIONS)
class ComplaintForwarded(ComplaintFacts):
    """The complaint was verified and forwarded to the agency; it must answer in 5 working days."""


@contract("applications.complaint.responded.v1", topic=topics.APPLICATIONS)
class ComplaintResponded(ComplaintFacts):
    """The agency answered; without a reply the complaint closes in 10 working days."""


@contract("applications.complaint.replied.v1", topic=topics.APPLICATIONS)
class ComplaintReplied(ComplaintFacts):
    """The citizen replied to the agency's answer; the agency answers again."""


@contract("applications.complaint.closed.v1", topic=topics.APPLICATIONS)
class ComplaintClosed(ComplaintFacts):
    """The complaint is closed (by the citizen, by staff, or automatically)."""

    automatic: bool = False
