"""Access tokens verified once are remembered until they expire, and never stand in for a
token that differs in any way."""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mpp_shared import auth
from mpp_shared.auth import AuthSettings, TokenVerifier
from mpp_shared.problems import Problem

KEY = Ed25519PrivateKey.generate()


def verifier() -> TokenVerifier:
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(KEY.public_key()))
    jwks = json.dumps({"keys": [jwk | {"kid": "k1", "alg": "EdDSA", "use": "sig"}]})
    return TokenVerifier(AuthSettings(jwks=jwks))


def token(*, subject: str = "citizen-1", lifetime: int = 300, key: object = KEY) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "role": "citizen",
        "iss": auth.ISSUER,
        "aud": auth.AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
        "sid": "session-1",
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k1"})  # type: ignore[arg-type]


async def test_a_token_verified_once_is_known_until_it_expires() -> None:
    checking = verifier()
    valid = token(lifetime=1)
    assert (await checking.verify_async(valid)).subject == "citizen-1"
    assert checking.verify(valid).session == "session-1"  # from what was remembered
    expiry = jwt.decode(valid, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expiry - time.time()) + 0.05)
    with pytest.raises(Problem) as refused:
        await checking.verify_async(valid)
    assert refused.value.status == 401


async def test_a_remembered_token_does_not_vouch_for_a_changed_one() -> None:
    checking = verifier()
    valid = token()
    await checking.verify_async(valid)
    header, payload, signature = valid.split(".")
    forged_payload = jwt.utils.base64url_encode(
        json.dumps(json.loads(jwt.utils.base64url_decode(payload)) | {"role": "mpp_admin"}).encode()
    ).decode()
    for forged in (
        f"{header}.{forged_payload}.{signature}",
        token(key=Ed25519PrivateKey.generate()),  # same claims, someone else's key
    ):
        with pytest.raises(Problem):
            await checking.verify_async(forged)
