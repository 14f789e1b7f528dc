"""The regency's Ed25519 signature over each issued output, detached and checked by its digest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM: Literal["Ed25519"] = "Ed25519"
_DEVELOPMENT_KEY_CONTEXT = b"mpp:output-signing:"
_SIGNATURE_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Signature:
    """A detached signature: the output's SHA-256, the signature over it, and which key made it."""

    sha256: str  # hex
    signature: str  # base64url, unpadded
    key_id: str  # RFC 7638 thumbprint of the public key
    algorithm: Literal["Ed25519"] = ALGORITHM


def signing_key(pem_text: str, fallback_secret: str) -> Ed25519PrivateKey:
    """The key in `pem_text`, else one derived from `fallback_secret` (development only)."""
    if pem_text.strip():
        key = serialization.load_pem_private_key(pem_text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the output signing key must be an Ed25519 private key")
        return key
    if not fallback_secret:
        raise ValueError("no output signing key and no secret to derive one from")
    # Deterministic so that every replica and restart of a development stack signs alike.
    seed = hashlib.sha256(_DEVELOPMENT_KEY_CONTEXT + fallback_secret.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint of the key, as `mpp_shared.auth.public_jwk` names its keys."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # RFC 7638: the required members only, sorted, no whitespace.
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}, separators=(",", ":")
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def sign(pdf: bytes, key: Ed25519PrivateKey) -> Signature:
    """The signature of `key` over the SHA-256 digest of `pdf`."""
    digest = hashlib.sha256(pdf).digest()
    return Signature(
        sha256=digest.hex(),
        signature=_b64url(key.sign(digest)),
        key_id=key_id(key.public_key()),
    )


def verify(pdf: bytes, signature: Signature, public_keys: dict[str, Ed25519PublicKey]) -> bool:
    """True only if `signature` is a known key's signature over exactly these bytes."""
    fields = (signature.sha256, signature.signature, signature.key_id)
    # Signatures are read back from storage and requests: a malformed one is just no match.
    if signature.algorithm != ALGORITHM or not all(isinstance(f, str) for f in fields):
        return False
    public_key = public_keys.get(signature.key_id)
    if public_key is None:
        return False
    digest = hashlib.sha256(pdf).digest()
    if signature.sha256.lower() != digest.hex():
        return False
    raw = _b64url_decode(signature.signature)
    if raw is None or len(raw) != _SIGNATURE_LENGTH:
        return False
    try:
        public_key.verify(raw, digest)
    except InvalidSignature:
        return False
    return True


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes | None:
    if not text.isascii():
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
