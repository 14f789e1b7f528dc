"""Bookings racing each other on the real store: one citizen's day taken twice at once, and
cancels crossing each other."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from applications.bookings import store
from mpp_shared.testing import Tokens

from .test_bookings import at, book, bookable, seats_left, working_days


async def test_one_citizen_booking_two_slots_of_a_day_at_once_gets_one(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any], engine: AsyncEngine
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    times = ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30"]
    answers = await asyncio.gather(
        *(book(applications, tokens, "c-greedy", service, at(day, t)) for t in times)
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [a.text for a in answers]
    assert {a.json()["reason"] for a in answers if a.status_code == 409} == {"already-booked"}
    left = await seats_left(applications, service, day)
    assert sum(left[at(day, t)] for t in times) == len(times) - 1, "the losers hold no seat"
    async with engine.connect() as connection:
        held = await connection.scalar(
            select(func.count())
            .select_from(store.booking_seats)
            .where(store.booking_seats.c.day_key.contains(service.service_id))
        )
    assert held == 1


async def test_concurrent_cancels_free_the_seat_once(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed, capacity=1)
    day = working_days(1)[0]
    booked = (await book(applications, tokens, "c-cancel", service, at(day, "08:00"))).json()
    owner = tokens.headers("citizen", subject="c-cancel")
    answers = await asyncio.gather(
        *(applications.delete(f"/api/v1/bookings/{booked['id']}", headers=owner) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [204] * 4
    assert await seats_left(applications, service, day) == {at(day, "08:00"): 1}
    again = await book(applications, tokens, "c-cancel", service, at(day, "08:00"))
    assert again.status_code == 201, again.text
    assert await seats_left(applications, service, day) == {at(day, "08:00"): 0}
