"""The ways a message leaves the mall, each answering what became of it.

E-mail goes over SMTP (Mailpit locally, the regency's relay in production). SMS and WhatsApp go
through a provider chosen by configuration: Infobip's HTTP API, or the sandbox, which records
every message (in its store and as an e-mail in Mailpit) and can be told to fail, like GOV.UK
Notify's test keys. Web Push uses VAPID. The in-app inbox needs no provider.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
from aiosmtplib import SMTPResponse
from aiosmtplib.typing import Default
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException, webpush
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db
from notifications import store
from notifications.models import DELIVERED, PERMANENT, SENDING, TECHNICAL, TEMPORARY
from notifications.settings import Settings

__all__ = ["DELIVERED", "PERMANENT", "SENDING", "TECHNICAL", "TEMPORARY"]


@dataclass(frozen=True)
class Outcome:
    """What a provider said about one message."""

    status: str
    reference: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Outgoing:
    """One message to send."""

    id: str
    channel: str
    to: str  # an e-mail address, an E.164 number, or a push subscription as JSON
    subject: str | None
    text: str


# --- e-mail -------------------------------------------------------------------------------------

# SMTP connections kept open between e-mails: opening one per e-mail (connect, greeting, EHLO,
# QUIT) cost a quarter of the CPU of sending it (2.4 ms against 1.8 ms, measured) and as many
# round trips, and every SMS and WhatsApp message of the sandbox is an e-mail too. As many as
# the sender sends at once through one provider (`messages.SENDS_PER_PROVIDER`); more are closed
# after their e-mail.
KEPT_CONNECTIONS = 8


class _Connection(aiosmtplib.SMTP):
    """An SMTP connection that notes when a message starts going to the relay (DATA): from then
    on the relay may have it, so a failure must not be retried at once."""

    handed_over = False

    async def data(self, message: str | bytes, /, *, timeout: Any = Default.token) -> SMTPResponse:
        self.handed_over = True
        return await super().data(message, timeout=timeout)


class Mailer:
    """Sends e-mails over a few SMTP connections kept open; `close` them at shutdown."""

    def __init__(self, settings: Settings, *, keep: int = KEPT_CONNECTIONS) -> None:
        self.settings = settings
        self.keep = keep
        self.idle: list[_Connection] = []

    async def send(self, mail: EmailMessage) -> None:
        """Send an e-mail on a kept connection, or a new one; raise as `aiosmtplib.send`.

        The relay may have closed a kept connection (idle too long, too many messages) without
        our noticing yet: a failure on one before the message was handed over is tried once
        more on a new connection. Never after: the relay may have the message, and a message
        is not sent twice because of the reuse (the failure is reported, retried later)."""
        kept = self._take()
        if kept is not None:
            try:
                await self._send_on(kept, mail)
                return
            except (aiosmtplib.SMTPException, OSError):
                if kept.handed_over:
                    raise
        password = self.settings.smtp_password
        fresh = _Connection(
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=password.get_secret_value() if password else None,
            start_tls=self.settings.smtp_starttls,
            timeout=10,
        )
        try:
            await fresh.connect()
        except BaseException:
            fresh.close()
            raise
        await self._send_on(fresh, mail)

    def _take(self) -> _Connection | None:
        """The last kept connection still open (the relay may have closed some)."""
        while self.idle:
            kept = self.idle.pop()
            if kept.is_connected:
                return kept
            kept.close()
        return None

    async def _send_on(self, connection: _Connection, mail: EmailMessage) -> None:
        """Send on one connection; kept for the next e-mail unless it failed (its state is then
        unknown) or enough are kept."""
        connection.handed_over = False
        try:
            await connection.send_message(mail)
        except BaseException:
            connection.close()
            raise
        if len(self.idle) < self.keep:
            self.idle.append(connection)
        else:
            await _quit(connection)

    async def close(self) -> None:
        """Close the kept connections (QUIT, politely)."""
        while self.idle:
            await _quit(self.idle.pop())


async def _quit(connection: _Connection) -> None:
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        await connection.quit()
    connection.close()


async def send_email(mailer: Mailer, settings: Settings, message: Outgoing) -> Outcome:
    """Hand a plain-text e-mail to the SMTP relay."""
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.to
    mail["Subject"] = message.subject or settings.mall_name
    # The message's own id: an attempt repeated after a lost answer carries the same Message-ID,
    # so a mail system, and whoever counts what arrived, sees one message.
    mail["Message-ID"] = f"<{message.id}@mpp.local>"
    mail.set_content(message.text)
    try:
        await mailer.send(mail)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return Outcome(PERMANENT, detail=f"recipient refused: {exc}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        # The relay is away or busy: ours to retry, never lost.
        return Outcome(TECHNICAL, detail=f"SMTP: {exc}")
    return Outcome(DELIVERED, reference=str(mail["Message-ID"]))


# --- the sandbox ----------------------------------------------------------------------------------


async def script_sandbox(engine: AsyncEngine, to: str, outcomes: list[str]) -> None:
    """Make the sandbox answer the next messages to `to` with these outcomes, in order."""
    async with db.transaction(engine) as connection:
        await store.script_sandbox(connection, to=to, outcomes=outcomes)


async def send_sandbox(
    engine: AsyncEngine, mailer: Mailer, settings: Settings, message: Outgoing
) -> Outcome:
    """Record the message, or fail as scripted; also shown in Mailpit for developers."""
    async with db.transaction(engine) as connection:
        scripted = await store.next_scripted(connection, message.to)
        if scripted is not None and scripted != DELIVERED:
            return Outcome(scripted, detail="sandbox: scripted failure")
        await store.record_sandbox(
            connection,
            message_id=message.id,
            channel=message.channel,
            to=message.to,
            text=message.text,
        )
    domain = (
        settings.sms_sandbox_domain
        if message.channel == "sms"
        else settings.whatsapp_sandbox_domain
    )
    mirrored = await send_email(
        mailer,
        settings,
        Outgoing(
            id=message.id,
            channel="email",
            to=f"{message.to.lstrip('+')}@{domain}",
            subject=f"{message.channel.upper()} {message.to}",
            text=message.text,
        ),
    )
    if mirrored.status != DELIVERED:
        return mirrored
    return Outcome(DELIVERED, reference=f"sandbox-{message.id}")


# --- Infobip --------------------------------------------------------------------------------------


def receipt_token(settings: Settings, message_id: str) -> str:
    """The token a delivery receipt for one message must carry (providers do not sign them)."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"receipt:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]


