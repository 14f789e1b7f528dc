"""The platform through its single entry point, with every deployable running as a process."""

from __future__ import annotations

import time

import httpx

from .conftest import Platform

COMPONENTS = {
    "gateway",
    "catalog",
    "applications",
    "documents",
    "notifications",
    "kafka",
    "postgres",
    "s3",
    "mailpit",
}


def test_gateway_health_reports_every_service_and_server_healthy(platform: Platform) -> None:
    response = httpx.get(f"{platform.gateway}/health", timeout=10)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["components"]) == COMPONENTS
    assert all(state == "ok" for state in body["components"].values()), body


def test_gateway_routes_a_public_path_to_its_service_within_one_trace(platform: Platform) -> None:
    response = httpx.get(f"{platform.gateway}/api/v1/catalog/agencies", params={"limit": 5})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 5
    trace_id = response.headers["traceresponse"].split("-")[1]
    log = (platform.folder / "catalog.log").read_text()
    assert f'"trace_id": "{trace_id}"' in log


def test_bad_input_is_problem_json_in_indonesian_by_default_and_english_on_request(
    platform: Platform,
) -> None:
    url = f"{platform.gateway}/api/v1/catalog/agencies"
    indonesian = httpx.get(url, params={"limit": "banyak"})
    english = httpx.get(
        url, params={"limit": "banyak"}, headers={"Accept-Language": "en-US,en;q=0.9,id;q=0.5"}
    )
    for response in (indonesian, english):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/validation"
        assert response.json()["errors"][0]["field"] == "limit"
    assert indonesian.json()["title"] == "Data tidak valid"
    assert indonesian.json()["errors"][0]["message"] == "Harus berupa bilangan bulat."
    assert english.json()["title"] == "Invalid data"
    unknown = httpx.get(f"{platform.gateway}/api/v1/tidak-ada")
    assert unknown.status_code == 404
    assert unknown.json()["title"] == "Tidak ditemukan"


def test_a_service_that_is_down_gives_a_quick_503_problem_and_shows_in_health(
    platform: Platform,
) -> None:
    platform.stop("catalog")
    try:
        started = time.monotonic()
        response = httpx.get(f"{platform.gateway}/api/v1/catalog/agencies", timeout=10)
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert "catalog" in response.json()["detail"]
        assert elapsed < 5, f"the gateway took {elapsed:.1f}s to say the catalog is down"
        health = httpx.get(f"{platform.gateway}/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["components"]["catalog"].startswith("unavailable")
        assert health.json()["components"]["applications"] == "ok"
    finally:
        platform.start("catalog")
    assert httpx.get(f"{platform.gateway}/api/v1/catalog/agencies").status_code == 200
