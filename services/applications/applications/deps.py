"""Typed dependencies the routes of every part of the service share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from applications.numbers import CodeGuesses
from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared.problems import Problem


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _calendar(request: Request) -> WorkingCalendar:
    calendar: WorkingCalendar = request.app.state.calendar
    return calendar


async def _guesses(request: Request) -> CodeGuesses:
    guesses: CodeGuesses = request.app.state.code_guesses
    return guesses


SettingsDep = Annotated[Settings, Depends(_settings)]
CalendarDep = Annotated[WorkingCalendar, Depends(_calendar)]
GuessesDep = Annotated[CodeGuesses, Depends(_guesses)]
# The check code of the public tracking pages (in the query: the page the SMS links to puts it
# there from its own address).
CheckCode = Annotated[
    str | None,
    Query(
        max_length=16,
        description="The check code given with the number; not needed by those who may read "
        "the application or complaint itself",
    ),
]
UNTRACKED = "No such number, or a wrong or missing check code: answered alike"


def not_found() -> Problem:
    """The answer for what does not exist and for what the caller may not see (never a 403 that
    would tell another citizen's application exists)."""
    return Problem(404, "not-found")
