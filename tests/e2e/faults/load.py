"""A steady stream of citizens' and officers' calls through the gateway, and the client's own log
of what the platform answered: what the fault suite checks the platform against afterwards."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

SERVICE = "pengaduan-gangguan-air-pdam"  # PDAM's fault report: online, no document required
AGENCY = "PDAM"
TIMEOUT = 5.0  # a caller's patience: an answer slower than this is a hang
SHARES = {"submit": 6, "act": 3, "upload": 1}


def form() -> dict[str, Any]:
    since = dt.date.today() - dt.timedelta(days=random.randint(0, 5))
    return {
        "problem": random.choice(["no_water", "quality", "leak", "meter"]),
        "location": "Jl. Persatuan Raya no. 12, depan masjid",
        "since": since.isoformat(),
        "phone": "+6281234567890",
    }


def small_pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


@dataclass
class Call:
    """One call as the client saw it."""

    kind: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no answer within TIMEOUT, or no connection
    retry_after: str | None = None
    error: str = ""


@dataclass
class Submission:
    """An application the client asked for: its Idempotency-Key and, once accepted, the answer."""

    key: str
    citizen: dict[str, Any]
    form: dict[str, Any] = field(default_factory=form)  # a retry sends the same request
    application: dict[str, Any] | None = None
    last_status: int | None = None  # None: no answer yet, or none within TIMEOUT
    # The officer's start_review: True when answered 200; None when its answer was lost on the
    # way, or a retry found it taken (409), so it happened at most once; False while to do.
    reviewed: bool | None = False


@dataclass
class Stream:
    """Calls at `rate` a second, from the citizens and the officer, logged."""

    gateway: str
    citizens: list[dict[str, Any]]
    officer: dict[str, str]
    rate: float = 20.0
    # Further gateway replicas: a call whose connection is refused goes to the next, as a load
    # balancer does with an endpoint that went away (nothing was sent, so nothing can be doubled).
    spares: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, seconds: float = 3600.0) -> None:
        """Start a call every 1/rate s, whatever became of the earlier ones, for `seconds` or
        until `stopping` is set; then wait for the calls in flight."""
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=self.gateway, timeout=TIMEOUT, limits=limits) as http:
            kinds = [k for k, share in SHARES.items() for _ in range(share)]
            started, tasks = time.monotonic(), []
            n = 0
            while (now := time.monotonic()) - started < seconds and not self.stopping.is_set():
                planned = started + n / self.rate
                if planned > now:
                    await asyncio.sleep(planned - now)
                kind = kinds[n % len(kinds)]
                tasks.append(asyncio.create_task(getattr(self, f"_{kind}")(http)))
                n += 1
            await asyncio.gather(*tasks)

    async def _call(self, http: httpx.AsyncClient, kind: str, method: str, url: str, **kw: Any):
        started = time.monotonic()
        try:
            response = await self._request(http, method, url, **kw)
        except httpx.HTTPError as exc:
            self.calls.append(
                Call(kind, started, time.monotonic() - started, None, error=type(exc).__name__)
            )
            return None
        self.calls.append(
            Call(
                kind,
                started,
                time.monotonic() - started,
                response.status_code,
                response.headers.get("Retry-After"),
                "" if response.status_code < 400 else response.text[:300],
            )
        )
        return response

    async def _request(
        self, http: httpx.AsyncClient, method: str, path: str, **kw: Any
    ) -> httpx.Response:
        *first, last = [self.gateway, *self.spares]
        for base in first:
            try:
                return await http.request(method, base + path, **kw)
            except httpx.ConnectError:
                continue
        return await http.request(method, last + path, **kw)

    async def _submit(self, http: httpx.AsyncClient, submission: Submission | None = None) -> None:
        if submission is None:
            citizen = random.choice(self.citizens)
            submission = Submission(key=f"faults-{uuid.uuid4()}", citizen=citizen)
            self.submissions.append(submission)
        response = await self._call(
            http,
            "submit",
            "POST",
            "/api/v1/applications",
            json={"service": SERVICE, "form": submission.form, "documents": {}},
            headers=submission.citizen["headers"] | {"Idempotency-Key": submission.key},
        )
        submission.last_status = None if response is None else response.status_code
        if response is not None and response.status_code == 201:
            submission.application = response.json()

    async def _act(self, http: httpx.AsyncClient) -> None:
        waiting = [s for s in self.submissions if s.application and s.reviewed is False]
        if not waiting:
            return await self._submit(http)
        submission = waiting[0]
        submission.reviewed = True  # one officer at a time takes it
        response = await self._call(
            http,
            "act",
            "POST",
            f"/api/v1/applications/{submission.application['id']}/actions/start_review",  # type: ignore[index]
            headers=self.officer,
        )
        if response is None or response.status_code == 409:
            submission.reviewed = None
        else:
            submission.reviewed = response.status_code == 200
        return None

    async def _upload(self, http: httpx.AsyncClient) -> None:
        citizen = random.choice(self.citizens)
        response = await self._call(
            http,
            "upload",
            "POST",
            "/api/v1/documents",
            files={"file": ("rekening.pdf", small_pdf(citizen["id"]), "application/pdf")},
            data={"service": SERVICE, "requirement": "rekening_air"},
            headers=citizen["headers"],
        )
        if response is not None and response.status_code == 201:
            self.uploads.append(str(response.json()["id"]))

    async def finish(self, patience: float = 120.0) -> None:
        """Retry, with the same Idempotency-Key, every submission that got no answer, a 503 or
        a 429 (as a phone would once the mall answers again), a few at a time, until each is
        answered otherwise or patience runs out."""
        deadline = time.monotonic() + patience
        gate = asyncio.Semaphore(8)

        async def again(http: httpx.AsyncClient, submission: Submission) -> None:
            async with gate:
                await self._submit(http, submission)

        async with httpx.AsyncClient(base_url=self.gateway, timeout=TIMEOUT) as http:
            while time.monotonic() < deadline:
                pending = [
                    s
                    for s in self.submissions
                    if s.application is None and s.last_status in (None, 429, 503)
                ]
                if not pending:
                    return
                await asyncio.gather(*(again(http, s) for s in pending))
                await asyncio.sleep(1.0)

    def summary(self, since: float = 0.0) -> dict[str, Any]:
        """What the callers met: answers by kind and status, the slowest, 503s without
        Retry-After, answers of 500 and above other than 503, calls without an answer."""
        calls = [c for c in self.calls if c.started >= since]
        return {
            "calls": len(calls),
            "by_status": Counter(f"{c.kind} {c.status or c.error}" for c in calls),
            "slowest_s": round(max((c.seconds for c in calls), default=0.0), 2),
            "503_without_retry_after": sum(
                1 for c in calls if c.status == 503 and not c.retry_after
            ),
            "5xx": [
                c for c in calls if c.status is not None and c.status >= 500 and c.status != 503
            ],
            "no_answer": [c for c in calls if c.status is None],
            "examples": {
                f"{c.kind} {c.status or c.error}": c.error
                for c in reversed(calls)
                if c.status is None or c.status >= 400
            },
            "accepted": sum(1 for s in self.submissions if s.application),
            "asked": len(self.submissions),
        }
