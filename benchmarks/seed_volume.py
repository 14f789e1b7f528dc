"""A year of Kabupaten Sinjai's mall in a namespace of its own, so benchmarks measure at volume.

`python benchmarks/seed_volume.py load [--scale 1.0]` fills the databases `volume_catalog`,
`volume_applications`, `volume_documents`, `volume_notifications` and `volume_gateway` (dropped
first if they exist): the catalog's real seed, then about 60,000 applications of its published
services over the 365 days before today with their history, SLA clocks and tracking numbers,
counter bookings, surveys, complaints, 150,000 documents' metadata (no blobs) with their links,
access log and issued outputs, 500,000 notification messages with their attempts and inbox
entries, 40,000 citizens' accounts (and the officers who acted), and the read models each service
keeps of the others' events. `drop` removes the namespace's databases again. Start the services
with `MPP_NAMESPACE=volume` to measure against it; every account's password is `PASSWORD`.

Rows go in through each service's own tables and store functions: bulk copies into the tables
its store declares (PostgreSQL's COPY through the driver, naming the Table's own columns), never
HTTP, never hand-written SQL. The catalog's read models are made by applying the catalog's own
recorded events (its outbox) with each consumer's handlers or store functions, recorded in their
inboxes as a consumer does, so the same events relayed later change nothing. Clocks are the
services' own: due dates from `WorkingCalendar` as `workflow.transition` keeps them, breaches and
escalations as the SLA check would have recorded them, tracking numbers in the per-day series the
service continues after the load. Nothing is left to send or relay: every message is final.

Everything is drawn from one seeded generator and the day of the load, so the same scale on the
same day (`--today`) gives the same data (ciphertexts aside: their nonces are random).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import hashlib
import importlib.util
import json
import multiprocessing as mp
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import answers, catalog_view, citizens_view, documents_view, numbers
from applications import store as applications_store
from applications.bookings import slots as booking_slots
from applications.bookings import store as bookings_store
from applications.bookings.models import Counter as BookingCounter
from applications.bookings.models import CounterService
from applications.bookings.service import TICKET_ALPHABET
from applications.complaints import store as complaints_store
from applications.complaints.service import AUTO_CLOSE_DAYS, FORWARD_DAYS, RESPONSE_DAYS
from applications.models import Submission
from applications.settings import Settings as ApplicationsSettings
from applications.surveys import store as surveys_store
from applications.workdays import WorkingCalendar
from catalog import seed as catalog_seed
from catalog import store as catalog_store
from catalog.settings import Settings as CatalogSettings
from documents import issuing
from documents import store as documents_store
from documents.outputs import codes as output_codes
from documents.outputs import signing
from documents.outputs import store as outputs_store
from documents.settings import Settings as DocumentsSettings
from mpp_shared import db, events, idempotency, inbox, local, telemetry
from mpp_shared.contracts import Contract, type_of
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCancelled,
    ApplicationCompleted,
    ApplicationRejected,
    ApplicationSubmitted,
    BookingCancelled,
    BookingCreated,
    ComplaintClosed,
    ComplaintFiled,
    ComplaintResponded,
    RevisionRequested,
)
from mpp_shared.contracts.catalog import (
    AgencyUpserted,
    ServicePublished,
    Workflow,
    WorkflowAction,
    WorkflowState,
)
from mpp_shared.contracts.documents import OutputIssued, OutputPinIssued
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.kafka import by_type
from mpp_shared.settings import ServiceSettings
from notifications import store as notifications_store
from notifications.contacts import store as contacts_store
from notifications.models import DEFAULT_CHANNELS, DELIVERED, PERMANENT, TECHNICAL, TEMPORARY
from notifications.settings import Settings as NotificationsSettings
from notifications.templates import placeholders
from notifications.templates import service as templates_service
from notifications.templates import store as templates_store

NAMESPACE = "volume"
# Every loaded account's password (citizens sign in by NIK or phone, staff by username).
PASSWORD = "sinjai-volume-2026"  # noqa: S105 (a benchmark's accounts, local only)
SEED = 7307  # the regency's code: any fixed number gives the same data every time
Settings = TypeVar("Settings", bound=ServiceSettings)
# At scale 1.0: a year of a regency of ~250,000 people.
APPLICATIONS = 60_000
CITIZENS = 40_000
FACTS_BATCH = 10_000  # events whose messages one worker renders at a time
RENDERERS = 2  # worker processes rendering messages: one per core of the machine it is sized for
COPY_BATCH = 50_000
DAYS = 365
# The counters' usual hours (the catalog's seed: 08:00-15:00 local, Monday to Friday).
OPENS, CLOSES = dt.time(8, 0), dt.time(15, 0)
STAFF_ROLES = ("officer", "agency_admin")

# How much of the year's demand each agency draws (the rest 1 each): the civil registry first.
AGENCY_DEMAND = {
    "DISDUKCAPIL": 30,
    "POLRES": 10,
    "SAMSAT": 8,
    "DPMPTSP": 7,
    "KEMENAG": 5,
    "BAPENDA": 5,
    "IMIGRASI": 4,
    "BPJS-KES": 4,
    "KEC-SINJAI-UTARA": 3,
    "DISNAKER": 3,
    "PDAM": 2,
    "PLN": 2,
    "BPN": 2,
}
# Sinjai's nine districts (kecamatan): NIK region codes 73.07.01 .. 73.07.09.
DISTRICTS = [
    "Sinjai Barat",
    "Sinjai Borong",
    "Sinjai Selatan",
    "Tellu Limpoe",
    "Sinjai Timur",
    "Sinjai Tengah",
    "Sinjai Utara",
    "Bulupoddo",
    "Pulau Sembilan",
]
VILLAGES = ["Balangnipa", "Biringere", "Lappa", "Samataring", "Tokinjong", "Bongki", "Alehanuae"]
MEN = [
    "Andi", "Muhammad", "Ahmad", "Abdul", "Syamsul", "Rahman", "Hasan", "Jumardi", "Baharuddin",
    "Arifin", "Ilham", "Irwan", "Fajar", "Rizal", "Haris", "Sudirman", "Kamaruddin", "Mustafa",
]  # fmt: skip
WOMEN = [
    "Sitti", "Nurhayati", "Hasnah", "Fatimah", "Rahmawati", "Nurul", "Hj. Murni", "Suriani",
    "Asriani", "Wahyuni", "Nurjannah", "Hartati", "Kasmawati", "Jumriah", "Rosmini", "Andi Nurul",
]  # fmt: skip
FAMILY = [
    "Rahim", "Salam", "Tahir", "Latif", "Hamid", "Sulaiman", "Baso", "Mappaenre", "Laupe",
    "Daeng Matteru", "Syarif", "Amiruddin", "Nasir", "Yusuf", "Ramli", "Saleh", "Bakri", "Ali",
]  # fmt: skip
MOBILE_PREFIXES = ["812", "813", "821", "822", "823", "852", "853", "851", "857", "856", "877"]
MAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com"]
REVISION_NOTES = [
    "Foto KTP-el buram, mohon unggah ulang yang jelas.",
    "Kartu Keluarga yang diunggah bukan yang terbaru.",
    "Surat pengantar belum ditandatangani kepala desa/lurah.",
    "Berkas terpotong, halaman kedua tidak ada.",
    "Nama pada formulir berbeda dengan KTP-el.",
]
REJECTION_NOTES = [
    "Persyaratan tidak memenuhi ketentuan.",
    "Data pemohon tidak sesuai dengan database kependudukan.",
    "Permohonan ganda; sudah ada permohonan yang sama yang sedang diproses.",
    "Pemohon berada di luar wilayah layanan.",
]
COMPLAINTS = [
    ("waktu_layanan", "Permohonan lewat batas waktu", "Sudah lewat dari waktu yang dijanjikan, "
     "belum ada kabar dari petugas tentang permohonan saya."),
    ("informasi", "Informasi persyaratan membingungkan", "Persyaratan di aplikasi berbeda dengan "
     "yang disampaikan petugas di loket."),
    ("sikap_petugas", "Petugas kurang ramah", "Saat datang ke loket, petugas melayani sambil "
     "bermain HP dan tidak menjelaskan dengan baik."),
    ("sistem", "Aplikasi sulit dibuka", "Aplikasi sering gagal saat mengunggah dokumen dari HP "
     "saya, harus mencoba berkali-kali."),
    ("biaya", "Diminta biaya tambahan", "Ada oknum yang meminta uang tambahan padahal layanan "
     "ini gratis menurut aplikasi."),
]  # fmt: skip
RESPONSES = [
    "Terima kasih atas laporannya. Permohonan Anda sudah kami proses dan dapat diambil.",
    "Mohon maaf atas ketidaknyamanannya. Petugas yang bersangkutan sudah kami tegur.",
    "Kami telah memperbaiki informasi persyaratan pada layanan tersebut.",
]
SURVEY_COMMENTS = [
    "Pelayanan cepat, terima kasih.",
    "Mantap, tidak perlu antre lagi.",
    "Mohon notifikasi SMS lebih cepat.",
    "Petugas ramah dan membantu.",
    "Proses agak lama, tapi hasilnya sesuai.",
]
SCORES = (3, 13, 65, 100)  # surveys' scores 1-4, cumulative weights: mostly satisfied
NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


# --- ids, time and the calendar ----------------------------------------------------------------


def uuid7(rng: random.Random, at: dt.datetime) -> str:
    """A UUIDv7 (sortable by time, as `mpp_shared.ids.new_id` makes them) from the generator."""
    ms = int(at.timestamp() * 1000)
    bits = rng.getrandbits(74)
    value = (ms << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0b10 << 62) | (bits & (2**62 - 1))
    return str(uuid.UUID(int=value))


class Calendar(WorkingCalendar):
    """The applications service's calendar, each day's answer remembered: the load asks it
    millions of times about the same 400 days."""

    @functools.lru_cache(maxsize=1024)  # noqa: B019 (one calendar per load)
    def is_working_day(self, day: dt.date) -> bool:
        return super().is_working_day(day)


class Clock:
    """Working days and opening hours in the mall's time zone, over the year being loaded."""

    def __init__(self, calendar: WorkingCalendar, today: dt.date) -> None:
        self.calendar = calendar
        self.zone = calendar.zone
        # The load ends at the start of `today` (local): every fact happened before it.
        self.end = self.local(today, dt.time(0, 0))
        first = today - dt.timedelta(days=DAYS)
        self.days = [
            first + dt.timedelta(days=n)
            for n in range(DAYS)
            if calendar.is_working_day(first + dt.timedelta(days=n))
        ]

    def local(self, day: dt.date, at: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, at, tzinfo=self.zone).astimezone(dt.UTC)

    def date(self, moment: dt.datetime) -> dt.date:
        return self.calendar.local_date(moment)

    def during(
        self, rng: random.Random, day: dt.date, after: dt.datetime | None = None
    ) -> dt.datetime:
        """A moment of `day`'s opening hours (after `after`), to the second; None-safe."""
        opens, closes = self.local(day, OPENS), self.local(day, CLOSES)
        if after is not None and after + dt.timedelta(minutes=2) > opens:
            opens = after + dt.timedelta(minutes=2)
        if opens >= closes:
            return self.during(rng, self.next_working(day), None)
        span = (closes - opens).total_seconds()
        # Mornings are busier than afternoons.
        moment = opens + dt.timedelta(seconds=int(span * rng.random() ** 1.3))
        return moment.replace(microsecond=0)

    def next_working(self, day: dt.date, count: int = 1) -> dt.date:
        counted = 0
        while counted < count:
            day += dt.timedelta(days=1)
            if self.calendar.is_working_day(day):
                counted += 1
        return day

    def after(self, rng: random.Random, moment: dt.datetime, working_days: int) -> dt.datetime:
        """A moment within opening hours `working_days` after `moment` (0: later that day, or the
        next working day if it is over)."""
        day = self.date(moment)
        if working_days or not self.calendar.is_working_day(day):
            day = self.next_working(day, max(working_days, 1))
            return self.during(rng, day)
        return self.during(rng, day, after=moment)


