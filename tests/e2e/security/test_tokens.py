"""Forged, expired, misdirected and ended access tokens are refused by the gateway and by every
service on its own port: no service trusts that only the gateway can reach it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.settings import Settings
from gateway.tokens import signing_keys
from mpp_shared.auth import public_jwk

from ..conftest import Platform, register_citizen

# A call each deployable answers a signed-in citizen with anything but 401.
PROTECTED = {
    "gateway": "/api/v1/auth/me",
    "applications": "/api/v1/applications",
    "documents": "/api/v1/documents",
    "notifications": "/api/v1/notifications",
    "catalog": "/api/v1/catalog/services/ktp-el-baru/draft",  # staff only: 403 for a citizen
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _unsigned(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A token put together by hand: HMAC-SHA256 with `key`, or no signature at all."""
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    if key is None:
        return head + "."
    return head + "." + _b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


def forgeries(real: str) -> dict[str, str]:
    """Every way an attacker (or a stale client) may present a token, from a real one."""
    claims = _claims_of(real)
    gateway_key = signing_keys(Settings())[0]
    public = public_jwk(gateway_key)
    kid = public["kid"]
    public_bytes = base64.urlsafe_b64decode(public["x"] + "==")
    now = int(time.time())

    def signed(key: Ed25519PrivateKey, **changes: Any) -> str:
        return jwt.encode(claims | changes, key, algorithm="EdDSA", headers={"kid": kid})

    return {
        "alg none": _unsigned({"alg": "none", "typ": "JWT"}, claims, None),
        "HS256 keyed with the public key": _unsigned(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims, public_bytes
        ),
        "HS256 keyed with the JWK": _unsigned(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims, json.dumps(public).encode()
        ),
        "signed by another key": signed(Ed25519PrivateKey.generate()),
        "expired": signed(gateway_key, iat=now - 3600, nbf=now - 3600, exp=now - 60),
        "for another audience": signed(gateway_key, aud="another-system"),
        "from another issuer": signed(gateway_key, iss="someone-else"),
        "promoted to administrator": _unsigned(
            {"alg": "none", "typ": "JWT"}, claims | {"role": "mpp_admin"}, None
        ),
    }


def _urls(platform: Platform) -> dict[str, str]:
    return {
        name: f"http://127.0.0.1:{platform.ports[name]}{path}" for name, path in PROTECTED.items()
    }


@pytest.fixture(scope="module")
def citizen(platform: Platform) -> dict[str, Any]:
    return register_citizen(platform, "Rahmawati")


def test_a_real_token_is_accepted_everywhere(platform: Platform, citizen: dict[str, Any]) -> None:
    for name, url in _urls(platform).items():
        answer = httpx.get(url, headers=citizen["headers"], timeout=10)
        assert answer.status_code != 401, f"{name}: {answer.text}"


@pytest.mark.parametrize(
    "kind",
    [
        "alg none",
        "HS256 keyed with the public key",
        "HS256 keyed with the JWK",
        "signed by another key",
        "expired",
        "for another audience",
        "from another issuer",
        "promoted to administrator",
    ],
)
def test_a_forged_or_misdirected_token_is_refused_everywhere(
    platform: Platform, citizen: dict[str, Any], kind: str
) -> None:
    real = citizen["headers"]["Authorization"].removeprefix("Bearer ")
    token = forgeries(real)[kind]
    for name, url in _urls(platform).items():
        answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 401, f"{name} took a token {kind}: {answer.status_code}"
        assert answer.headers["content-type"] == "application/problem+json", name


def test_an_ended_session_is_refused_everywhere(platform: Platform) -> None:
    citizen = register_citizen(platform, "Sitti Hajar")
    signed_out = httpx.post(
        f"{platform.gateway}/api/v1/auth/logout", headers=citizen["headers"], timeout=10
    )
    assert signed_out.status_code == 204
    deadline = time.monotonic() + 10
    pending = _urls(platform)
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            if httpx.get(url, headers=citizen["headers"], timeout=10).status_code == 401:
                del pending[name]
        time.sleep(0.2)
    assert not pending, f"still accepted 10 s after sign-out by: {sorted(pending)}"
