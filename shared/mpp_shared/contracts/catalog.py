"""Events the catalog service publishes on `catalog.events`, and the snapshots they carry.

`catalog.events` is compacted by key (the entity id): a consumer that starts from the beginning
finds at least the latest event of every agency and service, enough to rebuild its read model.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract

# A time of day at the mall, without an offset (the mall's own time zone): `HH:MM[:SS]`. Said as
# a pattern: JSON Schema's `format: time` demands an offset, which these times rightly lack.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$",
            "description": "Local time of day at the mall, HH:MM[:SS]",
        }
    ),
]


Role = Literal["citizen", "officer", "agency_admin", "system"]
ROLES: tuple[str, ...] = ("citizen", "officer", "agency_admin", "system")


class LocalizedText(Contract):
    """Text shown to people, in Indonesian and English."""

    id: str
    en: str


class Requirement(Contract):
    """One item the citizen must provide with an application (persyaratan)."""

    code: str
    name: LocalizedText
    description: LocalizedText | None = None
    document_kinds: list[str]
    formats: list[str] = ["pdf", "jpeg", "png"]
    max_size_mb: Annotated[int, Field(ge=1, le=50)] = 10
    mandatory: bool = True


class WorkflowState(Contract):
    """A state an application of a service can be in."""

    code: str
    label: LocalizedText
    terminal: bool = False
    sla_days: Annotated[int, Field(ge=0, le=365)] | None = None
    pauses_sla: bool = False
    documents_replaceable: bool = False


class WorkflowAction(Contract):
    """A step some roles may take from some states to another."""

    code: str
    label: LocalizedText
    from_states: list[str]
    to_state: str
    roles: list[Role]
    requires_note: bool = False


class Workflow(Contract):
    """The state machine of a service's applications; SLAs in working days."""

    initial_state: str
    states: list[WorkflowState]
    actions: list[WorkflowAction]
    sla_days: Annotated[int, Field(ge=0, le=365)]
    auto_issue_on_expiry: bool = False


class OutputField(Contract):
    """One line an issued output prints: a form answer (`source: form`, `key` the form field) or
    a fact of the applicant (`source: applicant`, `key: name`), under its own label."""

    source: Literal["form", "applicant"]
    key: str
    label: LocalizedText


class OutputDefinition(Contract):
    """What a service's issued document prints: its title, then its lines in this order."""

    title: LocalizedText
    fields: list[OutputField]


@contract("catalog.agency.upserted.v1", topic=topics.CATALOG)
class AgencyUpserted(Contract):
    """An agency of the mall was created or changed; carries its current public facts."""

    agency_id: str
    code: str
    name: LocalizedText
    short_name: str = ""
    kind: str
    version: int
    counters: list[dict[str, Any]] = []


@contract("catalog.service.published.v1", topic=topics.CATALOG)
class ServicePublished(Contract):
    """A service version was published: all an application under it is checked against."""

    service_id: str
    slug: str
    version: int
    agency: str
    category: str
    name: LocalizedText
    channels: list[str]
    requirements: list[Requirement]
    form_schema: dict[str, Any] | None
    workflow: Workflow | None
    fee_amount: int
    fee_variable: bool = False
    electronic_output: bool
    published_at: datetime
    # The NIK is the subject of the work (civil registry): the agency's staff see it in full.
    requires_full_nik: bool = False
    # What the issued document prints (absent: a generic output naming the holder).
    output: OutputDefinition | None = None


@contract("catalog.service.withdrawn.v1", topic=topics.CATALOG)
class ServiceWithdrawn(Contract):
    """A service no longer takes applications; applications already made go on."""

    service_id: str
    slug: str
    version: int
    withdrawn_at: datetime