# --- the catalog, as its events tell it ---------------------------------------------------------


def form_nik(key: str) -> str:
    """A NIK of Sinjai drawn from `key` (the same key, the same NIK) that the forms' NIK rule
    accepts: a district of the regency, a past birth date (day + 40 for women), a serial. For
    form answers of citizens whose real NIK is kept encrypted."""
    draw = random.Random(hashlib.sha256(key.encode()).digest())  # noqa: S311 (nothing secret)
    born = dt.date(1950, 1, 1) + dt.timedelta(days=draw.randrange(365 * 57))
    day = born.day + (40 if draw.random() < 0.52 else 0)
    district = draw.randrange(1, len(DISTRICTS) + 1)
    return nik_digits(district, day, born, draw.randrange(1, 10_000))


def nik_digits(district: int, day: int, born: dt.date, serial: int) -> str:
    """A Sinjai NIK: regency 7307, the district, the birth day (+ 40 for women), month, year."""
    return f"7307{district:02d}{day:02d}{born:%m%y}{serial:04d}"


@dataclass
class Flow:
    """A service's published version and the paths through its workflow."""

    service: ServicePublished
    workflow: Workflow
    states: dict[str, WorkflowState]
    happy: list[WorkflowAction]
    revise: WorkflowAction | None
    resubmit: WorkflowAction | None
    rejects: dict[str, WorkflowAction]
    cancels: dict[str, WorkflowAction]
    offers: list[tuple[BookingCounter, CounterService]]
    revise_at: int = -1  # the step of the happy path before which officers ask for a revision
    weight: float = 1.0


def flow_of(service: ServicePublished, agency: AgencyUpserted | None, weight: float) -> Flow | None:
    """The paths of a service's workflow: to completion, through a revision, to a refusal."""
    workflow = service.workflow
    if workflow is None or not {"online", "booking"} & set(service.channels):
        return None
    states = {s.code: s for s in workflow.states}
    # The shortest path of staff (or system) actions to `completed`, through unpaused states.
    paths: dict[str, list[WorkflowAction]] = {workflow.initial_state: []}
    frontier = [workflow.initial_state]
    while frontier:
        here = frontier.pop(0)
        for action in workflow.actions:
            target = states.get(action.to_state)
            if here not in action.from_states or target is None or action.to_state in paths:
                continue
            if target.pauses_sla or "citizen" in action.roles:
                continue
            if target.terminal and target.code != "completed":
                continue
            paths[action.to_state] = [*paths[here], action]
            frontier.append(action.to_state)
    if "completed" not in paths:
        return None
    pausing = {s.code for s in workflow.states if s.pauses_sla}
    revise = next((a for a in workflow.actions if a.to_state in pausing), None)
    resubmit = next(
        (
            a
            for a in workflow.actions
            if revise and revise.to_state in a.from_states and not states[a.to_state].terminal
        ),
        None,
    )
    rejects = {s: a for a in workflow.actions if a.to_state == "rejected" for s in a.from_states}
    cancels = {s: a for a in workflow.actions if a.to_state == "cancelled" for s in a.from_states}
    before = [workflow.initial_state, *(a.to_state for a in paths["completed"])]
    revise_at = max(
        (n for n, state in enumerate(before[:-1]) if revise and state in revise.from_states),
        default=-1,
    )
    visits = "awaiting_visit" in states and "booking" in service.channels
    return Flow(
        service=service,
        revise_at=revise_at,
        workflow=workflow,
        states=states,
        happy=paths["completed"],
        revise=revise,
        resubmit=resubmit,
        rejects=rejects,
        cancels=cancels,
        offers=booking_slots.offers(agency, service) if visits else [],
        weight=weight,
    )


# --- what happened, generated ------------------------------------------------------------------


@dataclass
class Citizen:
    id: str
    name: str
    nik: str
    phone: str
    email: str | None
    language: Literal["id", "en"]
    female: bool
    registered_at: dt.datetime = NEVER
    wants_sms: bool = True
    wants_whatsapp: bool = False
    documents: dict[str, str] = field(default_factory=dict)  # document kind -> id to reuse


@dataclass
class Fact:
    """An event one service recorded, as far as the notifications service reads it."""

    id: str
    type: str
    time: dt.datetime
    citizen: Citizen
    data: dict[str, Any]


