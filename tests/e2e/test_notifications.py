"""Notifications through the real deployables: an application submitted through the gateway
reaches the citizen as an Indonesian e-mail (read back from Mailpit) and an inbox entry, and a
partner agency's webhook receives it signed with its secret."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from mpp_shared.settings import DEVELOPMENT_SECRET
from mpp_shared.testing import eventually, mailbox

from .conftest import Platform, register_citizen, sign_in
from .test_journey import apply


class Receiver(BaseHTTPRequestHandler):
    """A partner's webhook endpoint: records every request."""

    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/mpp"
    finally:
        server.shutdown()


def test_a_submission_reaches_the_citizen_and_the_partner(
    platform: Platform, receiver: str
) -> None:
    admin = sign_in(platform, "admin", DEVELOPMENT_SECRET)
    key = httpx.post(
        f"{platform.gateway}/api/v1/auth/partner-keys",
        json={"name": "Mitra Uji", "scopes": ["subscriptions:write"]},
        headers=admin,
    )
    assert key.status_code == 201, key.text
    partner = {"X-API-Key": key.json()["key"]}
    subscription = httpx.post(
        f"{platform.gateway}/api/v1/partners/subscriptions",
        json={
            "url": receiver,
            "event_types": ["applications.application.submitted.v1"],
            "agency": "DISDUKCAPIL",
        },
        headers=partner,
    )
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secret"]

    email = f"warga.{secrets.token_hex(4)}@example.id"
    citizen = register_citizen(platform, "Nurhayati", email=email)
    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    tracking = submitted.json()["tracking_number"]

    async def mails() -> list[dict[str, Any]]:
        return [m for m in await mailbox(email) if tracking in str(m["Text"])]

    [mail] = asyncio.run(eventually(mails, timeout=60))
    assert "Permohonan" in str(mail["Subject"]) or "permohonan" in str(mail["Text"])
    link = f"/track/{tracking}-{submitted.json()['check_code']}"
    assert link in str(mail["Text"]), "the link opens the tracking page with its check code"

    deadline = time.monotonic() + 30
    while True:
        inbox = httpx.get(f"{platform.gateway}/api/v1/notifications", headers=citizen["headers"])
        items = [i for i in inbox.json().get("items", []) if tracking in i["text"]]
        if items or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert items, inbox.text

    deadline = time.monotonic() + 30
    while not [r for r in Receiver.received if tracking.encode() in r[1]]:
        assert time.monotonic() < deadline, "the webhook did not arrive"
        time.sleep(0.3)
    headers, body = next(r for r in Receiver.received if tracking.encode() in r[1])
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "applications.application.submitted.v1"
    assert payload["data"]["tracking_number"] == tracking
    assert citizen["nik"] not in json.dumps(payload)
    forged = dict(headers) | {"webhook-signature": "v1,AAAA"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, forged)
