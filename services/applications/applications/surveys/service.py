"""The satisfaction survey (SKM, PermenPAN-RB 14/2017) and its index (IKM).

The index, per the regulation: for each of the nine elements the average score of the
respondents (NRR, 1-4); each weighted by 1/9 (the regulation's "jumlah bobot / jumlah unsur
= 1/9", printed rounded as 0,11 or 0,111); their sum (1-4) times 25 gives the IKM (25-100).

We weight by exactly 1/9, not by 0.111: the regulation defines the weight as 1/9 and the scale
as 25-100, and 0.111 leaves that scale (all fours give 99.90, all ones 24.98, below grade D's
lower bound) and moves results near a grade boundary by up to 0.1 points (see the unit tests'
worked example: 88.33, grade A, exactly; 88.25, grade B, with 0.111). Figures are computed as
exact fractions and rounded only for display, half up: NRR and weighted NRR to three decimals,
the IKM to two, which is what the grade intervals (76.60 / 76.61) are written in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncEngine

from applications import store as applications_store
from applications.deps import not_found
from applications.surveys import store
from applications.surveys.models import (
    AgencyIkm,
    Element,
    ElementResult,
    Grade,
    Ikm,
    Option,
    ScoreTotals,
    ServiceIkm,
    SurveyInput,
    SurveyRecord,
)
from mpp_shared import db, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import SurveySubmitted
from mpp_shared.contracts.catalog import LocalizedText
from mpp_shared.events import new_event
from mpp_shared.problems import Problem

SOURCE = topics.source_of("applications")

WEIGHT = Fraction(1, 9)
CONVERSION = 25


def _text(indonesian: str, english: str) -> LocalizedText:
    return LocalizedText(id=indonesian, en=english)


def _element(
    code: str, name: tuple[str, str], question: tuple[str, str], options: list[tuple[str, str]]
) -> Element:
    return Element(
        code=code,
        name=_text(*name),
        question=_text(*question),
        options=[Option(score=i, label=_text(*o)) for i, o in enumerate(options, start=1)],
    )


# The nine elements in the regulation's order, with its sample questionnaire's questions and
# answers (worst first: the first answer scores 1).
ELEMENTS = [
    _element(
        "u1",
        ("Persyaratan", "Requirements"),
        (
            "Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis "
            "pelayanannya?",
            "How well do the requirements fit the service?",
        ),
        [
            ("Tidak sesuai", "Not fitting"),
            ("Kurang sesuai", "Poorly fitting"),
            ("Sesuai", "Fitting"),
            ("Sangat sesuai", "Very fitting"),
        ],
    ),
    _element(
        "u2",
        ("Sistem, mekanisme, dan prosedur", "System, mechanism and procedure"),
        (
            "Bagaimana pendapat Anda tentang kemudahan prosedur pelayanan?",
            "How easy was the service's procedure?",
        ),
        [
            ("Tidak mudah", "Not easy"),
            ("Kurang mudah", "Not very easy"),
            ("Mudah", "Easy"),
            ("Sangat mudah", "Very easy"),
        ],
    ),
    _element(
        "u3",
        ("Waktu penyelesaian", "Completion time"),
        (
            "Bagaimana pendapat Anda tentang kecepatan waktu pelayanan?",
            "How fast was the service?",
        ),
        [
            ("Tidak cepat", "Not fast"),
            ("Kurang cepat", "Not very fast"),
            ("Cepat", "Fast"),
            ("Sangat cepat", "Very fast"),
        ],
    ),
    _element(
        "u4",
        ("Biaya/tarif", "Fee or tariff"),
        (
            "Bagaimana pendapat Anda tentang kewajaran biaya/tarif pelayanan?",
            "How fair was the fee?",
        ),
        [
            ("Sangat mahal", "Very expensive"),
            ("Cukup mahal", "Rather expensive"),
            ("Murah", "Cheap"),
            ("Gratis", "Free"),
        ],
    ),
    _element(
        "u5",
        ("Produk spesifikasi jenis pelayanan", "Product specification"),
        (
            "Bagaimana pendapat Anda tentang kesesuaian hasil pelayanan dengan yang tercantum "
            "dalam standar pelayanan?",
            "How well did what you received match the service standard?",
        ),
        [
            ("Tidak sesuai", "Not matching"),
            ("Kurang sesuai", "Poorly matching"),
            ("Sesuai", "Matching"),
            ("Sangat sesuai", "Fully matching"),
        ],
    ),
    _element(
        "u6",
        ("Kompetensi pelaksana", "Staff competence"),
        (
            "Bagaimana pendapat Anda tentang kompetensi/kemampuan petugas?",
            "How competent were the staff?",
        ),
        [
            ("Tidak kompeten", "Not competent"),
            ("Kurang kompeten", "Not very competent"),
            ("Kompeten", "Competent"),
            ("Sangat kompeten", "Very competent"),
        ],
    ),
    _element(
        "u7",
        ("Perilaku pelaksana", "Staff behaviour"),
        (
            "Bagaimana pendapat Anda tentang kesopanan dan keramahan petugas?",
            "How polite and friendly were the staff?",
        ),
        [
            ("Tidak sopan dan ramah", "Not polite or friendly"),
            ("Kurang sopan dan ramah", "Not very polite or friendly"),
            ("Sopan dan ramah", "Polite and friendly"),
            ("Sangat sopan dan ramah", "Very polite and friendly"),
        ],
    ),
    _element(
        "u8",
        (
            "Penanganan pengaduan, saran, dan masukan",
            "Handling of complaints, suggestions and input",
        ),
        (
            "Bagaimana pendapat Anda tentang penanganan pengaduan pengguna layanan?",
            "How are complaints of service users handled?",
        ),
        [
            ("Tidak ada", "There is no channel"),
            ("Ada tetapi tidak berfungsi", "There is one, but it does not work"),
            ("Berfungsi kurang maksimal", "It works, not fully"),
            ("Dikelola dengan baik", "Well managed"),
        ],
    ),
    _element(
        "u9",
        ("Sarana dan prasarana", "Facilities"),
        (
            "Bagaimana pendapat Anda tentang kualitas sarana dan prasarana?",
            "How good are the facilities?",
        ),
        [
            ("Buruk", "Poor"),
            ("Cukup", "Fair"),
            ("Baik", "Good"),
            ("Sangat baik", "Very good"),
        ],
    ),
]
CODES = [e.code for e in ELEMENTS]

# Mutu pelayanan by converted index, best first (the regulation's conversion table).
GRADES = [
    Grade(code="A", label=_text("Sangat Baik", "Very good"), min_ikm=88.31, max_ikm=100.00),
    Grade(code="B", label=_text("Baik", "Good"), min_ikm=76.61, max_ikm=88.30),
    Grade(code="C", label=_text("Kurang Baik", "Poor"), min_ikm=65.00, max_ikm=76.60),
    Grade(code="D", label=_text("Tidak Baik", "Not good"), min_ikm=25.00, max_ikm=64.99),
]


# --- the index: pure functions -------------------------------------------------------------------


def element_averages(responses: Iterable[Mapping[str, int]]) -> dict[str, Fraction]:
    """Each element's average score (NRR) over the responses, exactly; empty without any."""
    return averages_of(*_added_up(responses))


