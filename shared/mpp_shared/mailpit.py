"""Reading what the development mail server (Mailpit) received: e-mails, and the SMS the sandbox
provider records as e-mails. For development tools and tests only."""

from __future__ import annotations

import os
from typing import Any

import httpx

MAILPIT = os.environ.get("MPP_MAILPIT_URL", "http://127.0.0.1:8025")


async def mailbox(to: str) -> list[dict[str, Any]]:
    """Every message Mailpit holds for one address, oldest first, each with its `Text`."""
    async with httpx.AsyncClient(base_url=MAILPIT, timeout=10) as client:
        found = await client.get("/api/v1/search", params={"query": f'to:"{to}"', "limit": 200})
        found.raise_for_status()
        messages = []
        for summary in reversed(found.json()["messages"]):
            message = await client.get(f"/api/v1/message/{summary['ID']}")
            message.raise_for_status()
            messages.append(message.json())
        return messages


def sms_address(e164: str) -> str:
    """Where the sandbox SMS provider records messages to a number (see notifications)."""
    return f"{e164.lstrip('+')}@sms.sandbox"