@dataclass
class Volume:
    """Every row of every service, by table, and the events messages are made from."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    facts: list[Fact] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, **row: Any) -> dict[str, Any]:
        self.rows[table].append(row)
        return row


class Generator:
    """Draws a year of the mall from one seeded generator."""

    def __init__(
        self,
        *,
        rng: random.Random,
        seed: int,
        clock: Clock,
        flows: list[Flow],
        settings: ApplicationsSettings,
        documents_settings: DocumentsSettings,
        agency_names: dict[str, tuple[str, str]],
        scale: float,
    ) -> None:
        self.rng = rng
        self.seed = seed
        self.clock = clock
        self.flows = flows
        self.settings = settings
        self.documents_settings = documents_settings
        self.keys = issuing.keys_of(documents_settings)
        self.answers_vault = answers.vault_of(settings)
        self.scale = scale
        self.out = Volume()
        self.citizens: list[Citizen] = []
        self.officers: dict[str, list[str]] = {}
        self.seats: Counter[tuple[str, str]] = Counter()
        self.tickets: set[str] = set()
        self.niks: set[str] = set()
        self.phones: set[str] = set()
        self.mpp_admin = uuid7(rng, clock.end - dt.timedelta(days=DAYS + 30))
        self.agency_names = agency_names
        self.by_id: dict[str, Citizen] = {}
        self.issued: set[str] = set()
        self.linked: set[tuple[str, str]] = set()
        self.booked_days: set[tuple[str, str, dt.date]] = set()

    # --- people -------------------------------------------------------------------------------

    def make_citizens(self, count: int) -> None:
        rng = self.rng
        for _ in range(count):
            female = rng.random() < 0.52
            given = rng.choice(WOMEN if female else MEN)
            name = f"{given} {rng.choice(FAMILY)}"
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 57))
            nik = self._nik(born, female)
            phone = self._phone()
            email = None
            if rng.random() < 0.3:
                handle = name.lower().replace("hj. ", "").replace(" ", rng.choice([".", "", "_"]))
                email = f"{handle}{rng.randrange(1, 999)}@{rng.choice(MAIL_DOMAINS)}"
            self.citizens.append(
                Citizen(
                    id="",
                    name=name,
                    nik=nik,
                    phone=phone,
                    email=email,
                    language="en" if rng.random() < 0.01 else "id",
                    female=female,
                    wants_sms=rng.random() < 0.9,
                    wants_whatsapp=rng.random() < 0.3,
                )
            )

    def _nik(self, born: dt.date, female: bool) -> str:
        while True:
            district = self.rng.randrange(1, len(DISTRICTS) + 1)
            day = born.day + (40 if female else 0)
            serial = self.rng.randrange(1, 10_000)
            nik = nik_digits(district, day, born, serial)
            if nik not in self.niks:
                self.niks.add(nik)
                return nik

    def _phone(self) -> str:
        while True:
            digits = (
                self.rng.randrange(10**7, 10**8)
                if self.rng.random() < 0.3
                else (self.rng.randrange(10**8, 10**9))
            )
            phone = f"+62{self.rng.choice(MOBILE_PREFIXES)}{digits}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def officers_of(self, agency: str) -> list[str]:
        if agency not in self.officers:
            hired = self.clock.end - dt.timedelta(days=DAYS + 20)
            self.officers[agency] = [uuid7(self.rng, hired) for _ in range(4)]
        return self.officers[agency]

    # --- the year -----------------------------------------------------------------------------

    def submissions(self, count: int) -> list[tuple[dt.datetime, Flow, Citizen]]:
        """When, for which service and by whom each application was made, in time order."""
        rng, days = self.rng, self.clock.days
        # Use of the mall grows over its first year; Mondays are busier.
        weights = [
            (0.55 + 0.75 * n / len(days)) * (1.25 if day.weekday() == 0 else 1.0)
            for n, day in enumerate(days)
        ]
        chosen_days = rng.choices(days, weights=weights, k=count)
        flows = rng.choices(self.flows, weights=[f.weight for f in self.flows], k=count)
        # A few citizens apply often (businesses, village officials), most once or twice.
        people = rng.choices(
            self.citizens,
            weights=[1 / (1 + n % 97) ** 0.6 for n in range(len(self.citizens))],
            k=count,
        )
        moments = sorted(self.clock.during(rng, day) for day in chosen_days)
        return list(zip(moments, flows, people, strict=True))

    def register(self, citizen: Citizen, first_use: dt.datetime | None) -> None:
        """Registration: before the first application, or any time in the year."""
        start = self.clock.local(self.clock.days[0], OPENS)
        if first_use is None:
            moment = start + (self.clock.end - start) * self.rng.random()
        else:
            moment = first_use - dt.timedelta(minutes=self.rng.randrange(3, 60 * 24 * 20))
            moment = max(moment, start - dt.timedelta(days=self.rng.randrange(1, 30)))
        citizen.registered_at = moment.replace(microsecond=0)
        citizen.id = uuid7(self.rng, citizen.registered_at)
        otp = OtpRequested(
            phone=citizen.phone,
            code=f"{self.rng.randrange(10**6):06d}",
            purpose="verify_phone",
            language=citizen.language,
            expires_at=citizen.registered_at + dt.timedelta(minutes=5),
            citizen_id=citizen.id,
        )
        self.fact("identity.otp.requested.v1", citizen.registered_at, citizen, otp)

    def fact(self, kind: str, at: dt.datetime, citizen: Citizen, data: Contract) -> None:
        self.out.facts.append(
            Fact(uuid7(self.rng, at), kind, at, citizen, data.model_dump(mode="json"))
        )

    def run(self) -> Volume:
        count = max(1, round(APPLICATIONS * self.scale))
        self.make_citizens(max(1, round(CITIZENS * self.scale)))
        made = self.submissions(count)
        first: dict[int, dt.datetime] = {}
        for moment, _, citizen in made:
            first.setdefault(id(citizen), moment)
        for citizen in self.citizens:
            self.register(citizen, first.get(id(citizen)))
        self.by_id = {c.id: c for c in self.citizens}
        for moment, flow, citizen in made:
            self.application(moment, flow, citizen)
        self.complaints()
        self.out.facts.sort(key=lambda f: f.time)
        return self.out

    # --- one application ----------------------------------------------------------------------

    def application(self, submitted: dt.datetime, flow: Flow, citizen: Citizen) -> None:
        rng, clock, calendar = self.rng, self.clock, self.clock.calendar
        service, workflow = flow.service, flow.workflow
        key = uuid7(rng, submitted)
        application_id = idempotency.command_id(scope=f"citizen:{citizen.id}:applications", key=key)
        form = form_for(rng, service.form_schema, citizen, clock.date(submitted))
        documents = self.attach_documents(flow, citizen, submitted)
        series = f"{self.settings.regency_code}-{service.agency}-{clock.date(submitted):%Y%m%d}"
        self.out.counters[series] += 1
        tracking = f"{series}-{self.out.counters[series]:06d}"
        first = flow.states[workflow.initial_state]
        overall_due = calendar.add(submitted, workflow.sla_days)
        state_due = calendar.add(submitted, first.sla_days) if first.sla_days is not None else None
        app: dict[str, Any] = {
            "id": application_id,
            "tracking_number": tracking,
            "check_code": check_code(rng),
            "citizen_id": citizen.id,
            "idempotency_key": key,
            "request_fingerprint": answers.fingerprint(
                self.answers_vault,
                Submission(service=service.slug, form=form, documents=documents),
            ),
            "service_id": service.service_id,
            "service_slug": service.slug,
            "service_version": service.version,
            "agency": service.agency,
            "state": first.code,
            "open": not first.terminal,
            # Sensitive answers (NIKs) sealed as the service stores them.
            "form": answers.seal(
                form,
                fields=answers.sensitive_fields(service.form_schema),
                vault=self.answers_vault,
                application_id=application_id,
            ),
            "documents": documents,
            "submitted_at": submitted,
            "updated_at": submitted,
            "state_entered_at": submitted,
            "state_due_at": state_due,
            "overall_due_at": overall_due,
            "due_at": earliest(state_due, overall_due),
            "paused_at": None,
            "completed_at": None,
            "breaches": [],
            "escalated": False,
            "version": 1,
        }
        history = [self.line(submitted, "submit", citizen.id, "citizen", None, first.code, None)]
        self.links(app, all_ids(documents))
        self.fact(
            "applications.application.submitted.v1",
            submitted,
            citizen,
            ApplicationSubmitted(**facts_of(app), document_ids=all_ids(documents)),
        )
        officer = rng.choice(self.officers_of(service.agency))
        for action, moment, actor, note in self.plan(flow, app, citizen, officer):
            if not self.clocks_until(flow, app, history, moment):
                break  # issued by the system on expiry, or still open at the end of the load
            self.move(flow, app, history, action.code, action.to_state, moment, actor, note)
            if action.code == flow.happy[0].code:
                self.read_documents(app, officer, moment)
        self.out.add("applications", **app)
        for line in history:
            self.out.add("application_history", application_id=application_id, **line)
        if app["state"] == "completed" and rng.random() < 0.34:
            self.survey(app, citizen)

    def plan(
        self, flow: Flow, app: dict[str, Any], citizen: Citizen, officer: str
    ) -> Iterator[tuple[WorkflowAction, dt.datetime, tuple[str, str], str | None]]:
        """The actions taken on an application, each when it is taken; stops when it ends."""
        rng, clock = self.rng, self.clock
        staff = (officer, "agency_admin" if rng.random() < 0.05 else "officer")
        late_step = rng.randrange(len(flow.happy)) if rng.random() < 0.07 else -1
        fate = rng.random()
        revisions = 1 if rng.random() < 0.12 else 0
        moment = app["submitted_at"]
        step = 0
        while step < len(flow.happy):
            here = app["state"]
            if step == 0 and fate > 0.96 and here in flow.cancels:
                # The citizen withdraws before the agency looks at it.
                yield (
                    flow.cancels[here],
                    clock.after(rng, moment, rng.randrange(0, 3)),
                    (citizen.id, "citizen"),
                    None,
                )
                return
            if revisions and flow.revise and step == flow.revise_at:
                revisions -= 1
                moment = clock.after(rng, moment, rng.randrange(0, 2))
                yield flow.revise, moment, staff, rng.choice(REVISION_NOTES)
                if fate > 0.999 or flow.resubmit is None:
                    return  # never answered: waits, paused, for the citizen
                moment = clock.after(rng, moment, rng.randrange(0, 6))
                if fate > 0.985 and app["state"] in flow.cancels:
                    yield flow.cancels[app["state"]], moment, (citizen.id, "citizen"), None
                    return
                self.replace_document(app, citizen, moment)
                yield flow.resubmit, moment, (citizen.id, "citizen"), None
                step = 0
                continue
            action = flow.happy[step]
            sla = flow.states[here].sla_days
            days = rng.randrange(0, (sla or 0) + 1) if sla is not None else rng.randrange(0, 3)
            if step == late_step:
                days = (sla or 0) + rng.randrange(1, 4)
            if 0.90 < fate <= 0.96 and here in flow.rejects and step == len(flow.happy) - 2:
                yield (
                    flow.rejects[here],
                    clock.after(rng, moment, days),
                    staff,
                    rng.choice(REJECTION_NOTES),
                )
                return
            # A counter visit completes at its booked slot; other steps take their time.
            visit = (
                self.visit(flow, app, citizen, moment) if action.to_state == "completed" else None
            )
            moment = visit or clock.after(rng, moment, days)
            yield action, moment, staff, None
            step += 1

    def clocks_until(
        self, flow: Flow, app: dict[str, Any], history: list[dict[str, Any]], moment: dt.datetime
    ) -> bool:
        """Run the SLA clock check up to `moment` (or the end of the load, if sooner): breaches
        raised once, expiring auto-issue applications completed. True when `moment` comes."""
        until = min(moment, self.clock.end)
        state = flow.states[app["state"]]
        if app["open"] and not state.pauses_sla:
            found = []
            state_due = app["state_due_at"]
            if state_due is not None and until > state_due:
                found.append(f"state:{app['state']}:{app['state_entered_at'].isoformat()}")
            if until > app["overall_due_at"] and "overall" not in app["breaches"]:
                found.append("overall")
            for breach in found:  # one clock check each, a minute after its deadline
                app["breaches"] = [*app["breaches"], breach]
                app["escalated"] = True
                app["version"] += 1
            expired = until > app["overall_due_at"]
            if expired and flow.workflow.auto_issue_on_expiry:
                at = app["overall_due_at"] + dt.timedelta(seconds=self.rng.randrange(20, 80))
                if at < self.clock.end:
                    self.move(
                        flow,
                        app,
                        history,
                        "auto_complete",
                        "completed",
                        at,
                        ("system", "system"),
                        None,
                        automatic=True,
                    )
                return False
        return moment < self.clock.end

    def move(
        self,
        flow: Flow,
        app: dict[str, Any],
        history: list[dict[str, Any]],
        action: str,
        target: str,
        now: dt.datetime,
        actor: tuple[str, str],
        note: str | None,
        *,
        automatic: bool = False,
    ) -> None:
        """`applications.workflow.transition`, as it changes the row and what it records."""
        calendar = self.clock.calendar
        leaving, entering = flow.states[app["state"]], flow.states[target]
        overall_due = app["overall_due_at"]
        if leaving.pauses_sla and app["paused_at"]:
            overall_due = calendar.add(overall_due, calendar.between(app["paused_at"], now))
        paused = entering.pauses_sla
        state_due = (
            calendar.add(now, entering.sla_days)
            if entering.sla_days is not None and not paused and not entering.terminal
            else None
        )
        app.update(
            state=entering.code,
            open=not entering.terminal,
            updated_at=now,
            state_entered_at=now,
            state_due_at=state_due,
            overall_due_at=overall_due,
            paused_at=now if paused else None,
            due_at=None if paused or entering.terminal else earliest(state_due, overall_due),
            version=app["version"] + 1,
        )
        if entering.code == "completed":
            app["completed_at"] = now
        history.append(self.line(now, action, actor[0], actor[1], leaving.code, target, note))
        citizen = self.by_id[app["citizen_id"]]
        electronic = flow.service.electronic_output
        specific: dict[str, tuple[type[Contract], dict[str, Any]]] = {
            "revision_requested": (RevisionRequested, {"note": note or ""}),
            "approved": (ApplicationApproved, {"electronic_output": electronic}),
            "rejected": (ApplicationRejected, {"reason": note or ""}),
            "completed": (
                ApplicationCompleted,
                {"electronic_output": electronic, "automatic": automatic},
            ),
            "cancelled": (ApplicationCancelled, {}),
        }
        if entering.code in specific:
            contract, extra = specific[entering.code]
            self.fact(
                f"applications.application.{entering.code}.v1",
                now + dt.timedelta(seconds=1),
                citizen,
                contract(**facts_of(app), **extra),
            )
        if electronic and entering.code in ("approved", "completed"):
            self.output(flow, app, citizen, now)

    @staticmethod
    def line(
        at: dt.datetime,
        action: str,
        actor: str,
        role: str,
        source: str | None,
        target: str,
        note: str | None,
    ) -> dict[str, Any]:
        return {
            "at": at,
            "action": action,
            "actor": actor,
            "actor_role": role,
            "from_state": source,
            "to_state": target,
            "note": note,
        }

    # --- documents ----------------------------------------------------------------------------

    def new_document(
        self,
        citizen: Citizen,
        service: ServicePublished,
        code: str,
        formats: list[str],
        at: dt.datetime,
    ) -> str:
        rng = self.rng
        fmt = rng.choice([f for f in formats if f in CONTENT_TYPES] or ["pdf"])
        document_id = idempotency.command_id(
            scope=f"citizen:{citizen.id}:documents", key=uuid7(rng, at)
        )
        extension = "jpg" if fmt == "jpeg" else fmt
        size = rng.randrange(60_000, 2_400_000)
        self.out.add(
            "documents",
            id=document_id,
            owner=citizen.id,
            status="available",
            filename=f"{code}_{rng.randrange(1000, 9999)}.{extension}",
            service=service.slug,
            requirement=code,
            content_type=CONTENT_TYPES[fmt],
            size=size,
            declared_size=None,
            sha256=f"{rng.getrandbits(256):064x}",
            object_key=f"documents/{citizen.id}/{document_id}",
            upload_key=None,
            attached=True,
            reason=None,
            reason_id=None,
            created_at=at,
            updated_at=at,
        )
        self.out.add(
            "citizen_documents",
            document_id=document_id,
            owner=citizen.id,
            status="available",
            content_type=CONTENT_TYPES[fmt],
            requirement=code,
            reason=None,
        )
        return document_id

    def attach_documents(
        self, flow: Flow, citizen: Citizen, submitted: dt.datetime
    ) -> dict[str, list[str]]:
        """A document per requirement (optional ones sometimes): identity papers uploaded once
        are attached again, the rest uploaded just before submitting."""
        rng, chosen = self.rng, {}
        for requirement in flow.service.requirements:
            if not requirement.mandatory and rng.random() < 0.75:
                continue
            kind = requirement.document_kinds[0] if requirement.document_kinds else ""
            reused = citizen.documents.get(kind) if kind in ("ktp_el", "kk") else None
            if reused is not None and rng.random() < 0.85:
                chosen[requirement.code] = [reused]
                continue
            at = submitted - dt.timedelta(seconds=rng.randrange(40, 1800))
            document_id = self.new_document(
                citizen, flow.service, requirement.code, requirement.formats, at
            )
            citizen.documents.setdefault(kind, document_id)
            chosen[requirement.code] = [document_id]
        return chosen

    def replace_document(self, app: dict[str, Any], citizen: Citizen, at: dt.datetime) -> None:
        """On resubmission the citizen replaces the document the officer asked about."""
        if not app["documents"]:
            return
        code = self.rng.choice(sorted(app["documents"]))
        flow = next(f for f in self.flows if f.service.service_id == app["service_id"])
        requirement = next(r for r in flow.service.requirements if r.code == code)
        upload = at - dt.timedelta(seconds=self.rng.randrange(30, 600))
        new = self.new_document(citizen, flow.service, code, requirement.formats, upload)
        app["documents"] = {**app["documents"], code: [new]}
        self.links(app, [new])

    def links(self, app: dict[str, Any], document_ids: Iterable[str]) -> None:
        for document_id in dict.fromkeys(document_ids):
            if (document_id, app["id"]) in self.linked:
                continue
            self.linked.add((document_id, app["id"]))
            self.out.add(
                "document_links",
                document_id=document_id,
                application_id=app["id"],
                agency=app["agency"],
            )

    def read_documents(self, app: dict[str, Any], officer: str, at: dt.datetime) -> None:
        """The officer opens each attached document when starting on the application."""
        for document_id in all_ids(app["documents"]):
            self.out.add(
                "document_access",
                id=uuid7(self.rng, at),
                document_id=document_id,
                owner=app["citizen_id"],
                actor=officer,
                actor_role="officer",
                actor_agency=app["agency"],
                action="download",
                at=at,
            )

    def output(self, flow: Flow, app: dict[str, Any], citizen: Citizen, at: dt.datetime) -> None:
        """The issued output of an electronic service, once (its PDF is not made: no blobs)."""
        output_id = idempotency.derived_id(app["id"], "output")
        if output_id in self.issued:
            return
        self.issued.add(output_id)
        issued_at = at + dt.timedelta(seconds=2)
        alphabet = output_codes.ALPHABET
        bare = "".join(self.rng.choice(alphabet) for _ in range(output_codes.CODE_LENGTH))
        code = "-".join(bare[i : i + output_codes.GROUP_LENGTH] for i in range(0, len(bare), 4))
        # The signature is the regency key's, over a stand-in for the PDF that is not rendered.
        signature = signing.sign(f"{output_id}:{code}".encode(), self.keys.private)
        pin = f"{self.rng.randrange(10**6):06d}"
        service = flow.service
        self.out.add(
            "outputs",
            id=output_id,
            application_id=app["id"],
            tracking_number=app["tracking_number"],
            citizen_id=citizen.id,
            service_id=service.service_id,
            agency=service.agency,
            service_name_id=service.name.id,
            service_name_en=service.name.en,
            agency_name_id=self.agency_names[service.agency][0],
            agency_name_en=self.agency_names[service.agency][1],
            holder_masked=output_codes.mask_name(citizen.name),
            verification_code=code,
            object_key=f"outputs/{output_id}/{code}.pdf",
            sha256=signature.sha256,
            signature=signature.signature,
            key_id=signature.key_id,
            algorithm=signature.algorithm,
            pin_hash=self.keys.pin_hash(output_id, pin),
            pin_failures=0,
            status="valid",
            issued_at=issued_at,
            valid_until=None,
            revoked_at=None,
            revoked_reason=None,
        )
        self.fact(
            "documents.output.issued.v1",
            issued_at,
            citizen,
            OutputIssued(
                output_id=output_id,
                application_id=app["id"],
                tracking_number=app["tracking_number"],
                citizen_id=citizen.id,
                service_id=service.service_id,
                agency=service.agency,
                verification_code=code,
                issued_at=issued_at,
            ),
        )
        self.fact(
            "documents.output.pin_issued.v1",
            issued_at,
            citizen,
            OutputPinIssued(
                output_id=output_id,
                application_id=app["id"],
                tracking_number=app["tracking_number"],
                citizen_id=citizen.id,
                verification_code=code,
                verify_url=issuing.verify_url(self.documents_settings, code),
                pin=pin,
            ),
        )

    # --- counter visits -----------------------------------------------------------------------

    def visit(
        self, flow: Flow, app: dict[str, Any], citizen: Citizen, verified: dt.datetime
    ) -> dt.datetime | None:
        """Book a seat at a counter after verification; the visit is when it completes."""
        if not flow.offers:
            return None
        rng, clock = self.rng, self.clock
        booked_at = verified + dt.timedelta(minutes=rng.randrange(5, 600))
        if booked_at >= clock.end:
            return None
        if rng.random() < 0.08:  # booked, then cancelled and booked again
            first = self.book(flow, app, citizen, booked_at, cancelled=True)
            if first is not None:
                booked_at += dt.timedelta(minutes=rng.randrange(10, 240))
        slot = self.book(flow, app, citizen, booked_at)
        if slot is None:
            return None
        return slot + dt.timedelta(minutes=rng.randrange(3, 25), seconds=rng.randrange(60))

    def book(
        self,
        flow: Flow,
        app: dict[str, Any],
        citizen: Citizen,
        at: dt.datetime,
        *,
        cancelled: bool = False,
    ) -> dt.datetime | None:
        rng, clock = self.rng, self.clock
        day = clock.date(at)
        service = flow.service
        for _ in range(booking_slots.WINDOW_DAYS):
            day = day if clock.calendar.is_working_day(day) else clock.next_working(day)
            free = [
                (counter, plan)
                for counter, offer in flow.offers
                for plan in booking_slots.day_slots(counter, offer, day, calendar=clock.calendar)
                if plan.seats
                and plan.starts_at > at + dt.timedelta(minutes=30)
                and self.seats[(booking_slots.day_key(service, counter.code, day), plan.label)]
                < plan.seats
            ]
            taken = (citizen.id, service.service_id, day) in self.booked_days
            if free and not taken:
                break
            day = clock.next_working(day)
        else:
            return None
        counter, plan = rng.choice(free[: max(1, len(free) // 2)])
        key = booking_slots.day_key(service, counter.code, day)
        booking_id = idempotency.command_id(
            scope=f"citizen:{citizen.id}:bookings", key=uuid7(rng, at)
        )
        while True:
            suffix = "".join(rng.choice(TICKET_ALPHABET) for _ in range(4))
            ticket = f"{plan.counter}-{plan.label}-{suffix}"
            if ticket not in self.tickets:
                self.tickets.add(ticket)
                break
        starts, ends = plan.starts_at.astimezone(dt.UTC), plan.ends_at.astimezone(dt.UTC)
        row = self.out.add(
            "bookings",
            id=booking_id,
            ticket_code=ticket,
            state="booked",
            citizen_id=citizen.id,
            idempotency_key=None,
            request_fingerprint=None,
            service_id=service.service_id,
            service_slug=service.slug,
            service_name=service.name.model_dump(),
            agency=service.agency,
            counter=counter.code,
            counter_name=counter.name.model_dump(),
            date=day,
            starts_at=starts,
            ends_at=ends,
            application_id=app["id"],
            created_at=at,
            updated_at=at,
            cancelled_at=None,
            version=1,
        )
        facts = {
            "booking_id": booking_id,
            "citizen_id": citizen.id,
            "service_id": service.service_id,
            "agency": service.agency,
            "counter": counter.code,
            "date": day,
            "starts_at": plan.starts_at,
        }
        self.fact(
            "applications.booking.created.v1",
            at,
            citizen,
            BookingCreated(**facts, ticket_code=ticket, application_id=app["id"]),
        )
        if cancelled:
            gone = at + dt.timedelta(minutes=rng.randrange(5, 120))
            row.update(state="cancelled", cancelled_at=gone, updated_at=gone, version=2)
            self.fact("applications.booking.cancelled.v1", gone, citizen, BookingCancelled(**facts))
            return starts
        self.seats[(key, plan.label)] += 1
        self.booked_days.add((citizen.id, service.service_id, day))
        self.out.add(
            "booking_seats",
            day_key=key,
            slot=plan.label,
            seat=self.seats[(key, plan.label)],
            booking_id=booking_id,
        )
        return starts

    # --- surveys and complaints ---------------------------------------------------------------

    def survey(self, app: dict[str, Any], citizen: Citizen) -> None:
        rng = self.rng
        at = app["completed_at"] + dt.timedelta(minutes=rng.randrange(2, 60 * 24 * 4))
        if at >= self.clock.end:
            return
        drawn = rng.choices((1, 2, 3, 4), cum_weights=SCORES, k=9)
        scores = {f"u{n}": score for n, score in enumerate(drawn, start=1)}
        self.out.add(
            "surveys",
            application_id=app["id"],
            citizen_id=citizen.id,
            service_id=app["service_id"],
            service_slug=app["service_slug"],
            service_version=app["service_version"],
            agency=app["agency"],
            **scores,
            comment=rng.choice(SURVEY_COMMENTS) if rng.random() < 0.12 else None,
            submitted_at=at.replace(microsecond=0),
        )

    def complaints(self) -> None:
        """About 1% of applications draw a complaint: forwarded, answered, closed, on the
        SP4N-LAPOR! clocks."""
        rng, clock, calendar = self.rng, self.clock, self.clock.calendar
        settled = [a for a in self.out.rows["applications"] if not a["open"]]
        chosen = rng.sample(settled, k=min(len(settled), round(len(settled) * 0.01)))
        chosen.sort(key=lambda a: a["updated_at"])
        filings = []
        for app in chosen:
            filed = clock.after(rng, app["updated_at"], rng.randrange(0, 8))
            if filed < clock.end:
                filings.append((filed, app))
        for filed, app in sorted(filings, key=lambda f: f[0]):
            self.complaint(filed, app, rng, clock, calendar)

    def complaint(
        self,
        filed: dt.datetime,
        app: dict[str, Any],
        rng: random.Random,
        clock: Clock,
        calendar: WorkingCalendar,
    ) -> None:
        citizen = self.by_id[app["citizen_id"]]
        category, subject, description = rng.choice(COMPLAINTS)
        series = f"ADU-{self.settings.regency_code}-{clock.date(filed):%Y%m%d}"
        self.out.counters[series] += 1
        complaint_id = idempotency.command_id(
            scope=f"citizen:{citizen.id}:complaints", key=uuid7(rng, filed)
        )
        forward_due = calendar.add(filed, FORWARD_DAYS)
        row: dict[str, Any] = {
            "id": complaint_id,
            "tracking_id": f"{series}-{self.out.counters[series]:06d}",
            "check_code": check_code(rng),
            "citizen_id": citizen.id,
            "idempotency_key": None,
            "request_fingerprint": None,
            "application_id": app["id"],
            "agency": app["agency"],
            "subject": subject,
            "description": description,
            "category": category,
            "state": "received",
            "open": True,
            "filed_at": filed,
            "updated_at": filed,
            "forward_due_at": forward_due,
            "forwarded_at": None,
            "response_due_at": None,
            "responded_at": None,
            "closes_at": None,
            "closed_at": None,
            "due_at": forward_due,
            "overdue": False,
            "version": 1,
        }
        lines = [complaint_line(filed, "file", citizen.id, "citizen", "received", None)]
        self.fact(
            "applications.complaint.filed.v1", filed, citizen, complaint_facts(ComplaintFiled, row)
        )
        officer = rng.choice(self.officers_of(app["agency"]))

        def step(at: dt.datetime, overdue_action: str) -> bool:
            """The clock notes a missed deadline once; True when `at` is within the load."""
            due = row["due_at"]
            if due is not None and min(at, clock.end) > due and not row["overdue"]:
                noted = due + dt.timedelta(seconds=rng.randrange(20, 80))
                row.update(overdue=True, version=row["version"] + 1)
                lines.append(
                    complaint_line(noted, overdue_action, "system", "system", row["state"], None)
                )
            return at < clock.end

        forwarded = clock.after(rng, filed, rng.randrange(0, 4))
        if step(forwarded, "forward_overdue"):
            response_due = calendar.add(forwarded, RESPONSE_DAYS)
            row.update(
                state="forwarded",
                agency=app["agency"],
                forwarded_at=forwarded,
                response_due_at=response_due,
                due_at=response_due,
                overdue=False,
                updated_at=forwarded,
                version=row["version"] + 1,
            )
            lines.append(
                complaint_line(forwarded, "forward", self.mpp_admin, "mpp_admin", "forwarded", None)
            )
            responded = clock.after(rng, forwarded, rng.randrange(0, 6))
            if step(responded, "response_overdue"):
                closes = calendar.add(responded, AUTO_CLOSE_DAYS)
                row.update(
                    state="responded",
                    responded_at=responded,
                    closes_at=closes,
                    due_at=None,
                    overdue=False,
                    updated_at=responded,
                    version=row["version"] + 1,
                )
                message = rng.choice(RESPONSES)
                lines.append(
                    complaint_line(responded, "respond", officer, "officer", "responded", message)
                )
                self.fact(
                    "applications.complaint.responded.v1",
                    responded,
                    citizen,
                    complaint_facts(ComplaintResponded, row),
                )
                by_citizen = rng.random() < 0.3
                closed = (
                    clock.after(rng, responded, rng.randrange(0, 4))
                    if by_citizen
                    else closes + dt.timedelta(seconds=rng.randrange(20, 80))
                )
                if closed < clock.end:
                    row.update(
                        state="closed",
                        open=False,
                        closed_at=closed,
                        closes_at=None,
                        due_at=None,
                        overdue=False,
                        updated_at=closed,
                        version=row["version"] + 1,
                    )
                    who = (citizen.id, "citizen") if by_citizen else ("system", "system")
                    action = "close" if by_citizen else "auto_close"
                    lines.append(complaint_line(closed, action, *who, "closed", None))
                    self.fact(
                        "applications.complaint.closed.v1",
                        closed,
                        citizen,
                        complaint_facts(ComplaintClosed, row, automatic=not by_citizen),
                    )
        self.out.add("complaints", **row)
        for line in lines:
            self.out.add("complaint_timeline", complaint_id=complaint_id, **line)


def complaint_line(
    at: dt.datetime, action: str, actor: str, role: str, state: str, message: str | None
) -> dict[str, Any]:
    return {
        "at": at,
        "action": action,
        "actor": actor,
        "actor_role": role,
        "state": state,
        "message": message,
    }


def complaint_facts(contract: type[Contract], row: dict[str, Any], **extra: Any) -> Contract:
    due = row["closes_at"] if row["state"] == "responded" else row["due_at"]
    return contract(
        complaint_id=row["id"],
        tracking_id=row["tracking_id"],
        state=row["state"],
        agency=row["agency"],
        application_id=row["application_id"],
        citizen_id=row["citizen_id"],
        due_at=due,
        **extra,
    )


def earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def all_ids(documents: dict[str, list[str]]) -> list[str]:
    return [d for ids in documents.values() for d in ids]


def facts_of(app: dict[str, Any]) -> dict[str, Any]:
    """`applications.service.facts_of` of the row being built."""
    return {
        "application_id": app["id"],
        "tracking_number": app["tracking_number"],
        "service_id": app["service_id"],
        "service_version": app["service_version"],
        "agency": app["agency"],
        "citizen_id": app["citizen_id"],
        "state": app["state"],
        "due_at": app["overall_due_at"],
        "check_code": app["check_code"],
    }


def check_code(rng: random.Random) -> str:
    """`applications.numbers.new_check_code`, drawn from the load's generator."""
    return "".join(rng.choice(numbers.CHECK_ALPHABET) for _ in range(numbers.CHECK_LENGTH))


