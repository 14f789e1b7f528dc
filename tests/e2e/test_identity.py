"""Identity through the real deployables: a citizen registers and verifies the phone with the
code delivered by the notifications service (read from Mailpit), signs in; services enforce their
own rules with the gateway's tokens; one OpenAPI for the whole mall."""

from __future__ import annotations

import re
import secrets
import time

import httpx

from mpp_shared.settings import DEVELOPMENT_SECRET

from .conftest import Platform, _free_port, register_citizen

PASSWORD = "kuda lari di pantai"


def sign_in(platform: Platform, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{platform.gateway}/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=10,
    )


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_citizen_registers_with_the_code_sent_by_sms_and_signs_in(platform: Platform) -> None:
    citizen = register_citizen(platform, "Siti Aminah")
    assert "Kode verifikasi MPP Elektronik" in str(citizen["sms"]["Text"]), "Indonesian by default"
    me = httpx.get(f"{platform.gateway}/api/v1/auth/me", headers=citizen["headers"], timeout=10)
    assert me.json()["name"] == "Siti Aminah"
    assert sign_in(platform, citizen["nik"], PASSWORD).status_code == 200


def test_services_enforce_their_own_rules_with_the_gateways_tokens(platform: Platform) -> None:
    admin = bearer(sign_in(platform, "admin", DEVELOPMENT_SECRET))
    suffix = secrets.token_hex(3)
    created = httpx.post(
        f"{platform.gateway}/api/v1/auth/staff",
        json={
            "username": f"admin.samsat.{suffix}",
            "name": "Admin Samsat",
            "role": "agency_admin",
            "agency": "SAMSAT",
            "password": PASSWORD,
        },
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    samsat_admin = bearer(sign_in(platform, f"admin.samsat.{suffix}", PASSWORD))
    own = httpx.get(
        f"{platform.gateway}/api/v1/catalog/services/pajak-kendaraan-tahunan/draft",
        headers=samsat_admin,
        timeout=10,
    )
    assert own.status_code == 200, own.text
    other = httpx.get(
        f"{platform.gateway}/api/v1/catalog/services/ktp-el-baru/draft",
        headers=samsat_admin,
        timeout=10,
    )
    assert other.status_code == 403, "the catalog itself refuses another agency's service"
    assert other.headers["content-type"] == "application/problem+json"


def test_one_openapi_document_and_its_docs_page_for_the_whole_mall(platform: Platform) -> None:
    document = httpx.get(f"{platform.gateway}/api/v1/openapi.json", timeout=10).json()
    paths = set(document["paths"])
    assert {"/api/v1/auth/token", "/api/v1/auth/register", "/api/v1/catalog/services"} <= paths
    assert "/api/v1/catalog/services/{id_or_slug}" in paths
    assert "unavailable" not in document["info"]["description"]
    page = httpx.get(f"{platform.gateway}/docs", timeout=10)
    assert page.status_code == 200
    for asset in re.findall(r'(?:src|href)="(/docs/[^"]+)"', page.text):
        assert httpx.get(f"{platform.gateway}{asset}", timeout=10).status_code == 200, asset
    assert "cdn" not in page.text.lower(), "every asset is served by the mall itself"


def test_a_caller_cannot_pick_its_own_address_with_x_forwarded_for(platform: Platform) -> None:
    # A gateway of its own with a tight sign-in limit, served as deployed (uvicorn would believe
    # any local caller's X-Forwarded-For if told to).
    strict = Platform(
        folder=platform.folder,
        env=platform.env | {"MPP_RATE_LIMIT_AUTH_PER_CLIENT": "3/minute"},
        ports={"gateway": _free_port()},
    )
    strict.start("gateway")
    try:
        answers = [
            httpx.post(
                f"{strict.gateway}/api/v1/auth/token",
                data={"grant_type": "password", "username": f"nobody.{n}", "password": "x"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                timeout=10,
            ).status_code
            for n in range(4)
        ]
    finally:
        strict.stop("gateway")
    assert answers == [401, 401, 401, 429]


def _refused_within_seconds(url: str, headers: dict[str, str]) -> httpx.Response:
    """The answer once the service refuses the token (it learns of the session's end from
    Kafka), or the last answer after 10 seconds."""
    deadline = time.monotonic() + 10
    while True:
        answer = httpx.get(url, headers=headers, timeout=10)
        if answer.status_code == 401 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_every_service_refuses_a_session_the_gateway_ended(platform: Platform) -> None:
    citizen = register_citizen(platform, "Nur Aisyah")
    applications = f"http://127.0.0.1:{platform.ports['applications']}/api/v1/applications"
    documents = f"http://127.0.0.1:{platform.ports['documents']}/api/v1/documents"
    assert httpx.get(applications, headers=citizen["headers"], timeout=10).status_code == 200
    signed_out = httpx.post(
        f"{platform.gateway}/api/v1/auth/logout", headers=citizen["headers"], timeout=10
    )
    assert signed_out.status_code == 204
    # Straight at the services' own ports, past the gateway, with the unexpired token.
    refused = _refused_within_seconds(applications, citizen["headers"])
    assert refused.status_code == 401, refused.text
    assert refused.json()["reason"] == "session-ended"
    assert _refused_within_seconds(documents, citizen["headers"]).status_code == 401

    # A staff member switched off: their token stops working everywhere too.
    admin = bearer(sign_in(platform, "admin", DEVELOPMENT_SECRET))
    username = f"petugas.{secrets.token_hex(3)}"
    created = httpx.post(
        f"{platform.gateway}/api/v1/auth/staff",
        json={
            "username": username,
            "name": "Petugas Uji",
            "role": "officer",
            "agency": "DISDUKCAPIL",
            "password": PASSWORD,
        },
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    officer = bearer(sign_in(platform, username, PASSWORD))
    inbox = f"http://127.0.0.1:{platform.ports['applications']}/api/v1/applications/inbox"
    assert httpx.get(inbox, headers=officer, timeout=10).status_code == 200
    off = httpx.patch(
        f"{platform.gateway}/api/v1/auth/staff/{created.json()['id']}",
        json={"active": False},
        headers=admin,
        timeout=10,
    )
    assert off.status_code == 200, off.text
    assert _refused_within_seconds(inbox, officer).status_code == 401
