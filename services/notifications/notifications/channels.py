"""The ways a message leaves the mall: e-mail over SMTP, and SMS through a provider adapter."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from notifications.settings import Settings


class DeliveryFailed(Exception):
    """The channel did not accept the message; the consumer retries, then dead-letters it."""


async def send_email(settings: Settings, *, to: str, subject: str, text: str) -> str:
    """Hand one plain-text e-mail to the SMTP relay; returns its Message-ID."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mpp.local")
    message.set_content(text)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            timeout=10,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP: {exc}") from exc
    return str(message["Message-ID"])


async def send_sms(settings: Settings, *, to: str, text: str) -> str:
    """Send an SMS to an E.164 number with the configured provider; returns the provider's id.

    The sandbox provider records the message as an e-mail to `<number>@<sms_sandbox_domain>`,
    so developers and tests read SMS in Mailpit.
    """
    return await send_email(
        settings,
        to=f"{to.lstrip('+')}@{settings.sms_sandbox_domain}",
        subject=f"SMS {to}",
        text=text,
    )
