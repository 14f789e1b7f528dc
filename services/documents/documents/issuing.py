"""Issued outputs: when an application whose service issues an electronic document is approved,
the regency issues it — a PDF with a QR code to the public verification page, its SHA-256 signed
with the regency's Ed25519 key — and anyone can check it by code; the holder's PIN unlocks the
download. Revocation is an event too."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
from typing import Any

from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from minio import Minio

from documents import service, store
from documents.outputs import codes, pdf, signing
from documents.settings import Settings
from mpp_shared import idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import ApplicationApproved, ApplicationCompleted
from mpp_shared.contracts.documents import OutputIssued, OutputPinIssued, OutputRevoked
from mpp_shared.events import new_event
from mpp_shared.kafka import DirectPublisher
from mpp_shared.outbox import VersionConflict
from mpp_shared.problems import Problem

log = logging.getLogger(__name__)
Db = store.Db
Document = store.Document
SOURCE = topics.source_of("documents")


class Keys:
    """The regency's signing key and every public key outputs were signed with."""

    def __init__(self, signing_pem: str, secret: str) -> None:
        self.private: Ed25519PrivateKey = signing.signing_key(signing_pem, secret)
        public = self.private.public_key()
        self.public = {signing.key_id(public): public}
        self.pin_key = hashlib.sha256(b"mpp:output-pin:" + secret.encode()).digest()

    def pin_hash(self, output_id: str, pin: str) -> str:
        """A keyed hash of a PIN, bound to its output."""
        return hmac.new(self.pin_key, f"{output_id}:{pin}".encode(), hashlib.sha256).hexdigest()


@functools.cache
def _keys(signing_pem: str, secret: str) -> Keys:
    return Keys(signing_pem, secret)


def keys_of(settings: Settings) -> Keys:
    """The keys these settings name, derived once."""
    return _keys(
        settings.output_signing_key.get_secret_value(), settings.secret_key.get_secret_value()
    )


def verify_url(settings: Settings, code: str) -> str:
    """The public page that checks an output."""
    return f"{settings.public_base_url.rstrip('/')}/verify/{code}"


class NamesNotKnown(LookupError):
    """The output names a service or citizen whose event has not been read yet."""


async def issue(
    db: Db,
    s3: Minio,
    *,
    settings: Settings,
    pins: DirectPublisher,
    facts: ApplicationApproved | ApplicationCompleted,
) -> bool:
    """Issue the application's output once; False when it exists already."""
    output_id = idempotency.derived_id(facts.application_id, "output")
    if await store.output(db, output_id) is not None:
        return False
    service_name = await store.name(db, "service", facts.service_id)
    agency_name = await store.name(db, "agency", facts.agency)
    holder = await store.name(db, "citizen", facts.citizen_id)
    if service_name is None or holder is None:
        # The catalog's or identity's event has not arrived yet (topics are read side by side):
        # the caller keeps the decision and issues it when the name comes.
        raise NamesNotKnown(f"names for output of {facts.application_id} not known yet")
    now = dt.datetime.now(dt.UTC)
    code = codes.new_verification_code()
    url = verify_url(settings, code)
    content = pdf.render(
        pdf.OutputFacts(
            regency_name=settings.regency_name,
            service_name_id=service_name["id"],
            service_name_en=service_name["en"],
            agency_name=(agency_name or {}).get("id", facts.agency),
            holder_name=holder["name"],
            tracking_number=facts.tracking_number,
            issued_at=now,
            valid_until=None,
            verification_code=code,
            verify_url=url,
        )
    )
    keys = keys_of(settings)
    signature = signing.sign(content, keys.private)
    key = f"outputs/{output_id}/{code}.pdf"
    await service.put(s3, settings.bucket_name, key, content, "application/pdf")
    pin = codes.new_pin()
    document: Document = {
        "_id": output_id,
        "application_id": facts.application_id,
        "tracking_number": facts.tracking_number,
        "citizen_id": facts.citizen_id,
        "service_id": facts.service_id,
        "agency": facts.agency,
        "service_name": service_name,
        "agency_name": agency_name,
        "holder_masked": codes.mask_name(holder["name"]),
        "verification_code": code,
        "object_key": key,
        "sha256": signature.sha256,
        "signature": signature.signature,
        "key_id": signature.key_id,
        "algorithm": signature.algorithm,
        "pin_hash": keys.pin_hash(output_id, pin),
        "pin_failures": 0,
        "status": "valid",
        "issued_at": now,
        "valid_until": None,
        "revoked_at": None,
        "revoked_reason": None,
    }
    issued = new_event(
        type="documents.output.issued.v1",
        source=SOURCE,
        subject=output_id,
        data=OutputIssued(
            output_id=output_id,
            application_id=facts.application_id,
            tracking_number=facts.tracking_number,
            citizen_id=facts.citizen_id,
            service_id=facts.service_id,
            agency=facts.agency,
            verification_code=code,
            issued_at=now,
        ),
    )
    if not await store.insert_output(db, document, [issued]):
        await service.remove(s3, settings.bucket_name, key)
        return False
    await send_pin(settings, pins, document, pin)
    return True


async def send_pin(settings: Settings, pins: DirectPublisher, output: Document, pin: str) -> bool:
    """Hand the PIN to the notifications service; False if Kafka did not take it (the holder
    can ask for a new PIN)."""
    event = new_event(
        type="documents.output.pin_issued.v1",
        source=SOURCE,
        subject=output["_id"],
        data=OutputPinIssued(
            output_id=output["_id"],
            application_id=output["application_id"],
            tracking_number=output["tracking_number"],
            citizen_id=output["citizen_id"],
            verification_code=output["verification_code"],
            verify_url=verify_url(settings, output["verification_code"]),
            pin=pin,
        ),
    )
    try:
        await pins.publish(event)
    except (KafkaError, OSError, TimeoutError) as exc:
        log.warning("PIN of output %s not sent: %s", output["_id"], exc)
        return False
    return True


