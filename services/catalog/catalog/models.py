"""The catalog's models: agencies, their counters, and services with their full service standard.

A service's standard has the 14 components of PermenPAN-RB 15/2014: six face the citizen
(requirements, procedure, completion time, fee, product, complaint handling) and eight are
internal. Text shown to people is always Indonesian and English.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from mpp_shared.contracts.catalog import LocalTime, Role

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=3, max_length=80)
]
AgencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$", max_length=30)
]


class Model(BaseModel):
    """Base of the catalog's models: unknown fields are refused, so typos are caught."""

    model_config = ConfigDict(extra="forbid")


class LocalizedText(Model):
    """Text shown to people, in Indonesian and English."""

    id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
    en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]

    def is_empty(self) -> bool:
        """True when either language is missing."""
        return not self.id or not self.en


class LocalizedList(Model):
    """A list of short texts (steps, facilities), in both languages, item by item."""

    id: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    ]
    en: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    ]

    def is_empty(self) -> bool:
        """True when either language has no item."""
        return not self.id or not self.en


# --- agencies ----------------------------------------------------------------------------------


class AgencyKind(StrEnum):
    """What kind of body an agency is."""

    REGIONAL_OFFICE = "regional_office"  # perangkat daerah of the regency
    VERTICAL_AGENCY = "vertical_agency"  # national agency's local office (police, tax, land...)
    STATE_COMPANY = "state_company"  # BUMN / BUMD (BPJS, PLN, PDAM, post)
    BANK = "bank"


class OpeningHours(Model):
    """When a counter is open on one weekday (1 = Monday ... 7 = Sunday), local time."""

    weekday: Annotated[int, Field(ge=1, le=7)]
    opens: LocalTime
    closes: LocalTime
    break_start: LocalTime | None = None
    break_end: LocalTime | None = None


class CounterService(Model):
    """A service a counter handles in person, and how many visits it takes per day."""

    service: Slug
    daily_capacity: Annotated[int, Field(ge=1, le=10_000)]
    slot_minutes: Annotated[int, Field(ge=5, le=240)] = 15


class Counter(Model):
    """A counter (loket) of the agency in the physical mall."""

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{1,20}$")]
    name: LocalizedText
    opening_hours: list[OpeningHours]
    services: list[CounterService] = []


