"""Typed dependencies the routes of every part of the service share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared.problems import Problem


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _calendar(request: Request) -> WorkingCalendar:
    calendar: WorkingCalendar = request.app.state.calendar
    return calendar


SettingsDep = Annotated[Settings, Depends(_settings)]
CalendarDep = Annotated[WorkingCalendar, Depends(_calendar)]


def not_found() -> Problem:
    """The answer for what does not exist and for what the caller may not see (never a 403 that
    would tell another citizen's application exists)."""
    return Problem(404, "not-found")
