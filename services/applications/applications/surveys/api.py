"""Routes of surveys: the form's elements, a citizen's rating of a completed application, and the
satisfaction index (IKM) for the public and for staff."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from applications.deps import CalendarDep
from applications.surveys import service
from applications.surveys.models import (
    Elements,
    IkmReport,
    PublicIkm,
    Survey,
    SurveyInput,
    SurveyRecord,
)
from applications.workdays import WorkingCalendar
from mpp_shared.auth import Principal, require
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["surveys"])

Citizen = Annotated[Principal, require("citizen")]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", "ops_viewer")]
ServiceRef = Annotated[str | None, Query(alias="service", description="A service's id or slug")]
AgencyCode = Annotated[str | None, Query(description="An agency's code")]


def _view(survey: SurveyRecord) -> Survey:
    return Survey(
        id=survey.application_id,
        application_id=survey.application_id,
        service_id=survey.service_id,
        agency=survey.agency,
        scores=survey.scores,
        comment=survey.comment,
        submitted_at=survey.submitted_at,
    )


def _local_day_start(calendar: WorkingCalendar, day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=calendar.zone).astimezone(dt.UTC)


@router.get("/surveys/elements")
async def elements() -> Elements:
    """The nine elements the survey asks about, their answers and the grades (public)."""
    return Elements(elements=service.ELEMENTS, grades=service.GRADES)


@router.post("/applications/{application_id}/survey", status_code=201)
async def submit(
    rt: RuntimeDep, caller: Citizen, application_id: str, answers: SurveyInput, response: Response
) -> Survey:
    """Rate a completed application, once: a score of 1-4 for each element, and a comment."""
    survey = await service.submit(
        rt.engine, caller=caller, application_id=application_id, answers=answers
    )
    response.headers["Location"] = f"/api/v1/applications/{application_id}/survey"
    return _view(survey)


@router.get("/applications/{application_id}/survey")
async def read(rt: RuntimeDep, caller: Citizen, application_id: str) -> Survey:
    """The citizen's own rating of their application."""
    return _view(await service.load_own(rt.engine, caller=caller, application_id=application_id))


@router.get("/surveys/ikm")
async def public_index(
    rt: RuntimeDep, service_ref: ServiceRef = None, agency: AgencyCode = None
) -> PublicIkm:
    """The satisfaction index of a service, an agency or the whole mall (public, no comments)."""
    overall, _, _ = await service.report(
        rt.engine, service=service_ref, agency=agency, since=None, until=None
    )
    return PublicIkm(service=service_ref, agency=agency, **overall.model_dump())


@router.get("/ops/ikm")
async def ops_index(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Staff,
    service_ref: ServiceRef = None,
    agency: AgencyCode = None,
    since: Annotated[dt.date | None, Query(description="From this local date")] = None,
    until: Annotated[dt.date | None, Query(description="Up to and including this date")] = None,
) -> IkmReport:
    """The satisfaction index of the selection, per agency and per service; an agency's staff
    see their agency's."""
    if caller.role in ("officer", "agency_admin"):
        agency = caller.agency
    overall, agencies, services = await service.report(
        rt.engine,
        service=service_ref,
        agency=agency,
        since=_local_day_start(calendar, since),
        until=_local_day_start(calendar, until + dt.timedelta(days=1) if until else None),
    )
    return IkmReport(
        service=service_ref,
        agency=agency,
        since=since,
        until=until,
        agencies=agencies,
        services=services,
        **overall.model_dump(),
    )
