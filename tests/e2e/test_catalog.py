"""The seeded catalog of Kabupaten Sinjai, browsed and searched through the gateway."""

from __future__ import annotations

import httpx

from .conftest import Platform


def get(platform: Platform, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{platform.gateway}/api/v1/catalog{path}", params=params, timeout=10)  # type: ignore[arg-type]


def test_seeded_catalog_has_the_regency_agencies_and_its_online_services(
    platform: Platform,
) -> None:
    agencies, cursor = [], None
    while True:
        page = get(
            platform, "/agencies", limit=100, **({"cursor": cursor} if cursor else {})
        ).json()
        agencies += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    services, cursor = [], None
    while True:
        page = get(
            platform, "/services", limit=100, **({"cursor": cursor} if cursor else {})
        ).json()
        services += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    applicable = [s for s in services if {"online", "booking"} & set(s["channels"])]
    assert len(agencies) >= 27
    assert len(applicable) >= 97
    assert len({s["agency"] for s in applicable}) >= 20


def test_a_service_shows_its_standard_form_and_workflow_and_caches_by_etag(
    platform: Platform,
) -> None:
    found = get(platform, "/services/akta-kelahiran")
    assert found.status_code == 200, found.text
    service = found.json()
    assert service["agency"] == "DISDUKCAPIL"
    assert service["standard"]["fee"]["amount"] == 0
    assert service["standard"]["requirements"]
    assert service["form_schema"]["type"] == "object"
    assert service["workflow"]["initial_state"] == "submitted"
    again = httpx.get(
        f"{platform.gateway}/api/v1/catalog/services/akta-kelahiran",
        headers={"If-None-Match": found.headers["etag"]},
    )
    assert again.status_code == 304


def test_search_finds_what_citizens_mean_and_says_why(platform: Platform) -> None:
    birth = get(platform, "/services", q="bikin akte lahir anak").json()["items"]
    assert birth[0]["slug"] == "akta-kelahiran"
    reasons = {(r["query"], r["how"]) for r in birth[0]["match"]["reasons"]}
    assert ("akte lahir", "everyday") in reasons
    sim = get(platform, "/services", q="perpanjang sim").json()["items"]
    assert "sim" in sim[0]["slug"] and "perpanjang" in sim[0]["slug"]
    english = get(platform, "/services", q="birth certificate").json()["items"]
    assert english[0]["slug"] == "akta-kelahiran"
    typo = get(platform, "/services", q="akta kelahrian").json()["items"]
    assert typo[0]["slug"] == "akta-kelahiran"
    police = get(platform, "/services", q="skck", channel="online").json()["items"]
    assert police and all("online" in s["channels"] for s in police)


def test_filters_and_unknown_values_are_answered_clearly(platform: Platform) -> None:
    civil = get(platform, "/services", category="civil_status", limit=100).json()["items"]
    assert civil and all(s["category"] == "civil_status" for s in civil)
    assert get(platform, "/services", category="astrology").status_code == 422
    assert get(platform, "/services/tidak-ada").status_code == 404
