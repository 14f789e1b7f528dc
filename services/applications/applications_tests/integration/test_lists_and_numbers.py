"""Tracking numbers taken under real concurrency, the officer's inbox as an indexed keyset-paged
query, a citizen's list by time and the command center's figures, on the real store."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import numbers, store
from applications.workdays import WorkingCalendar
from mpp_shared.testing import Tokens

from ..conftest import AGENCY, agency_facts, catalog_event, insert_application, stored_application
from .test_applications import FORM
from .test_complaints import COMPLAINT


def fresh_agency(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3).upper()}"


async def test_concurrent_submits_number_without_gaps_and_a_losing_retry_takes_no_number(
    applications: httpx.AsyncClient,
    engine: AsyncEngine,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service_ = await publish_service(agency=fresh_agency("NUM"))
    requests = []
    for i in range(6):
        citizen = f"c-num-{i}-{secrets.token_hex(2)}"
        document = await upload(citizen, "surat_lahir")
        body = {"service": service_.slug, "form": FORM, "documents": {"surat_lahir": [document]}}
        headers = tokens.headers("citizen", subject=citizen)
        if i % 2 == 0:  # half of the citizens send their request three times with one key
            headers["Idempotency-Key"] = f"key-{secrets.token_hex(6)}"
            requests += [(body, headers)] * 3
        else:
            requests.append((body, headers))
    answers = await asyncio.gather(
        *(applications.post("/api/v1/applications", json=b, headers=h) for b, h in requests)
    )
    assert sorted(a.status_code for a in answers) == [200] * 6 + [201] * 6, [
        a.text for a in answers
    ]
    numbers_given = {a.json()["tracking_number"] for a in answers}
    assert len({a.json()["id"] for a in answers}) == 6
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers_given) == [1, 2, 3, 4, 5, 6], (
        "no gaps: the retries that lost gave their numbers back"
    )
    series = next(iter(numbers_given)).rsplit("-", 1)[0]
    async with engine.connect() as connection:
        last = await connection.scalar(
            select(numbers.number_counters.c.last).where(numbers.number_counters.c.series == series)
        )
        numbered = await connection.scalar(
            select(text("count(*)"))
            .select_from(store.applications)
            .where(store.applications.c.tracking_number.startswith(series))
        )
    assert (last, numbered) == (6, 6), "every number names an application, none more"
    for answer in answers:
        number, code = answer.json()["tracking_number"], answer.json()["check_code"]
        tracked = await applications.get(f"/api/v1/track/{number}", params={"code": code})
        assert tracked.status_code == 200


async def test_the_inbox_pages_by_deadline_with_paused_ones_last_and_counts_them_all(
    applications: httpx.AsyncClient,
    engine: AsyncEngine,
    tokens: Tokens,
    publish_service: Callable[..., Any],
    applications_settings: Any,
) -> None:
    agency = fresh_agency("INB")
    published = await publish_service(agency=agency)
    now = dt.datetime.now(dt.UTC)

    async def make(**changes: Any) -> str:
        return await insert_application(
            engine,
            stored_application(
                agency=agency, service_id=published.service_id, service_slug=published.slug
            ).model_copy(update=changes),
        )

    late = await make(due_at=now - dt.timedelta(hours=2))
    soon = await make(due_at=now + dt.timedelta(hours=3))
    later = await make(due_at=now + dt.timedelta(days=8))
    paused = sorted(
        [
            await make(state="revision_requested", due_at=None, paused_at=now),
            await make(state="revision_requested", due_at=None, paused_at=now),
        ]
    )
    await make(state="completed", open=False, due_at=None, completed_at=now)
    await insert_application(engine, stored_application(due_at=now))  # another agency's

    officer = tokens.headers("officer", agency=agency)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await applications.get("/api/v1/applications/inbox", params=params, headers=officer)
        assert page.status_code == 200, page.text
        body = page.json()
        assert (body["open"], body["overdue"]) == (5, 1), "counts cover the whole inbox"
        assert body["by_state"] == {"in_review": 3, "revision_requested": 2}
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [late, soon, later, *paused]
    calendar = WorkingCalendar(applications_settings.timezone)
    nearing = (now + dt.timedelta(hours=3)) < calendar.add(now, 1)
    assert body["nearing_due"] == int(nearing)

    revisions = await applications.get(
        "/api/v1/applications/inbox", params={"state": "revision_requested"}, headers=officer
    )
    assert [i["id"] for i in revisions.json()["items"]] == paused
    mall = await applications.get(
        "/api/v1/applications/inbox", params={"agency": agency}, headers=tokens.headers("mpp_admin")
    )
    assert [i["id"] for i in mall.json()["items"]] == seen
    broken = await applications.get(
        "/api/v1/applications/inbox", params={"cursor": "!!"}, headers=officer
    )
    assert broken.status_code == 400


async def test_the_inbox_is_read_from_its_index_in_order_without_sorting(
    engine: AsyncEngine,
) -> None:
    for state in (None, "in_review"):
        query = store.inbox_query(agency="UJI", state=state, cursor=None, limit=50)
        compiled = query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        async with engine.begin() as connection:
            # On a test's few rows the planner may rightly prefer to scan and sort; what is
            # checked is that the index can serve the query in order (a plan needing a sort keeps
            # its Sort even when sorting is discouraged).
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                await connection.execute(text(f"SET LOCAL {setting} = off"))
            plan = "\n".join(
                (await connection.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
            )
        assert "ix_applications_open_agency_inbox_due_at_id" in plan, plan
        assert "Sort" not in plan, plan


async def test_a_citizens_list_is_newest_first_by_submission_time_in_pages(
    applications: httpx.AsyncClient,
    engine: AsyncEngine,
    tokens: Tokens,
    publish_service: Callable[..., Any],
) -> None:
    published = await publish_service()
    citizen = f"c-list-{secrets.token_hex(3)}"
    now = dt.datetime.now(dt.UTC)
    # Ids in the opposite order of time: the list follows time, not ids.
    ids = [
        await insert_application(
            engine,
            stored_application(
                id=f"app-{n}-{secrets.token_hex(3)}",
                citizen_id=citizen,
                service_id=published.service_id,
                service_slug=published.slug,
                submitted_at=now - dt.timedelta(days=n),
            ),
        )
        for n in range(3)
    ]
    mine = tokens.headers("citizen", subject=citizen)
    first = await applications.get("/api/v1/applications", params={"limit": 2}, headers=mine)
    assert [a["id"] for a in first.json()["items"]] == ids[:2]
    rest = await applications.get(
        "/api/v1/applications",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=mine,
    )
    assert [a["id"] for a in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_cursor"] is None


async def test_the_command_center_counts_per_agency_in_the_database(
    applications: httpx.AsyncClient,
    engine: AsyncEngine,
    tokens: Tokens,
    publish_service: Callable[..., Any],
) -> None:
    agency = fresh_agency("SUM")
    published = await publish_service(agency=agency)
    now = dt.datetime.now(dt.UTC)
    base = {"agency": agency, "service_id": published.service_id, "service_slug": published.slug}
    for changes in (
        {"submitted_at": now, "due_at": now - dt.timedelta(minutes=1)},  # today, overdue
        {"due_at": now + dt.timedelta(days=1)},  # open, on time
        {  # submitted long ago, completed this month on time
            "submitted_at": now - dt.timedelta(days=40),
            "state": "completed",
            "open": False,
            "due_at": None,
            "completed_at": now - dt.timedelta(days=1),
            "overall_due_at": now,
        },
        {  # completed late
            "state": "completed",
            "open": False,
            "due_at": None,
            "completed_at": now - dt.timedelta(hours=1),
            "overall_due_at": now - dt.timedelta(days=1),
        },
    ):
        await insert_application(engine, stored_application(**base, **changes))
    answer = await applications.get("/api/v1/ops/summary", headers=tokens.headers("ops_viewer"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [figures] = [a for a in body["agencies"] if a["agency"] == agency]
    assert figures == {
        "agency": agency,
        "submitted_today": 1,
        "open": 2,
        "overdue": 1,
        "completed_30d": 2,
        "completed_on_time_30d": 1,
    }
    assert body["open"] >= 2 and body["by_state"]["in_review"] >= 2
    assert [a["agency"] for a in body["agencies"]] == sorted(a["agency"] for a in body["agencies"])


async def test_concurrent_complaints_take_tracking_ids_without_gaps(
    applications: httpx.AsyncClient, engine: AsyncEngine, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    await feed(catalog_event(agency_facts(AGENCY)))
    body = COMPLAINT | {"agency": AGENCY}
    requests = []
    for i in range(6):
        headers = tokens.headers("citizen", subject=f"c-adu-{i}-{secrets.token_hex(2)}")
        if i % 2 == 0:
            headers["Idempotency-Key"] = f"adu-{secrets.token_hex(6)}"
            requests += [headers] * 3
        else:
            requests.append(headers)
    answers = await asyncio.gather(
        *(applications.post("/api/v1/complaints", json=body, headers=h) for h in requests)
    )
    assert sorted(a.status_code for a in answers) == [200] * 6 + [201] * 6, [
        a.text for a in answers
    ]
    given = sorted({int(a.json()["tracking_id"].rsplit("-", 1)[1]) for a in answers})
    assert len(given) == 6 and given[-1] - given[0] == 5, "no gaps among them"
    series = answers[0].json()["tracking_id"].rsplit("-", 1)[0]
    async with engine.connect() as connection:
        last = await connection.scalar(
            select(numbers.number_counters.c.last).where(numbers.number_counters.c.series == series)
        )
    assert last == given[-1], "no number was taken and lost"
