"""Personal identifiers at rest: encrypted (AES-256-GCM) and, for look-up, a keyed hash.

The gateway keeps citizens' NIKs with it; the applications service, the sensitive answers of
application forms. Each kind of identifier has keys of its own, derived from one secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ID = "k1"  # a new key gets a new id; old ciphertexts name the key that opens them


def mask_nik(nik: str) -> str:
    """A NIK as shown where the whole is not needed: its province and regency and its serial;
    the district and the birth date (which also tells the sex) hidden."""
    return f"{nik[:4]}{'*' * 8}{nik[12:]}"


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


class Vault:
    """Encrypts and keys one kind of personal identifier with keys derived from one secret."""

    def __init__(self, secret: str, *, kind: str) -> None:
        self.kind = kind
        self._aead = AESGCM(_derive(secret, f"mpp:{kind}:encryption".encode()))
        self._lookup_key = _derive(secret, f"mpp:{kind}:lookup".encode())

    def lookup_hash(self, value: str) -> str:
        """A stable keyed hash to find the record by, useless without the key."""
        digest = hmac.new(self._lookup_key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _bound(self, context: str) -> bytes:
        # The ciphertext opens only for its kind and, when given, its context (e.g. the record
        # and field it belongs to): copied elsewhere, it does not decrypt.
        return (f"{self.kind}:{context}" if context else self.kind).encode()

    def encrypt(self, value: str, *, context: str = "") -> str:
        """`k1:<nonce+ciphertext>`, bound to this kind of identifier and to `context`."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), self._bound(context))
        return f"{KEY_ID}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str = "") -> str:
        """The value an `encrypt` result holds (with the same `context`)."""
        key_id, _, text = stored.partition(":")
        if key_id != KEY_ID:
            raise ValueError(f"unknown key {key_id!r}")
        raw = base64.urlsafe_b64decode(text)
        return self._aead.decrypt(raw[:12], raw[12:], self._bound(context)).decode()