def form_for(
    rng: random.Random, schema: dict[str, Any] | None, citizen: Citizen, today: dt.date
) -> dict[str, Any]:
    """Answers that pass the service's form schema."""
    if not schema:
        return {}
    required = set(schema.get("required", []))
    answers: dict[str, Any] = {}
    for name in schema.get("x-order") or sorted(schema["properties"]):
        spec = schema["properties"][name]
        if name not in required and rng.random() < 0.5:
            continue
        kind = spec.get("x-input")
        if "enum" in spec:
            answers[name] = rng.choice(spec["enum"])
        elif kind == "nik":
            answers[name] = citizen.nik
        elif kind == "phone":
            answers[name] = citizen.phone
        elif kind == "email":
            answers[name] = citizen.email or f"warga{rng.randrange(10**5)}@gmail.com"
        elif kind == "date" and spec.get("x-not-before") in answers:
            after = dt.date.fromisoformat(answers[spec["x-not-before"]])
            answers[name] = (after + dt.timedelta(days=rng.randrange(1, 365))).isoformat()
        elif kind == "date" and spec.get("x-when") == "future":
            answers[name] = (today + dt.timedelta(days=rng.randrange(400, 800))).isoformat()
        elif kind == "date":
            answers[name] = (today - dt.timedelta(days=rng.randrange(1, 365 * 30))).isoformat()
        elif kind == "integer":
            answers[name] = rng.randrange(1, 10)
        elif kind == "number":
            answers[name] = round(rng.uniform(1, 500), 1)
        elif kind == "boolean":
            answers[name] = rng.random() < 0.5
        elif kind == "text":
            answers[name] = f"Untuk keperluan {rng.choice(['pribadi', 'keluarga', 'usaha'])}."
        elif "nama" in name:
            answers[name] = f"{rng.choice(MEN + WOMEN)} {rng.choice(FAMILY)}"
        elif "alamat" in name:
            answers[name] = f"Jl. Poros {rng.choice(VILLAGES)} No. {rng.randrange(1, 200)}"
        else:
            answers[name] = f"{rng.choice(VILLAGES)}, Kec. {rng.choice(DISTRICTS)}"
    return answers