async def new_pin(
    db: Db, *, settings: Settings, pins: DirectPublisher, caller: Principal, output_id: str
) -> str:
    """A new PIN for the holder (the old one stops working); also sent to them."""
    output = await store.output(db, output_id)
    if output is None or output["citizen_id"] != caller.subject:
        raise Problem(404, "not-found")
    pin = codes.new_pin()
    await store.change_output(
        db,
        output_id=output_id,
        expected_version=output["version"],
        fields={"pin_hash": keys_of(settings).pin_hash(output_id, pin), "pin_failures": 0},
        new_events=[],
    )
    await send_pin(settings, pins, output, pin)
    return pin


def public_view(output: Document, *, now: dt.datetime) -> dict[str, Any]:
    """What the verification page shows: key facts, validity, the holder's name masked."""
    status = output["status"]
    if status == "valid" and output.get("valid_until") and output["valid_until"] < now.date():
        status = "expired"
    return {
        "verification_code": output["verification_code"],
        "status": status,
        "authentic_issuer": True,
        "service_name": output["service_name"],
        "agency": output["agency"],
        "agency_name": output.get("agency_name"),
        "tracking_number": output["tracking_number"],
        "holder": output["holder_masked"],
        "issued_at": output["issued_at"],
        "valid_until": output.get("valid_until"),
        "revoked_at": output.get("revoked_at"),
        "revoked_reason": output.get("revoked_reason"),
        "sha256": output["sha256"],
        "signature": {
            "algorithm": output["algorithm"],
            "key_id": output["key_id"],
            "value": output["signature"],
        },
    }


async def by_code(db: Db, text: str) -> Document:
    """The output a (typed or scanned) verification code names, or a 404."""
    code = codes.normalize_code(text)
    output = await store.output_by_code(db, code) if code else None
    if output is None:
        raise Problem(
            404,
            "not-found",
            detail={
                "id": "Kode verifikasi tidak dikenal. Periksa kembali kodenya.",
                "en": "Unknown verification code. Check the code again.",
            },
        )
    return output


def check_file(settings: Settings, output: Document, content: bytes) -> dict[str, Any]:
    """Whether a PDF someone holds is exactly the one issued, signed by the regency."""
    signature = signing.Signature(
        sha256=output["sha256"],
        signature=output["signature"],
        key_id=output["key_id"],
        algorithm=output["algorithm"],
    )
    same = hashlib.sha256(content).hexdigest() == output["sha256"]
    authentic = same and signing.verify(content, signature, keys_of(settings).public)
    return {
        "authentic": authentic,
        "status": output["status"],
        "detail": {
            "id": "Berkas ini sama persis dengan dokumen yang diterbitkan dan bertanda tangan sah."
            if authentic
            else "Berkas ini BUKAN dokumen yang diterbitkan: isinya berbeda atau telah diubah.",
            "en": "This file is exactly the issued document, validly signed."
            if authentic
            else "This file is NOT the issued document: its content differs or was altered.",
        },
    }


async def unlock(
    db: Db, s3: Minio, *, settings: Settings, output: Document, pin: str
) -> tuple[str, int]:
    """A short-lived download URL for the right PIN; a few wrong PINs lock the code."""
    if output["pin_failures"] >= settings.pin_attempts:
        raise Problem(
            429,
            "rate-limited",
            detail={
                "id": "Terlalu banyak PIN salah. Pemilik dokumen dapat meminta PIN baru.",
                "en": "Too many wrong PINs. The holder can ask for a new PIN.",
            },
            reason="pin-locked",
        )
    expected = output["pin_hash"]
    if not hmac.compare_digest(expected, keys_of(settings).pin_hash(output["_id"], pin.strip())):
        counted = await store.count_pin_failure(db, output["_id"])
        left = settings.pin_attempts - (counted or output)["pin_failures"]
        raise Problem(
            403,
            "forbidden",
            detail={"id": "PIN salah.", "en": "Wrong PIN."},
            reason="wrong-pin",
            attempts_left=max(0, left),
        )
    url = await service.presigned(
        s3,
        settings,
        "GET",
        output["object_key"],
        dt.timedelta(seconds=settings.download_url_seconds),
    )
    return url, settings.download_url_seconds


async def revoke(db: Db, *, caller: Principal, output_id: str, reason: str) -> Document:
    """The issuing agency (or the mall's administrators) revokes an output."""
    output = await store.output(db, output_id)
    if output is None or not caller.is_staff_of(output["agency"]):
        raise Problem(404, "not-found")
    if output["status"] == "revoked":
        return output
    now = dt.datetime.now(dt.UTC)
    revoked = new_event(
        type="documents.output.revoked.v1",
        source=SOURCE,
        subject=output_id,
        data=OutputRevoked(
            output_id=output_id,
            application_id=output["application_id"],
            verification_code=output["verification_code"],
            reason=reason,
        ),
    )
    try:
        return await store.change_output(
            db,
            output_id=output_id,
            expected_version=output["version"],
            fields={"status": "revoked", "revoked_at": now, "revoked_reason": reason},
            new_events=[revoked],
        )
    except VersionConflict:
        raise Problem(409, "conflict") from None


async def holder_view(db: Db, *, caller: Principal, application_id: str) -> Document:
    """The output of an application, for its holder (or the agency's staff)."""
    output = await store.output(db, idempotency.derived_id(application_id, "output"))
    if output is None or not (
        output["citizen_id"] == caller.subject or caller.is_staff_of(output["agency"])
    ):
        raise Problem(404, "not-found")
    return output