def averages_of(respondents: int, totals: Mapping[str, int]) -> dict[str, Fraction]:
    """Each element's average score (NRR) from the respondents' total scores; empty without any."""
    if not respondents:
        return {}
    return {code: Fraction(totals[code], respondents) for code in CODES}


def _added_up(responses: Iterable[Mapping[str, int]]) -> tuple[int, dict[str, int]]:
    """How many responses, and each element's total score."""
    totals = dict.fromkeys(CODES, 0)
    count = 0
    for scores in responses:
        count += 1
        for code in CODES:
            totals[code] += scores[code]
    return count, totals


def index(averages: Mapping[str, Fraction]) -> Fraction:
    """The IKM (25-100): the NRRs weighted by 1/9, summed, times 25."""
    return sum((averages[code] * WEIGHT for code in CODES), Fraction(0)) * CONVERSION


def rounded(value: Fraction, places: int) -> Decimal:
    """A figure rounded half up for display, as the regulation's tables are."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def grade_of(ikm: Decimal) -> Grade:
    """The grade of an IKM already rounded to two decimals."""
    for grade in GRADES:
        if ikm >= Decimal(str(grade.min_ikm)):
            return grade
    return GRADES[-1]


def figures(responses: Iterable[Mapping[str, int]]) -> Ikm:
    """Respondents, each element's NRR, the IKM and its grade."""
    return figures_of(*_added_up(responses))


