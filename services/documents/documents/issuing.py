"""Issued outputs: when an application whose service issues an electronic document is approved,
the regency issues it — a PDF with a QR code to the public verification page, its SHA-256 signed
with the regency's Ed25519 key — and anyone can check it by code; the holder's PIN unlocks the
download. Revocation is an event too."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import logging

from aiokafka.errors import KafkaError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from minio import Minio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from documents import service
from documents.models import FileCheck, Verification
from documents.outputs import codes, pdf, signing, store
from documents.outputs.store import Output
from documents.settings import Settings
from mpp_shared import db, idempotency, outbox, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import (
    OUTPUT_CONTENT_KIND,
    ApplicationApproved,
    ApplicationCompleted,
    OutputContent,
    OutputLine,
)
from mpp_shared.contracts.catalog import LocalizedText
from mpp_shared.contracts.documents import OutputIssued, OutputPinIssued, OutputRevoked
from mpp_shared.events import new_event
from mpp_shared.kafka import DirectPublisher
from mpp_shared.pii import Vault
from mpp_shared.problems import Problem

log = logging.getLogger(__name__)
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
    connection: AsyncConnection,
    s3: Minio,
    *,
    settings: Settings,
    pins: DirectPublisher,
    facts: ApplicationApproved | ApplicationCompleted,
) -> bool:
    """Issue the application's output once, in the caller's transaction; False when it exists."""
    output_id = idempotency.derived_id(facts.application_id, "output")
    if await store.output(connection, output_id) is not None:
        return False
    names = await store.names(
        connection, service_id=facts.service_id, agency=facts.agency, citizen_id=facts.citizen_id
    )
    if names.service is None or names.holder is None:
        # The catalog's or identity's event has not arrived yet (topics are read side by side):
        # the caller keeps the decision and issues it when the name comes.
        raise NamesNotKnown(f"names for output of {facts.application_id} not known yet")
    now = dt.datetime.now(dt.UTC)
    code = codes.new_verification_code()
    url = verify_url(settings, code)
    printed = opened_output(settings, facts)
    content = pdf.render(
        pdf.OutputFacts(
            regency_name=settings.regency_name,
            service_name_id=names.service.id,
            service_name_en=names.service.en,
            agency_name=names.agency.id if names.agency else facts.agency,
            holder_name=names.holder,
            tracking_number=facts.tracking_number,
            issued_at=now,
            valid_until=None,
            verification_code=code,
            verify_url=url,
            title_id=printed.title.id if printed else None,
            title_en=printed.title.en if printed else None,
            lines=tuple(_printed_line(line, names.holder) for line in printed.lines)
            if printed
            else (),
        )
    )
    keys = keys_of(settings)
    signature = signing.sign(content, keys.private)
    key = f"outputs/{output_id}/{code}.pdf"
    await service.put(s3, settings.bucket_name, key, content, "application/pdf")
    pin = codes.new_pin()
    output = Output(
        id=output_id,
        application_id=facts.application_id,
        tracking_number=facts.tracking_number,
        citizen_id=facts.citizen_id,
        service_id=facts.service_id,
        agency=facts.agency,
        service_name=names.service,
        title=LocalizedText(id=printed.title.id, en=printed.title.en) if printed else None,
        agency_name=names.agency,
        holder_masked=codes.mask_name(names.holder),
        verification_code=code,
        object_key=key,
        sha256=signature.sha256,
        signature=signature.signature,
        key_id=signature.key_id,
        algorithm=signature.algorithm,
        pin_hash=keys.pin_hash(output_id, pin),
        pin_failures=0,
        status="valid",
        issued_at=now,
    )
    issued = new_event(
        OutputIssued(
            output_id=output_id,
            application_id=facts.application_id,
            tracking_number=facts.tracking_number,
            citizen_id=facts.citizen_id,
            service_id=facts.service_id,
            agency=facts.agency,
            verification_code=code,
            issued_at=now,
            verify_url=url,
        ),
        source=SOURCE,
        subject=output_id,
    )
    if not await store.insert_output(connection, output):
        await service.remove(s3, settings.bucket_name, key)
        return False
    await outbox.record(connection, [issued])
    await send_pin(settings, pins, output, pin)
    return True


class SealedOutputUnreadable(RuntimeError):
    """What an output prints arrived sealed with a key that is not ours (MPP_OUTPUT_CONTENT_KEY
    differs from the applications service's): the decision fails, to be replayed once fixed,
    rather than a certificate issued without what it certifies."""


@functools.cache
def _output_vault(secret: str) -> Vault:
    return Vault(secret, kind=OUTPUT_CONTENT_KIND)


def opened_output(
    settings: Settings, facts: ApplicationApproved | ApplicationCompleted
) -> OutputContent | None:
    """What the decision says its output prints (sealed by the applications service), if any."""
    if not facts.output_sealed:
        return None
    vault = _output_vault(settings.output_content_key.get_secret_value())
    try:
        opened = vault.decrypt(facts.output_sealed, context=facts.application_id)
    except (InvalidTag, ValueError) as exc:
        raise SealedOutputUnreadable(
            f"the content of the output of {facts.application_id} does not open"
        ) from exc
    return OutputContent.model_validate_json(opened)


def _printed_line(line: OutputLine, holder: str) -> pdf.PrintedLine:
    """A line of the application's output as the PDF prints it."""
    value = line.value
    if line.kind == "holder_name":
        value = holder
    elif line.kind == "date":
        with contextlib.suppress(ValueError):  # else printed as answered
            value = pdf.format_date(dt.date.fromisoformat(value))
    return pdf.PrintedLine(line.label.id, line.label.en, value)


async def send_pin(settings: Settings, pins: DirectPublisher, output: Output, pin: str) -> bool:
    """Hand the PIN to the notifications service; False if Kafka did not take it (the holder
    can ask for a new PIN)."""
    event = new_event(
        OutputPinIssued(
            output_id=output.id,
            application_id=output.application_id,
            tracking_number=output.tracking_number,
            citizen_id=output.citizen_id,
            verification_code=output.verification_code,
            verify_url=verify_url(settings, output.verification_code),
            pin=pin,
        ),
        source=SOURCE,
        subject=output.id,
    )
    try:
        await pins.publish(event)
    except (KafkaError, OSError, TimeoutError) as exc:
        log.warning("PIN of output %s not sent: %s", output.id, exc)
        return False
    return True


async def new_pin(
    engine: AsyncEngine,
    *,
    settings: Settings,
    pins: DirectPublisher,
    caller: Principal,
    output_id: str,
    revoke_previous: bool = False,
) -> str:
    """A new PIN for the holder, also sent to them. The PIN sent just before stays good (its
    message may still be on the way), unless `revoke_previous`; older ones stop working."""
    pin = codes.new_pin()
    async with db.transaction(engine) as connection:
        output = await store.replace_pin(
            connection,
            output_id=output_id,
            holder=caller.subject,
            pin_hash=keys_of(settings).pin_hash(output_id, pin),
            keep_previous=not revoke_previous,
        )
    if output is None:
        raise Problem(404, "not-found")
    await send_pin(settings, pins, output, pin)
    return pin


def public_view(output: Output, *, now: dt.datetime) -> Verification:
    """What the verification page shows: key facts, validity, the holder's name masked."""
    status = output.status
    if status == "valid" and output.valid_until and output.valid_until < now.date():
        status = "expired"
    return Verification(
        verification_code=output.verification_code,
        status=status,
        authentic_issuer=True,
        title=(output.title or output.service_name).model_dump(),
        service_name=output.service_name.model_dump(),
        agency=output.agency,
        agency_name=output.agency_name.model_dump() if output.agency_name else None,
        tracking_number=output.tracking_number,
        holder=output.holder_masked,
        issued_at=output.issued_at,
        valid_until=output.valid_until,
        revoked_at=output.revoked_at,
        revoked_reason=output.revoked_reason,
        sha256=output.sha256,
        signature={
            "algorithm": output.algorithm,
            "key_id": output.key_id,
            "value": output.signature,
        },
    )


async def by_code(engine: AsyncEngine, text: str) -> Output:
    """The output a (typed or scanned) verification code names, or a 404."""
    code = codes.normalize_code(text)
    output = None
    if code:
        async with engine.connect() as connection:
            output = await store.output_by_code(connection, code)
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


def check_file(settings: Settings, output: Output, content: bytes) -> FileCheck:
    """Whether a PDF someone holds is exactly the one issued, signed by the regency."""
    signature = signing.Signature(
        sha256=output.sha256,
        signature=output.signature,
        key_id=output.key_id,
        algorithm=output.algorithm,
    )
    same = hashlib.sha256(content).hexdigest() == output.sha256
    authentic = same and signing.verify(content, signature, keys_of(settings).public)
    return FileCheck(
        authentic=authentic,
        status=output.status,
        detail={
            "id": "Berkas ini sama persis dengan dokumen yang diterbitkan dan bertanda tangan sah."
            if authentic
            else "Berkas ini BUKAN dokumen yang diterbitkan: isinya berbeda atau telah diubah.",
            "en": "This file is exactly the issued document, validly signed."
            if authentic
            else "This file is NOT the issued document: its content differs or was altered.",
        },
    )


def client_key(settings: Settings, address: str) -> str:
    """The caller's address as the wrong-PIN counts keep it: a keyed hash, not the address."""
    return hmac.new(keys_of(settings).pin_key, f"client:{address}".encode(), "sha256").hexdigest()


async def unlock(
    engine: AsyncEngine,
    s3: Minio,
    *,
    settings: Settings,
    output: Output,
    pin: str,
    client: str,
) -> tuple[str, int]:
    """A short-lived download URL for a right PIN (the current one or the one sent before it).

    Wrong PINs are counted per caller address (`client`, a keyed hash): an address that typed
    `pin_attempts` wrong ones in a day is refused, so a stranger holding only the printed code
    locks out themself, not the holder. All addresses together may try `pin_attempts_per_day`,
    which bounds guessing by many addresses at once; the holder, signed in, downloads without a
    PIN whatever happens here, and a new PIN forgets the count.
    """
    now = dt.datetime.now(dt.UTC)
    keys = keys_of(settings)
    # The output is locked while its PIN is checked, so concurrent guesses are counted one after
    # the other and no more than the limits of them are ever compared.
    async with db.transaction(engine) as connection:
        current = await store.output(connection, output.id, lock=True)
        assert current is not None
        failures = await store.pin_failures_of(
            connection, output_id=current.id, client=client, now=now
        )
        locked = (
            failures.client >= settings.pin_attempts
            or failures.everyone >= settings.pin_attempts_per_day
        )
        expected = keys.pin_hash(current.id, pin.strip())
        right = not locked and any(
            known is not None and hmac.compare_digest(known, expected)
            for known in (current.pin_hash, current.previous_pin_hash)
        )
        if not locked and not right:
            await store.count_pin_failure(connection, output_id=current.id, client=client, now=now)
    if locked:
        raise Problem(
            429,
            "rate-limited",
            detail={
                "id": "Terlalu banyak PIN salah dari perangkat ini. Coba lagi besok, atau "
                "pemilik dokumen dapat mengunduhnya di aplikasi tanpa PIN.",
                "en": "Too many wrong PINs from this device. Try again tomorrow, or the holder "
                "can download it in the app without a PIN.",
            },
            reason="pin-locked",
        )
    if not right:
        raise Problem(
            403,
            "forbidden",
            detail={"id": "PIN salah.", "en": "Wrong PIN."},
            reason="wrong-pin",
            attempts_left=max(0, settings.pin_attempts - failures.client - 1),
        )
    return await _download_url(s3, settings, current)


async def _download_url(s3: Minio, settings: Settings, output: Output) -> tuple[str, int]:
    url = await service.presigned(
        s3,
        settings,
        "GET",
        output.object_key,
        dt.timedelta(seconds=settings.download_url_seconds),
    )
    return url, settings.download_url_seconds


async def holder_download(
    engine: AsyncEngine, s3: Minio, *, settings: Settings, caller: Principal, output_id: str
) -> tuple[str, int]:
    """A short-lived download URL for the signed-in holder (or the agency's staff): no PIN."""
    async with engine.connect() as connection:
        output = await store.output(connection, output_id)
    if output is None or not (
        output.citizen_id == caller.subject or caller.is_staff_of(output.agency)
    ):
        raise Problem(404, "not-found")
    return await _download_url(s3, settings, output)


async def revoke(engine: AsyncEngine, *, caller: Principal, output_id: str, reason: str) -> Output:
    """The issuing agency (or the mall's administrators) revokes an output, once."""
    async with engine.connect() as connection:
        output = await store.output(connection, output_id)
    if output is None or not caller.is_staff_of(output.agency):
        raise Problem(404, "not-found")
    if output.status == "revoked":
        return output
    revoked = new_event(
        OutputRevoked(
            output_id=output_id,
            application_id=output.application_id,
            verification_code=output.verification_code,
            reason=reason,
        ),
        source=SOURCE,
        subject=output_id,
    )
    async with db.transaction(engine) as connection:
        changed = await store.revoke(
            connection, output_id=output_id, at=dt.datetime.now(dt.UTC), reason=reason
        )
        if changed is not None:
            await outbox.record(connection, [revoked])
        else:  # a concurrent revocation came first: its answer
            changed = await store.output(connection, output_id)
    assert changed is not None
    return changed


async def holder_view(engine: AsyncEngine, *, caller: Principal, application_id: str) -> Output:
    """The output of an application, for its holder (or the agency's staff)."""
    async with engine.connect() as connection:
        output = await store.output(connection, idempotency.derived_id(application_id, "output"))
    if output is None or not (
        output.citizen_id == caller.subject or caller.is_staff_of(output.agency)
    ):
        raise Problem(404, "not-found")
    return output