async def send_infobip(http: httpx.AsyncClient, settings: Settings, message: Outgoing) -> Outcome:
    """Send an SMS or WhatsApp text through Infobip's API; its receipt comes later."""
    notify_url = (
        f"{settings.public_base_url.rstrip('/')}/api/v1/notifications/receipts/infobip"
        f"?token={receipt_token(settings, message.id)}"
    )
    if message.channel == "sms":
        path = "/sms/2/text/advanced"
        body: dict[str, Any] = {
            "messages": [
                {
                    "destinations": [{"to": message.to.lstrip("+")}],
                    "from": settings.sms_sender,
                    "text": message.text,
                    "notifyUrl": notify_url,
                    "callbackData": message.id,
                }
            ]
        }
    else:
        path = "/whatsapp/1/message/text"
        body = {
            "from": settings.whatsapp_sender,
            "to": message.to.lstrip("+"),
            "content": {"text": message.text},
            "notifyUrl": notify_url,
            "callbackData": message.id,
        }
    try:
        response = await http.post(
            settings.infobip_base_url.rstrip("/") + path,
            json=body,
            headers={"Authorization": f"App {settings.infobip_api_key.get_secret_value()}"},
            timeout=15,
        )
    except httpx.HTTPError as exc:
        return Outcome(TEMPORARY, detail=f"Infobip: {type(exc).__name__}")
    if response.status_code in (401, 403):
        return Outcome(TECHNICAL, detail=f"Infobip refused our key ({response.status_code})")
    if response.status_code == 429 or response.status_code >= 500:
        return Outcome(TEMPORARY, detail=f"Infobip: {response.status_code}")
    if response.status_code >= 400:
        return Outcome(PERMANENT, detail=f"Infobip: {response.status_code} {response.text[:200]}")
    answer = response.json()
    first = (answer.get("messages") or [answer])[0]
    group = str(first.get("status", {}).get("groupName", "PENDING")).upper()
    if group in ("REJECTED", "UNDELIVERABLE"):
        return Outcome(PERMANENT, detail=f"Infobip: {group}")
    return Outcome(SENDING, reference=str(first.get("messageId", "")))


# Infobip's report groups, as our statuses.
RECEIPT_STATUSES = {
    "DELIVERED": DELIVERED,
    "UNDELIVERABLE": PERMANENT,
    "REJECTED": PERMANENT,
    "EXPIRED": TEMPORARY,
}


# --- Web Push ------------------------------------------------------------------------------------


def vapid_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The VAPID key: configured (PEM), or derived from the secret key in development."""
    return _vapid_key(
        settings.vapid_private_key.get_secret_value().strip(),
        settings.secret_key.get_secret_value(),
    )


@functools.cache
def _vapid_key(configured: str, secret: str) -> ec.EllipticCurvePrivateKey:
    if configured:
        key = serialization.load_pem_private_key(configured.encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    seed = hashlib.sha256(b"mpp:vapid:" + secret.encode()).digest()
    return ec.derive_private_key(int.from_bytes(seed, "big") % (2**255), ec.SECP256R1())


@functools.cache
def _vapid(key: ec.EllipticCurvePrivateKey) -> Any:
    """pywebpush's signer for a key, made once rather than per message."""
    from py_vapid import Vapid

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Vapid.from_pem(pem)


def vapid_public_key(settings: Settings) -> str:
    """The application server key the browser subscribes with (base64url, uncompressed point)."""
    raw = (
        vapid_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def send_push(settings: Settings, message: Outgoing) -> Outcome:
    """Send a Web Push message to one browser subscription."""
    subscription = json.loads(message.to)
    signer = _vapid(vapid_key(settings))
    payload = json.dumps({"title": message.subject, "body": message.text, "id": message.id})

    def push() -> Any:
        return webpush(
            subscription_info=subscription,
            data=payload,
            vapid_private_key=signer,
            vapid_claims={"sub": settings.vapid_subject},
            timeout=10,
        )

    try:
        await asyncio.to_thread(push)
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            return Outcome(PERMANENT, detail="push subscription gone")
        return Outcome(TEMPORARY, detail=f"push: {status or exc}")
    except OSError as exc:
        return Outcome(TEMPORARY, detail=f"push: {type(exc).__name__}")
    return Outcome(DELIVERED)
