"""Which reads leave an audit line: staff and partners' successful reads of personal data."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request

from mpp_shared.auth import Principal
from mpp_shared.events import Event
from mpp_shared.read_audit import ReadAudit

OFFICER = Principal(subject="officer-1", role="officer", agency="DISDUKCAPIL")
CITIZEN = Principal(subject="citizen-1", role="citizen")


class Lines:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> None:
        self.events.append(event)


async def who(request: Request) -> Principal:
    caller: Principal = request.app.state.caller
    request.state.principal = caller  # as mpp_shared.auth does
    return caller


Caller = Annotated[Principal, Depends(who)]


def app_for(caller: Principal, lines: Lines) -> FastAPI:
    app = FastAPI()
    app.state.caller = caller
    app.state.runtime = SimpleNamespace(read_audit=lines)

    @app.get("/api/v1/applications/{application_id}")
    async def read(application_id: str, _: Caller) -> dict[str, str]:
        if application_id == "missing":
            raise HTTPException(404)
        return {"id": application_id}

    @app.post("/api/v1/applications/{application_id}")
    async def write(application_id: str, _: Caller) -> dict[str, str]:
        return {"id": application_id}

    @app.get("/api/v1/catalog/x")
    async def public(_: Caller) -> dict[str, str]:
        return {}

    app.add_middleware(ReadAudit, service_name="applications", segments=("applications",))
    return app


@pytest.mark.parametrize(
    ("caller", "method", "path", "audited"),
    [
        (OFFICER, "GET", "/api/v1/applications/a1?view=full", True),
        (CITIZEN, "GET", "/api/v1/applications/a1", False),
        (OFFICER, "GET", "/api/v1/applications/missing", False),
        (OFFICER, "POST", "/api/v1/applications/a1", False),
        (OFFICER, "GET", "/api/v1/catalog/x", False),
    ],
)
async def test_what_is_audited(caller: Principal, method: str, path: str, audited: bool) -> None:
    lines = Lines()
    transport = httpx.ASGITransport(app=app_for(caller, lines))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answer = await client.request(method, path, headers={"X-Request-Id": "req-1"})
    assert answer.status_code in (200, 404)
    assert bool(lines.events) == audited
    if audited:
        [event] = lines.events
        assert event.type == "applications.personal_data.read.v1"
        assert event.data["actor"] == "officer-1"
        assert event.data["actor_agency"] == "DISDUKCAPIL"
        assert event.data["resource"] == "/api/v1/applications/a1"
        assert event.data["query"] == "view=full"
        assert event.data["request_id"] == "req-1"
