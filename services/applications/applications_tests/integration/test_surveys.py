"""Satisfaction surveys on the real store and Kafka: once per completed application, only by its
citizen, and the index (IKM) per service, per agency and for the mall."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from typing import Any

import httpx

from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY, insert_application, stored_application
from ..unit.test_ikm import IKM, NRR, RESPONSES

SCORES = {f"u{i}": 4 for i in range(1, 10)}


async def an_application(
    applications: httpx.AsyncClient,
    citizen: str,
    *,
    state: str = "completed",
    agency: str = AGENCY,
    service_id: str | None = None,
) -> str:
    """An application as the workflow leaves it (the submit route is not needed)."""
    now = dt.datetime.now(dt.UTC)
    application = stored_application(
        citizen_id=citizen,
        agency=agency,
        state=state,
        open=state != "completed",
        completed_at=now if state == "completed" else None,
        **({"service_id": service_id} if service_id else {}),
    )
    engine = applications.app.state.runtime.engine  # type: ignore[attr-defined]
    return await insert_application(engine, application)


async def rate(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    application_id: str,
    citizen: str,
    scores: dict[str, Any] = SCORES,
    comment: str | None = None,
) -> httpx.Response:
    return await applications.post(
        f"/api/v1/applications/{application_id}/survey",
        json={"scores": scores, "comment": comment},
        headers=tokens.headers("citizen", subject=citizen),
    )


async def test_the_form_lists_the_nine_elements_with_their_answers_publicly(
    applications: httpx.AsyncClient,
) -> None:
    response = await applications.get("/api/v1/surveys/elements")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["code"] for e in body["elements"]] == [f"u{i}" for i in range(1, 10)]
    assert body["elements"][0]["name"] == {"id": "Persyaratan", "en": "Requirements"}
    assert body["elements"][8]["name"]["en"] == "Facilities"
    assert all([o["score"] for o in e["options"]] == [1, 2, 3, 4] for e in body["elements"])
    assert [(g["code"], g["label"]["id"]) for g in body["grades"]] == [
        ("A", "Sangat Baik"),
        ("B", "Baik"),
        ("C", "Kurang Baik"),
        ("D", "Tidak Baik"),
    ]


async def test_a_citizen_rates_a_completed_application_once_and_the_event_carries_no_comment(
    applications: httpx.AsyncClient, tokens: Tokens, applications_settings: Any
) -> None:
    citizen = f"c-{secrets.token_hex(4)}"
    application_id = await an_application(applications, citizen)
    scores = dict(SCORES, u3=2, u9=3)
    first, second = await asyncio.gather(
        rate(applications, tokens, application_id, citizen, scores, "Antrean lama sekali"),
        rate(applications, tokens, application_id, citizen, scores, "Antrean lama sekali"),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409], (first.text, second.text)
    created, refused = (first, second) if first.status_code == 201 else (second, first)
    assert created.json()["scores"] == scores
    assert created.headers["Location"] == f"/api/v1/applications/{application_id}/survey"
    assert refused.json()["reason"] == "survey-already-submitted"

    again = await rate(applications, tokens, application_id, citizen)
    assert again.status_code == 409
    mine = await applications.get(
        f"/api/v1/applications/{application_id}/survey",
        headers=tokens.headers("citizen", subject=citizen),
    )
    assert mine.status_code == 200
    assert mine.json()["comment"] == "Antrean lama sekali"
    assert mine.json()["scores"] == scores, "the second answer changed nothing"

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [
            e
            for e in found
            if e["type"] == "applications.survey.submitted.v1" and e["subject"] == application_id
        ]

    seen = await read_topic(
        KAFKA, applications_settings.topic("applications.events"), until=lambda r: bool(ours(r))
    )
    [submitted] = ours(seen)
    assert submitted["data"]["scores"] == scores
    assert submitted["data"]["agency"] == AGENCY
    assert "Antrean" not in json.dumps(submitted), "comments stay out of events"


async def test_a_survey_opens_only_once_the_service_is_completed(
    applications: httpx.AsyncClient, tokens: Tokens
) -> None:
    citizen = f"c-{secrets.token_hex(4)}"
    application_id = await an_application(applications, citizen, state="in_review")
    response = await rate(applications, tokens, application_id, citizen)
    assert response.status_code == 409
    assert response.json()["reason"] == "application-not-completed"
    assert response.json()["state"] == "in_review"


async def test_only_the_applications_citizen_may_rate_it(
    applications: httpx.AsyncClient, tokens: Tokens
) -> None:
    application_id = await an_application(applications, "c-owner")
    other = await rate(applications, tokens, application_id, "c-someone-else")
    assert other.status_code == 404, "another citizen's application is not told to exist"
    missing = await rate(applications, tokens, "app-nope", "c-owner")
    assert missing.status_code == 404
    officer = await applications.post(
        f"/api/v1/applications/{application_id}/survey",
        json={"scores": SCORES},
        headers=tokens.headers("officer", agency=AGENCY),
    )
    assert officer.status_code == 403
    read_by_other = await applications.get(
        f"/api/v1/applications/{application_id}/survey",
        headers=tokens.headers("citizen", subject="c-someone-else"),
    )
    assert read_by_other.status_code == 404


async def test_each_of_the_nine_scores_must_be_one_to_four(
    applications: httpx.AsyncClient, tokens: Tokens
) -> None:
    application_id = await an_application(applications, "c-scores")
    scores = {k: v for k, v in SCORES.items() if k != "u9"} | {"u1": 5, "u2": "4", "u10": 3}
    response = await rate(applications, tokens, application_id, "c-scores", scores)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"scores.u1", "scores.u2", "scores.u9", "scores.u10"}


async def test_the_index_per_service_agency_and_mall_matches_the_worked_example(
    applications: httpx.AsyncClient, tokens: Tokens
) -> None:
    agency = f"IKM{secrets.token_hex(3).upper()}"
    service_id = f"svc-ikm-{secrets.token_hex(3)}"
    for i, row in enumerate(RESPONSES):
        citizen = f"c-ikm-{i}-{secrets.token_hex(2)}"
        application_id = await an_application(
            applications, citizen, agency=agency, service_id=service_id
        )
        scores = {f"u{n}": score for n, score in enumerate(row, start=1)}
        answered = await rate(applications, tokens, application_id, citizen, scores, "rahasia")
        assert answered.status_code == 201, answered.text
    # A second service of the agency, rated all fours, counts for the agency, not the first one.
    other = await an_application(applications, "c-ikm-other", agency=agency)
    assert (await rate(applications, tokens, other, "c-ikm-other")).status_code == 201

    public = await applications.get("/api/v1/surveys/ikm", params={"service": service_id})
    assert public.status_code == 200, public.text
    body = public.json()
    assert (body["respondents"], body["ikm"], body["grade"]["code"]) == (10, IKM, "A")
    assert [e["nrr"] for e in body["elements"]] == NRR
    assert "rahasia" not in public.text
    by_slug = await applications.get(
        "/api/v1/surveys/ikm", params={"service": service_id.removeprefix("svc-")}
    )
    assert by_slug.json()["ikm"] == IKM

    ops = await applications.get(
        "/api/v1/ops/ikm", params={"agency": agency}, headers=tokens.headers("ops_viewer")
    )
    assert ops.status_code == 200, ops.text
    report = ops.json()
    assert report["respondents"] == 11
    assert report["ikm"] == 89.39  # (318 + 36) / 11 / 9 x 25 = 89.393...
    [agency_figures] = report["agencies"]
    assert (agency_figures["agency"], agency_figures["respondents"]) == (agency, 11)
    services = {s["service_id"]: s for s in report["services"]}
    assert services[service_id]["ikm"] == IKM
    assert services[service_id]["grade"]["label"] == {"id": "Sangat Baik", "en": "Very good"}

    mall = await applications.get("/api/v1/ops/ikm", headers=tokens.headers("mpp_admin"))
    assert mall.json()["respondents"] >= 11
    assert agency in {a["agency"] for a in mall.json()["agencies"]}

    # An agency's officer sees their own agency's figures, whatever they ask for.
    officer = await applications.get(
        "/api/v1/ops/ikm",
        params={"agency": agency},
        headers=tokens.headers("officer", agency="LAIN"),
    )
    assert officer.status_code == 200
    assert (officer.json()["agency"], officer.json()["respondents"]) == ("LAIN", 0)
    assert officer.json()["ikm"] is None

    citizen = await applications.get("/api/v1/ops/ikm", headers=tokens.headers("citizen"))
    assert citizen.status_code == 403

    today = dt.date.today()
    later = await applications.get(
        "/api/v1/ops/ikm",
        params={"agency": agency, "since": str(today + dt.timedelta(days=2))},
        headers=tokens.headers("mpp_admin"),
    )
    assert later.json()["respondents"] == 0