class Contact(Model):
    """How citizens reach the agency."""

    phone: Annotated[str, StringConstraints(pattern=r"^\+62[0-9]{6,13}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    website: str | None = None
    address: LocalizedText | None = None


class AgencyInput(Model):
    """An agency as administrators write it."""

    code: AgencyCode
    name: LocalizedText
    short_name: Annotated[str, StringConstraints(max_length=40)]
    kind: AgencyKind
    description: LocalizedText | None = None
    contact: Contact = Contact()
    counters: list[Counter] = []


class Agency(AgencyInput):
    """An agency as the catalog keeps and shows it."""

    id: str
    version: int
    updated_at: datetime


# --- services -----------------------------------------------------------------------------------


class Channel(StrEnum):
    """How a service is delivered."""

    ONLINE = "online"  # applied for and finished online
    BOOKING = "booking"  # booked online, finished at a counter (biometrics, tests)
    INFORMATION = "information"  # information only


class Category(StrEnum):
    """What a service is about, for browsing."""

    IDENTITY = "identity"  # population & civil registry
    CIVIL_STATUS = "civil_status"  # births, deaths, marriages, divorces
    SECURITY = "security"  # police clearances, reports, permits
    VEHICLES = "vehicles"  # driving licences, vehicle tax, roadworthiness
    TRAVEL = "travel"  # passports
    RELIGION = "religion"  # marriage registration, hajj, halal, waqf
    JUSTICE = "justice"  # courts and prosecutor
    LAND = "land"  # land certificates
    TAX = "tax"  # national and regional taxes
    SOCIAL_SECURITY = "social_security"  # BPJS, Taspen, social aid
    BUSINESS = "business"  # licensing and investment
    HEALTH = "health"  # health licences and certificates
    EMPLOYMENT = "employment"  # manpower
    EDUCATION = "education"
    TRANSPORT = "transport"
    UTILITIES = "utilities"  # water, electricity
    FINANCE = "finance"  # banks, post


CATEGORY_LABELS: dict[Category, LocalizedText] = {
    Category.IDENTITY: LocalizedText(id="Kependudukan", en="Population registry"),
    Category.CIVIL_STATUS: LocalizedText(id="Pencatatan sipil", en="Civil status"),
    Category.SECURITY: LocalizedText(id="Keamanan dan kepolisian", en="Police and security"),
    Category.VEHICLES: LocalizedText(id="Kendaraan dan SIM", en="Vehicles and driving licences"),
    Category.TRAVEL: LocalizedText(id="Keimigrasian", en="Immigration and travel"),
    Category.RELIGION: LocalizedText(id="Keagamaan", en="Religious affairs"),
    Category.JUSTICE: LocalizedText(id="Peradilan dan hukum", en="Courts and legal"),
    Category.LAND: LocalizedText(id="Pertanahan", en="Land"),
    Category.TAX: LocalizedText(id="Perpajakan", en="Taxes"),
    Category.SOCIAL_SECURITY: LocalizedText(id="Jaminan sosial", en="Social security"),
    Category.BUSINESS: LocalizedText(id="Perizinan usaha", en="Business licensing"),
    Category.HEALTH: LocalizedText(id="Kesehatan", en="Health"),
    Category.EMPLOYMENT: LocalizedText(id="Ketenagakerjaan", en="Employment"),
    Category.EDUCATION: LocalizedText(id="Pendidikan", en="Education"),
    Category.TRANSPORT: LocalizedText(id="Perhubungan", en="Transport"),
    Category.UTILITIES: LocalizedText(id="Air dan listrik", en="Water and electricity"),
    Category.FINANCE: LocalizedText(id="Perbankan dan pos", en="Banking and post"),
}


class DocumentFormat(StrEnum):
    """File formats a requirement accepts."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"


class Requirement(Model):
    """One item the citizen must provide (persyaratan)."""

    code: Code
    name: LocalizedText
    description: LocalizedText | None = None
    # What kinds of document satisfy it, e.g. ["ktp_el"], ["kk"], ["photo"], ["letter"].
    document_kinds: list[Code]
    formats: list[DocumentFormat] = [DocumentFormat.PDF, DocumentFormat.JPEG, DocumentFormat.PNG]
    max_size_mb: Annotated[int, Field(ge=1, le=50)] = 10
    mandatory: bool = True


class Fee(Model):
    """What the service costs, in whole rupiah; free services say why (their legal basis).

    A variable fee (a tax on the bill, a levy by size) gives its fixed part or minimum as
    `amount` and explains the rest in `note`.
    """

    amount: Annotated[int, Field(ge=0)]
    variable: bool = False
    legal_basis: LocalizedText
    note: LocalizedText | None = None

    @property
    def free(self) -> bool:
        """True for services that cost nothing."""
        return self.amount == 0 and not self.variable


class OutputField(Model):
    """One line the issued document prints: a form answer (`source: form`, `key` the form
    field's name) or the applicant's name (`source: applicant`, `key: name`), under `label`."""

    source: Literal["form", "applicant"]
    key: Code
    label: LocalizedText


class OutputDefinition(Model):
    """What the issued document prints: its title (e.g. "Kutipan Akta Kelahiran"), then its
    lines in the order given, as the national format orders and labels them."""

    title: LocalizedText
    fields: Annotated[list[OutputField], Field(min_length=1, max_length=16)]  # one A4 page


class Product(Model):
    """What the citizen gets."""

    name: LocalizedText
    electronic: bool  # an issued electronic document, signed and QR-verifiable
    validity: LocalizedText | None = None
    # What the electronic document prints; without it, a generic one naming the holder.
    output: OutputDefinition | None = None


class WorkflowState(Model):
    """A state an application of this service can be in."""

    code: Code
    label: LocalizedText
    terminal: bool = False
    sla_days: Annotated[int, Field(ge=0, le=365)] | None = None  # per-state SLA, working days
    pauses_sla: bool = False  # e.g. waiting for the citizen's revision
    documents_replaceable: bool = False


class WorkflowAction(Model):
    """A step someone may take from some states to another."""

    code: Code
    label: LocalizedText
    from_states: list[Code]
    to_state: Code
    roles: list[Role]
    requires_note: bool = False


class Workflow(Model):
    """The state machine officers and citizens move an application through."""

    initial_state: Code
    states: list[WorkflowState]
    actions: list[WorkflowAction]
    sla_days: Annotated[int, Field(ge=0, le=365)]  # whole application, working days
    auto_issue_on_expiry: bool = False  # e.g. doctors' practice licences (SIP) on day 5


class Standard(Model):
    """The 14 components of the service standard (PermenPAN-RB 15/2014)."""

    # Citizen-facing (the catalog refuses to publish while any is empty).
    requirements: list[Requirement]
    procedure: LocalizedList
    completion_time: LocalizedText
    fee: Fee
    product: Product
    complaint_handling: LocalizedText
    # Internal.
    legal_basis: LocalizedList
    facilities: LocalizedList
    staff_competence: LocalizedText
    internal_supervision: LocalizedText
    staff_count: Annotated[int, Field(ge=0)]
    service_guarantee: LocalizedText
    security_guarantee: LocalizedText
    performance_evaluation: LocalizedText


class ServiceInput(Model):
    """A service as administrators write it (a draft until published)."""

    slug: Slug
    agency: AgencyCode
    category: Category
    name: LocalizedText
    description: LocalizedText
    channels: Annotated[list[Channel], Field(min_length=1)]
    # Everyday words citizens use for it, e.g. "akte lahir", "bikin ktp"; they help search.
    keywords: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)]
    ] = []
    standard: Standard
    # JSON Schema of the application form; workflow of applications. Information-only services
    # take no applications and may have neither. A field marked `x-sensitive: true` (every NIK
    # field of the seed) is stored encrypted by the applications service and shown whole only to
    # the applicant and the handling agency's staff; NIK fields (`x-input: nik`, or 16 digits by
    # pattern) are sensitive unless marked `x-sensitive: false`.
    form_schema: dict[str, Any] | None = None
    workflow: Workflow | None = None
    requires_full_nik: bool = Field(
        default=False,
        description="The applicant's NIK is the subject of the work (identity cards, family "
        "cards, civil certificates, moving letters): the agency's staff see it in full. "
        "Otherwise they see it masked.",
    )

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[Channel]) -> list[Channel]:
        return list(dict.fromkeys(channels))


class ServiceStatus(StrEnum):
    """Where a service is in its life."""

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Service(ServiceInput):
    """A version of a service as the catalog keeps and shows it."""

    id: str
    version: int  # the published version number; drafts show the version they will become
    status: ServiceStatus
    published_at: datetime | None = None
    updated_at: datetime


def slugify(text: str) -> str:
    """A slug from free text."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class MatchReason(BaseModel):
    """Why a search hit matched: the word typed, the catalog's word it matched, where and how."""

    query: str
    term: str
    field: str
    how: Literal["exact", "everyday", "fuzzy"]


class SearchMatch(BaseModel):
    """A search hit's score and reasons."""

    score: float
    reasons: list[MatchReason]


class ServiceSummary(BaseModel):
    """A service in lists: enough to choose it."""

    id: str
    slug: str
    name: LocalizedText
    agency: str
    category: Category
    channels: list[Channel]
    fee_amount: int
    fee_variable: bool
    sla_days: int | None
    electronic_output: bool
    version: int
    match: SearchMatch | None = None


class CategoryView(BaseModel):
    """A category code with its labels, and how many published services it has."""

    code: Category
    label: LocalizedText
    services: int = 0