def figures_of(respondents: int, totals: Mapping[str, int]) -> Ikm:
    """The figures of `respondents` surveys whose element scores add up to `totals`."""
    averages = averages_of(respondents, totals)
    elements = [
        ElementResult(
            code=e.code,
            name=e.name,
            nrr=float(rounded(averages[e.code], 3)) if averages else None,
            weighted=float(rounded(averages[e.code] * WEIGHT, 3)) if averages else None,
        )
        for e in ELEMENTS
    ]
    if not averages:
        return Ikm(respondents=0, elements=elements, ikm=None, grade=None)
    ikm = rounded(index(averages), 2)
    return Ikm(respondents=respondents, elements=elements, ikm=float(ikm), grade=grade_of(ikm))


# --- surveys -------------------------------------------------------------------------------------


async def submit(
    engine: AsyncEngine, *, caller: Principal, application_id: str, answers: SurveyInput
) -> SurveyRecord:
    """Record the citizen's one rating of their completed application."""
    async with db.transaction(engine) as connection:
        application = await applications_store.find_record(connection, application_id)
        if application is None or application.citizen_id != caller.subject:
            raise not_found()
        if application.state != "completed":
            raise Problem(
                409,
                "conflict",
                detail={
                    "id": "Survei kepuasan dapat diisi setelah layanan selesai.",
                    "en": "The satisfaction survey opens once the service is completed.",
                },
                reason="application-not-completed",
                state=application.state,
            )
        survey = SurveyRecord(
            application_id=application_id,
            citizen_id=caller.subject,
            service_id=application.service_id,
            service_slug=application.service_slug,
            service_version=application.service_version,
            agency=application.agency,
            scores=answers.scores,
            comment=answers.comment,
            submitted_at=dt.datetime.now(dt.UTC),
        )
        submitted = new_event(
            SurveySubmitted(
                survey_id=application_id,
                application_id=application_id,
                service_id=application.service_id,
                agency=application.agency,
                scores=answers.scores.model_dump(),
            ),
            source=SOURCE,
            subject=application_id,
        )
        if not await store.insert(connection, survey, [submitted]):
            raise Problem(
                409,
                "conflict",
                detail={
                    "id": "Anda sudah mengisi survei untuk permohonan ini.",
                    "en": "You already rated this application.",
                },
                reason="survey-already-submitted",
            )
        return survey


async def load_own(engine: AsyncEngine, *, caller: Principal, application_id: str) -> SurveyRecord:
    """The caller's rating of their application, or a 404."""
    async with engine.connect() as connection:
        survey = await store.find(connection, application_id)
    if survey is None or survey.citizen_id != caller.subject:
        raise not_found()
    return survey


async def report(
    engine: AsyncEngine,
    *,
    service: str | None,
    agency: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> tuple[Ikm, list[AgencyIkm], list[ServiceIkm]]:
    """The index of the surveys selected, and per agency and per service within them."""
    async with engine.connect() as connection:
        found = await store.score_totals(
            connection, service=service, agency=agency, since=since, until=until
        )
    by_agency: dict[str, list[ScoreTotals]] = {}
    for group in found:
        by_agency.setdefault(group.agency, []).append(group)
    agencies = [
        AgencyIkm(agency=code, **figures_of(*_summed(groups)).model_dump())
        for code, groups in sorted(by_agency.items())
    ]
    services = [
        ServiceIkm(
            service_id=group.service_id,
            service_slug=group.service_slug,
            agency=group.agency,
            **figures_of(group.respondents, group.totals).model_dump(),
        )
        for group in sorted(found, key=lambda g: g.service_id)
    ]
    return figures_of(*_summed(found)), agencies, services


def _summed(groups: Iterable[ScoreTotals]) -> tuple[int, dict[str, int]]:
    """The respondents and element totals of several groups together."""
    respondents, totals = 0, dict.fromkeys(CODES, 0)
    for group in groups:
        respondents += group.respondents
        for code in CODES:
            totals[code] += group.totals[code]
    return respondents, totals