# --- notifications, planned as `notifications.messages.plan` plans them ------------------------


class Messages:
    """The messages each event made, on the channels each citizen is reached on, rendered
    from the service's current templates, with what became of them."""

    def __init__(
        self,
        rng: random.Random,
        settings: NotificationsSettings,
        end: dt.datetime,
        templates: dict[str, Any],
        names: dict[tuple[str, str], tuple[str, str]],
    ) -> None:
        self.rng = rng
        self.settings = settings
        self.end = end
        self.templates = templates
        self.names = names
        self.base = settings.public_base_url.rstrip("/")

    def of(self, fact: Fact) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        citizen = fact.citizen
        for channel in ("inbox", "email", "sms", "whatsapp"):
            to = self.address(fact, channel, citizen)
            if to is None:
                continue
            language = citizen.language
            template = self.templates.get(
                f"{fact.type}:{channel}:{language}"
            ) or self.templates.get(f"{fact.type}:{channel}:id")
            if template is None:
                continue
            rendered = templates_service._render(
                template.subject, template.text, self.context(fact), template.version
            )
            yield self.message(fact, channel, to, rendered.subject, rendered.text)

    def address(self, fact: Fact, channel: str, citizen: Citizen) -> str | None:
        if fact.type == "identity.otp.requested.v1":
            return citizen.phone if channel == "sms" else None
        if channel == "inbox":
            return citizen.id
        if channel == "email":
            return citizen.email
        wants = citizen.wants_sms if channel == "sms" else citizen.wants_whatsapp
        return citizen.phone if wants else None

    def context(self, fact: Fact) -> dict[str, Any]:
        data, language = fact.data, fact.citizen.language
        service = self.names.get(("service", str(data.get("service_id"))))
        agency = self.names.get(("agency", str(data.get("agency"))))
        pick = 1 if language == "en" else 0
        return {
            "recipient": {"name": fact.citizen.name, "language": language},
            "event": data,
            "service": {"name": service[pick] if service else ""},
            "agency": {"name": agency[pick] if agency else ""},
            "links": {
                "app": self.base + "/",
                "track": placeholders.track_link(self.base, data),
                "verify": data.get("verify_url") or "",
            },
            "mall": {"name": self.settings.mall_name},
        }

    def message(
        self, fact: Fact, channel: str, to: str, subject: str | None, text: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng = self.rng
        created = fact.time + dt.timedelta(milliseconds=rng.randrange(200, 4000))
        message_id = idempotency.derived_id(fact.id, f"{channel}:{to}")
        row: dict[str, Any] = {
            "id": message_id,
            "event_id": fact.id,
            "event_type": fact.type,
            "channel": channel,
            "recipient": to,
            "citizen_id": fact.data.get("citizen_id") or fact.citizen.id,
            "subject": subject,
            "text": text,
            "status": DELIVERED,
            "attempts": 0,
            "next_attempt_at": None,
            "reference": None,
            "last_detail": None,
            "created_at": created,
            "updated_at": created,
            "read_at": None,
        }
        if channel == "inbox":
            if rng.random() < 0.72:
                read = created + dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 6))
                row["read_at"] = read if read < self.end else None
            return row, []
        history = []
        at = created + dt.timedelta(milliseconds=rng.randrange(100, 3000))
        draw = rng.random()
        if channel == "email":
            outcome = (
                (PERMANENT, "recipient refused: (550, b'5.1.1 mailbox unavailable')")
                if draw < 0.02
                else (DELIVERED, "")
            )
            row["reference"] = f"<{uuid7(rng, at).replace('-', '')}@mpp.local>"
        elif draw < 0.025:
            outcome = (PERMANENT, "sandbox: scripted failure")
        elif draw < 0.035:
            # Retried with backoff until the attempts ran out.
            for attempt in range(self.settings.retry_max_attempts - 1):
                history.append({"at": at, "status": TEMPORARY, "detail": "Infobip: 503"})
                at += dt.timedelta(seconds=self.settings.retry_initial_seconds * 2**attempt * 1.1)
            outcome = (TEMPORARY, "Infobip: 503")
        elif draw < 0.038:
            outcome = (TECHNICAL, "Infobip refused our key (401)")
        else:
            outcome = (DELIVERED, "")
            row["reference"] = f"sandbox-{message_id}"
        status, detail = outcome
        history.append({"at": at, "status": status, "detail": detail})
        row.update(
            status=status,
            attempts=len(history),
            last_detail=detail,
            updated_at=at,
        )
        if fact.type in ("identity.otp.requested.v1", "documents.output.pin_issued.v1"):
            row["text"] = "[dihapus setelah dikirim]"  # a code or PIN is not kept after sending
        for entry in history:
            entry["message_id"] = message_id
        return row, history


