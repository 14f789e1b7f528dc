"""What the survey routes take and give: the nine SKM elements (PermenPAN-RB 14/2017), a
citizen's answers and the IKM figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mpp_shared.contracts.catalog import LocalizedText

Score = Annotated[int, Field(ge=1, le=4, strict=True, description="1 (worst) to 4 (best)")]


class Scores(BaseModel):
    """A score of 1-4 for each of the nine elements."""

    model_config = ConfigDict(extra="forbid")

    u1: Score
    u2: Score
    u3: Score
    u4: Score
    u5: Score
    u6: Score
    u7: Score
    u8: Score
    u9: Score


class SurveyInput(BaseModel):
    """A citizen's rating of a completed service."""

    model_config = ConfigDict(extra="forbid")

    scores: Scores
    comment: Annotated[str | None, Field(max_length=2000)] = None


class Survey(BaseModel):
    """A rating as its citizen sees it."""

    id: str
    application_id: str
    service_id: str
    agency: str
    scores: Scores
    comment: str | None
    submitted_at: datetime


class Option(BaseModel):
    """One answer to an element's question and the score it gives."""

    score: int
    label: LocalizedText


class Element(BaseModel):
    """One of the nine elements (unsur), with the question the form asks and its answers."""

    code: str
    name: LocalizedText
    question: LocalizedText
    options: list[Option]


class Grade(BaseModel):
    """A service quality grade (mutu pelayanan) and what it means."""

    code: str
    label: LocalizedText
    min_ikm: float
    max_ikm: float


class Elements(BaseModel):
    """What the survey form needs: the elements and how their scores become a grade."""

    elements: list[Element]
    grades: list[Grade]


class ElementResult(BaseModel):
    """One element's figures: its average score (NRR) and its weighted share (NRR / 9)."""

    code: str
    name: LocalizedText
    nrr: float | None = Field(description="Average score 1-4, three decimals")
    weighted: float | None = Field(description="NRR x 1/9, three decimals")


class Ikm(BaseModel):
    """The satisfaction index of a set of surveys; no figures without respondents."""

    respondents: int
    elements: list[ElementResult]
    ikm: float | None = Field(description="25-100, two decimals")
    grade: Grade | None


class ServiceIkm(Ikm):
    """One service's index."""

    service_id: str
    service_slug: str
    agency: str


class AgencyIkm(Ikm):
    """One agency's index."""

    agency: str


class IkmReport(Ikm):
    """The index of the selection, then per agency and per service."""

    service: str | None
    agency: str | None
    since: date | None
    until: date | None
    agencies: list[AgencyIkm]
    services: list[ServiceIkm]


class PublicIkm(Ikm):
    """What anyone may see of a service's, an agency's or the mall's index (no comments)."""

    service: str | None
    agency: str | None


# --- what the store holds --------------------------------------------------------------------


class SurveyRecord(BaseModel):
    """A citizen's rating of one application, as the store holds it."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    citizen_id: str
    service_id: str
    service_slug: str
    service_version: int
    agency: str
    scores: Scores
    comment: str | None
    submitted_at: datetime


class ScoreTotals(BaseModel):
    """The surveys of one service of one agency: how many, and each element's total score."""

    model_config = ConfigDict(frozen=True)

    agency: str
    service_id: str
    service_slug: str
    respondents: int
    totals: dict[str, int]
