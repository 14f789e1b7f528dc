"""A complaint's steps on the real store, bus and Mailpit: the agency it is forwarded to is
told, and the citizen hears of each step; each once however often its event arrives."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from mpp_shared.contracts.applications import (
    ComplaintClosed,
    ComplaintFiled,
    ComplaintForwarded,
    ComplaintReplied,
    ComplaintResponded,
)
from mpp_shared.contracts.catalog import AgencyUpserted
from mpp_shared.contracts.identity import StaffUpdated
from mpp_shared.testing import Tokens, eventually, mailbox
from notifications import store

from ..conftest import citizen, engine_of, event

DUE = dt.datetime(2026, 12, 4, 7, 59, 59, tzinfo=dt.UTC)  # Friday 4 December, 15.59 WITA


def staff(agency: str, role: str, name: str) -> StaffUpdated:
    token = secrets.token_hex(3)
    return StaffUpdated(
        staff_id=f"staff-{token}",
        name=name,
        role=role,
        agency=agency,
        email=f"{role}.{token}@example.id",
        active=True,
    )


async def inbox_of(notifications: httpx.AsyncClient, tokens: Tokens, citizen_id: str) -> Any:
    answer = await notifications.get(
        "/api/v1/notifications", headers=tokens.headers("citizen", subject=citizen_id)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def _at_least(found: Any, count: int) -> list[Any] | None:
    items = await found
    return items if len(items) >= count else None


async def test_a_forwarded_complaint_is_mailed_to_the_agency_and_the_citizen_sees_each_step(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    agency = f"DINAS{secrets.token_hex(2).upper()}"
    admin = staff(agency, "agency_admin", "Kepala Dinas")
    elsewhere = staff("SAMSAT", "agency_admin", "Kepala Samsat")
    person = citizen()
    names = AgencyUpserted.model_validate(
        {
            "agency_id": f"a-{agency}",
            "code": agency,
            "name": {"id": "Dinas Perhubungan", "en": "Transport Office"},
            "kind": "regional_office",
            "version": 1,
        }
    )
    await feed(
        event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"),
        *(event("identity.staff.updated.v1", s.staff_id, s, "gateway") for s in (admin, elsewhere)),
        event("catalog.agency.upserted.v1", names.agency_id, names, "catalog"),
    )
    facts: dict[str, Any] = {
        "complaint_id": f"cmp-{secrets.token_hex(4)}",
        "tracking_id": f"ADU-SNJ-20261127-{secrets.randbelow(999999):06d}",
        "agency": agency,
        "citizen_id": person.citizen_id,
    }
    steps = [
        ComplaintFiled(**facts, state="received", due_at=DUE),
        ComplaintForwarded(**facts, state="forwarded", due_at=DUE),
        ComplaintResponded(**facts, state="responded", due_at=DUE),
        ComplaintReplied(**facts, state="forwarded", due_at=DUE),
        ComplaintClosed(**facts, state="closed"),
    ]
    happened = [
        event(f"applications.complaint.{kind}.v1", facts["complaint_id"], step, "applications")
        for kind, step in zip(
            ("filed", "forwarded", "responded", "replied", "closed"), steps, strict=True
        )
    ]
    await feed(happened[0])
    await feed(happened[1], happened[1])  # delivered twice: told once

    # The agency's administrator is told it is theirs to answer, and by when.
    [told] = await eventually(lambda: mailbox(admin.email or ""), timeout=20)
    assert facts["tracking_id"] in told["Subject"]
    text = " ".join(told["Text"].split())
    assert "Kepala Dinas" in text and "diteruskan ke Dinas Perhubungan" in text
    assert "paling lambat 4 Desember 2026 15.59 WITA" in text
    assert await mailbox(elsewhere.email or "") == [], "another agency is not told"
    forwarded = await _messages(notifications, happened[1].id)
    assert sorted((m.channel, m.to) for m in forwarded) == [
        ("email", admin.email),
        ("inbox", person.citizen_id),
    ], "the citizen reads it in the inbox; the e-mail is the agency's"

    # The citizen sees the step in the inbox, with the agency's name and the complaint's page.
    [step] = [
        i
        for i in await inbox_of(notifications, tokens, person.citizen_id)
        if "diteruskan" in i["subject"]
    ]
    assert "diteruskan ke Dinas Perhubungan" in step["text"]
    assert f"/pengaduan/{facts['complaint_id']}" in step["text"]

    # Every later step: an answer and the closing reach the citizen; a reply, the agency.
    await feed(*happened[2:])
    mails = await eventually(lambda: _at_least(mailbox(admin.email or ""), 2), timeout=20)
    assert any("membalas" in m["Subject"] for m in mails)
    items = await eventually(
        lambda: _at_least(inbox_of(notifications, tokens, person.citizen_id), 4), timeout=20
    )
    subjects = [i["subject"] for i in reversed(items)]
    assert subjects == [
        f"Pengaduan {facts['tracking_id']} tercatat",
        f"Pengaduan {facts['tracking_id']} diteruskan",
        f"Pengaduan {facts['tracking_id']} ditanggapi",
        f"Pengaduan {facts['tracking_id']} ditutup",
    ]
    citizen_mails = await eventually(lambda: _at_least(mailbox(person.email or ""), 3), timeout=20)
    assert not any("menunggu tanggapan" in m["Subject"] for m in citizen_mails)


async def test_a_complaint_forwarded_to_an_agency_with_nobody_to_tell_is_counted(
    notifications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    facts = ComplaintForwarded(
        complaint_id=f"cmp-{secrets.token_hex(4)}",
        tracking_id=f"ADU-SNJ-20261127-{secrets.randbelow(999999):06d}",
        state="forwarded",
        agency=f"SEPI{secrets.token_hex(2).upper()}",
        due_at=DUE,
    )
    happened = event(
        "applications.complaint.forwarded.v1", facts.complaint_id, facts, "applications"
    )
    await feed(happened)
    [failed] = await eventually(lambda: _messages(notifications, happened.id), timeout=20)
    assert (failed.channel, failed.to, failed.status) == ("email", "", "permanent-failure")
    assert facts.tracking_id in (failed.subject or "")


async def _messages(notifications: httpx.AsyncClient, event_id: str) -> Any:
    async with engine_of(notifications).connect() as connection:
        return await store.messages_of_event(connection, event_id)