# --- the load ----------------------------------------------------------------------------------


class Progress:
    """One line per step: what, how many rows, how long."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def step(self, what: str, count: int, since: float) -> None:
        took = time.perf_counter() - since
        print(f"  {what:<52} {count:>9,}  {took:7.1f} s", flush=True)


@dataclass(frozen=True)
class Namespace:
    """The services' settings inside the namespace being loaded, on the local servers."""

    name: str

    def of(self, cls: type[Settings], **values: Any) -> Settings:
        return cls(namespace=self.name, postgres_port=local.postgres_port(), **values)

    @property
    def catalog(self) -> CatalogSettings:
        return self.of(CatalogSettings)

    @property
    def applications(self) -> ApplicationsSettings:
        return self.of(ApplicationsSettings)

    @property
    def documents(self) -> DocumentsSettings:
        return self.of(DocumentsSettings)

    @property
    def notifications(self) -> NotificationsSettings:
        return self.of(NotificationsSettings)

    @property
    def gateway(self) -> ServiceSettings:
        return self.of(ServiceSettings, service_name="gateway")

    @property
    def loaded(self) -> list[ServiceSettings]:
        """The services this loader fills, in order."""
        return [self.catalog, self.applications, self.documents, self.notifications]


async def put(engine: AsyncEngine, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Copy rows into one of the service's tables (PostgreSQL's COPY, through the driver: the
    table's own name and columns, no SQL written here), in batches."""
    if not rows:
        return 0
    names = list(rows[0])
    documents = {n for n in names if isinstance(table.c[n].type, JSONB)}
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for start in range(0, len(rows), COPY_BATCH):
            records = [
                tuple(
                    json.dumps(row[n]) if n in documents and row[n] is not None else row[n]
                    for n in names
                )
                for row in rows[start : start + COPY_BATCH]
            ]
            await driver.copy_records_to_table(table.name, records=records, columns=names)
    return len(rows)


async def drop(namespace: str) -> list[str]:
    """Remove the namespace's databases."""
    return await db.drop_databases(local.postgres_admin_url(), prefix=f"{namespace}_")


async def load(
    *,
    namespace: str = NAMESPACE,
    scale: float = 1.0,
    seed: int = SEED,
    today: dt.date | None = None,
    with_gateway: bool = True,
) -> dict[str, int]:
    """Drop and fill the namespace's databases with a year of the mall; returns row counts."""
    progress = Progress()
    counts: dict[str, int] = {}
    since = time.perf_counter()
    dropped = await drop(namespace)
    space = Namespace(namespace)
    for settings in [*space.loaded, space.gateway]:
        await db.ensure_database(local.postgres_admin_url(), settings)
    for settings in space.loaded:
        await db.migrate(settings, f"{settings.service_name}.migrations")
    progress.step(f"databases {namespace}_* ({len(dropped)} dropped first), migrated", 0, since)
    app_settings, doc_settings = space.applications, space.documents
    engines = {s.service_name: db.create_engine(s) for s in space.loaded}
    try:
        since = time.perf_counter()
        await catalog_seed.load(engines["catalog"])
        async with engines["catalog"].connect() as connection:
            outbox = catalog_store.metadata.tables["outbox"]
            recorded = [
                events.from_json(envelope)
                for envelope in await connection.scalars(
                    select(outbox.c.envelope).order_by(outbox.c.position)
                )
            ]
        progress.step("catalog: the seed, published (its events recorded)", len(recorded), since)

        since = time.perf_counter()
        await apply_catalog_events(engines, recorded)
        progress.step(
            "read models of the catalog (applications, documents, notifications)",
            len(recorded) * 3,
            since,
        )

        since = time.perf_counter()
        services, agencies = latest(recorded)
        calendar = Calendar(app_settings.timezone)
        clock = Clock(calendar, today or calendar.local_date(dt.datetime.now(dt.UTC)))
        rng = random.Random(seed)  # noqa: S311 (the same data every time, nothing secret)
        flows = []
        for service in sorted(services.values(), key=lambda s: s.slug):
            weight = AGENCY_DEMAND.get(service.agency, 1) * rng.lognormvariate(0, 0.8)
            found = flow_of(service, agencies.get(service.agency), weight)
            if found is not None:
                flows.append(found)
        generator = Generator(
            rng=rng,
            seed=seed,
            clock=clock,
            flows=flows,
            settings=app_settings,
            documents_settings=doc_settings,
            agency_names={c: (a.name.id, a.name.en) for c, a in agencies.items()},
            scale=scale,
        )
        volume = generator.run()
        generated = sum(len(r) for r in volume.rows.values())
        progress.step(
            f"generated a year over {len(flows)} services ({clock.days[0]} .. {clock.days[-1]})",
            generated,
            since,
        )

        # Side by side: the database copies one service's rows while messages are rendered.
        loads = [
            load_applications(engines["applications"], volume, generator, progress),
            load_documents(engines["documents"], volume, generator, progress),
            load_notifications(
                engines["notifications"], space.notifications, volume, generator, clock, progress
            ),
        ]
        if with_gateway and gateway_ready():
            loads.append(load_gateway(space.gateway, generator, volume, services, progress))
        else:
            print("  gateway: not loaded; citizens exist only as the ids the others refer to")
        for loaded in await asyncio.gather(*loads):
            counts |= loaded
        counts["citizens"] = len(generator.citizens)
    finally:
        for engine in engines.values():
            await engine.dispose()
    print(
        f"  {'total':<52} {sum(counts.values()):>9,}  "
        f"{time.perf_counter() - progress.started:7.1f} s"
    )
    return counts


def latest(
    recorded: Sequence[events.Event],
) -> tuple[dict[str, ServicePublished], dict[str, AgencyUpserted]]:
    services: dict[str, ServicePublished] = {}
    agencies: dict[str, AgencyUpserted] = {}
    for event in recorded:
        if event.type == type_of(ServicePublished):
            service = ServicePublished.model_validate(event.data)
            if (
                service.service_id not in services
                or services[service.service_id].version < service.version
            ):
                services[service.service_id] = service
        elif event.type == type_of(AgencyUpserted):
            agency = AgencyUpserted.model_validate(event.data)
            if agency.code not in agencies or agencies[agency.code].version < agency.version:
                agencies[agency.code] = agency
    return services, agencies


async def apply_catalog_events(
    engines: dict[str, AsyncEngine], recorded: Sequence[events.Event]
) -> None:
    """What each consumer of `catalog.events` does with the catalog's events, recorded in its
    inbox so the same events, relayed later, change nothing."""
    handlers = by_type(catalog_view.HANDLERS)
    async with db.transaction(engines["applications"]) as connection:
        for event in recorded:
            if event.type in handlers and await inbox.claim(connection, event):
                await handlers[event.type](event, connection)
    async with db.transaction(engines["documents"]) as connection:
        for event in recorded:
            if not await inbox.claim(connection, event):
                continue
            if event.type == type_of(ServicePublished):
                service = ServicePublished.model_validate(event.data)
                await documents_store.replace_limits(
                    connection,
                    service_refs=[service.slug, service.service_id],
                    by_requirement={
                        r.code: documents_store.Limits(max_size_mb=r.max_size_mb, formats=r.formats)
                        for r in service.requirements
                    },
                )
                await outputs_store.name_service(connection, service.service_id, service.name)
            elif event.type == type_of(AgencyUpserted):
                agency = AgencyUpserted.model_validate(event.data)
                await outputs_store.name_agency(connection, agency.code, agency.name)
    async with db.transaction(engines["notifications"]) as connection:
        for event in recorded:
            if not await inbox.claim(connection, event):
                continue
            if event.type == type_of(ServicePublished):
                service = ServicePublished.model_validate(event.data)
                await notifications_store.save_name(
                    connection, kind="service", code=service.service_id, name=service.name
                )
            elif event.type == type_of(AgencyUpserted):
                agency = AgencyUpserted.model_validate(event.data)
                await notifications_store.save_name(
                    connection, kind="agency", code=agency.code, name=agency.name
                )


async def load_applications(
    engine: AsyncEngine, volume: Volume, generator: Generator, progress: Progress
) -> dict[str, int]:
    """Applications with their history, numbers, bookings, surveys, complaints and the read
    models of documents and of citizens' names, through the applications service's tables."""
    counts = {}
    since = time.perf_counter()
    names = [{"citizen_id": c.id, "name": c.name} for c in generator.citizens]
    counts["applicant_names"] = await put(engine, citizens_view.citizen_names, names)
    progress.step("applications: citizen_names (applicants' names)", len(names), since)
    tables: list[tuple[str, Table]] = [
        ("applications", applications_store.applications),
        ("application_history", applications_store.application_history),
        ("bookings", bookings_store.bookings),
        ("booking_seats", bookings_store.booking_seats),
        ("surveys", surveys_store.surveys),
        ("complaints", complaints_store.complaints),
        ("complaint_timeline", complaints_store.complaint_timeline),
        ("citizen_documents", documents_view.citizen_documents),
    ]
    for name, table in tables:
        since = time.perf_counter()
        rows = volume.rows[name]
        counts[name] = await put(engine, table, rows)
        progress.step(f"applications: {name}", counts[name], since)
    since = time.perf_counter()
    series = [{"series": s, "last": n} for s, n in sorted(volume.counters.items())]
    counts["number_counters"] = await put(engine, numbers.number_counters, series)
    progress.step("applications: number_counters (tracking number series)", len(series), since)
    return counts


async def load_documents(
    engine: AsyncEngine, volume: Volume, generator: Generator, progress: Progress
) -> dict[str, int]:
    """Documents' metadata, their links to applications and agencies, the access log, issued
    outputs and the names outputs print, through the documents service's tables."""
    counts = {}
    names = [{"citizen_id": c.id, "name": c.name} for c in generator.citizens]
    volume.rows["citizen_names"] = names
    for name, table in [
        ("documents", documents_store.documents),
        ("document_links", documents_store.document_links),
        ("document_access", documents_store.document_access),
        ("outputs", outputs_store.outputs),
        ("citizen_names", outputs_store.citizen_names),
    ]:
        since = time.perf_counter()
        counts[name] = await put(engine, table, volume.rows[name])
        progress.step(f"documents: {name}", len(volume.rows[name]), since)
    return counts


async def load_notifications(
    engine: AsyncEngine,
    settings: NotificationsSettings,
    volume: Volume,
    generator: Generator,
    clock: Clock,
    progress: Progress,
) -> dict[str, int]:
    """Contacts and preferences (as the identity events told them), the default templates, and
    every message the year's events made, with their attempts: through the notifications
    service's tables."""
    counts = {}
    since = time.perf_counter()
    contacts = [
        {
            "citizen_id": c.id,
            "name": c.name,
            "phone": c.phone,
            "phone_verified": True,
            "email": c.email,
            "language": c.language,
            "as_of": c.registered_at,
        }
        for c in generator.citizens
    ]
    counts["contacts"] = await put(engine, contacts_store.contacts, contacts)
    chosen = [
        {
            "citizen_id": c.id,
            **{f"wants_{ch}": None for ch in DEFAULT_CHANNELS},
            "wants_sms": c.wants_sms,
            "wants_whatsapp": c.wants_whatsapp,
            "quiet_start": None,
            "quiet_end": None,
            "updated_at": c.registered_at,
        }
        for c in generator.citizens
        if not c.wants_sms or c.wants_whatsapp
    ]
    counts["preferences"] = await put(engine, contacts_store.preferences, chosen)
    progress.step("notifications: contacts and preferences", len(contacts) + len(chosen), since)

    since = time.perf_counter()
    await templates_service.ensure_defaults(engine)
    async with engine.connect() as connection:
        current = {t.id: t for t in await templates_store.list_current(connection)}
        rows = await connection.execute(select(notifications_store.names))
        names = {(r.kind, r.code): (r.name_id, r.name_en) for r in rows}
    counts["messages"] = counts["message_history"] = 0
    # Rendering is the load's heaviest work: worker processes render batches of events on
    # every core (each batch with its own seeded generator, so the result is the same), while
    # this process copies what they rendered and the other services' rows.
    loop = asyncio.get_running_loop()
    workers = ProcessPoolExecutor(max_workers=RENDERERS, mp_context=mp.get_context("fork"))
    with workers:
        batches = [
            loop.run_in_executor(
                workers,
                render,
                Messages(
                    random.Random(generator.seed * 1_000 + n),  # noqa: S311 (see SEED)
                    settings,
                    clock.end,
                    current,
                    names,
                ),
                volume.facts[start : start + FACTS_BATCH],
            )
            for n, start in enumerate(range(0, len(volume.facts), FACTS_BATCH))
        ]
        for batch in batches:
            sent, lines = await batch
            counts["messages"] += await put(engine, notifications_store.messages, sent)
            counts["message_history"] += await put(
                engine, notifications_store.message_history, lines
            )
    progress.step(
        f"notifications: messages of {len(volume.facts):,} events (rendered)",
        counts["messages"],
        since,
    )
    progress.step("notifications: message_history (attempts)", counts["message_history"], since)
    return counts


def render(
    messages: Messages, facts: Sequence[Fact]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages of some events and their attempts (in a worker process)."""
    sent: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for fact in facts:
        for row, history in messages.of(fact):
            sent.append(row)
            lines.extend(history)
    return sent, lines


def gateway_ready() -> bool:
    """Whether the gateway keeps identities in PostgreSQL (its migrations exist) yet."""
    return importlib.util.find_spec("gateway.migrations") is not None


async def load_gateway(
    settings: ServiceSettings,
    generator: Generator,
    volume: Volume,
    services: dict[str, ServicePublished],
    progress: Progress,
) -> dict[str, int]:
    """Citizens' accounts (NIK encrypted and keyed as the gateway keeps them, one password
    hashed once for all), the officers who acted on the applications, and which agency handles
    which citizen's application (as `applications.events` would have told), through the
    gateway's own tables. Every account signs in with PASSWORD: citizens by NIK or phone, staff
    by name."""
    from gateway.identity import passwords
    from gateway.identity import store as identity_store
    from gateway.settings import Settings as GatewaySettings
    from mpp_shared.pii import Vault

    since = time.perf_counter()
    gateway = GatewaySettings(namespace=settings.namespace, postgres_port=settings.postgres_port)
    await db.migrate(gateway, "gateway.migrations")
    niks = Vault(gateway.pii_key.get_secret_value(), kind="nik")
    password_hash = passwords.hash_password(PASSWORD)  # argon2 is slow: once, for everyone
    accounts = [
        identity_store.Account(
            id=c.id,
            kind="citizen",
            role="citizen",
            active=True,
            name=c.name,
            email=c.email,
            language="en" if c.language == "en" else "id",
            phone=c.phone,
            phone_verified=True,
            nik_hash=niks.lookup_hash(c.nik),
            nik_encrypted=niks.encrypt(c.nik),
            password_hash=password_hash,
            created_at=c.registered_at,
            updated_at=c.registered_at,
            sessions_valid_from=c.registered_at,
        ).model_dump()
        for c in generator.citizens
    ]
    hired = generator.clock.end - dt.timedelta(days=DAYS + 20)
    staff = [
        (generator.mpp_admin, "mpp_admin", None, "admin-mpp-volume"),
        *(
            (officer, "officer", agency, f"petugas-{agency.lower()}-{n}")
            for agency, officers in sorted(generator.officers.items())
            for n, officer in enumerate(officers, start=1)
        ),
    ]
    for account_id, role, agency, username in staff:
        accounts.append(
            identity_store.Account(
                id=account_id,
                kind="staff",
                role=role,
                active=True,
                name=username.replace("-", " ").title(),
                username=username,
                agency=agency,
                created_by="seed-volume",
                password_hash=password_hash,
                created_at=hired,
                updated_at=hired,
                sessions_valid_from=hired,
            ).model_dump()
        )
    full_nik = {s.service_id for s in services.values() if s.requires_full_nik}
    handled = [
        {
            "application_id": a["id"],
            "citizen_id": a["citizen_id"],
            "agency": a["agency"],
            "requires_full_nik": a["service_id"] in full_nik,
            "open": a["open"],
            "closed_at": None if a["open"] else a["updated_at"],
        }
        for a in volume.rows["applications"]
    ]
    engine = db.create_engine(gateway)
    try:
        count = await put(engine, identity_store.accounts, accounts)
        progress.step(f"gateway: accounts ({len(staff)} staff)", count, since)
        since = time.perf_counter()
        handled_count = await put(engine, identity_store.handled_applications, handled)
        progress.step("gateway: handled_applications", handled_count, since)
    finally:
        await engine.dispose()
    return {"accounts": count, "handled_applications": handled_count}


def main() -> None:
    """`load [--scale 1.0]` or `drop`."""
    parser = argparse.ArgumentParser(prog="seed_volume.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["load", "drop"])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 60,000 applications")
    parser.add_argument("--namespace", default=NAMESPACE, help="databases <namespace>_<service>")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        help="the day the year ends (local), YYYY-MM-DD; default today",
    )
    parser.add_argument(
        "--no-gateway",
        action="store_true",
        help="leave the gateway's database empty (citizens only as ids the others refer to)",
    )
    args = parser.parse_args()
    telemetry.setup("seed-volume", log_level="WARNING")
    if args.command == "drop":
        dropped = asyncio.run(drop(args.namespace))
        print(f"dropped {len(dropped)} database(s): {', '.join(dropped) or '-'}")
        return
    print(f"loading a year of Sinjai into {args.namespace}_* at scale {args.scale}")
    counts = asyncio.run(
        load(
            namespace=args.namespace,
            scale=args.scale,
            seed=args.seed,
            today=args.today,
            with_gateway=not args.no_gateway,
        )
    )
    print(", ".join(f"{n:,} {what}" for what, n in counts.items()))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
