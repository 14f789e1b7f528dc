"""`python -m gateway.demo`: development-only accounts to try the mall with, made through the
public API as anyone would: an administrator and an officer per agency, an operations viewer,
and a demo citizen whose phone is verified with the code the sandbox SMS recorded in Mailpit.

Idempotent: accounts that exist are left as they are. Refuses to run in production.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

import httpx

from gateway.settings import Settings
from mpp_shared.mailpit import mailbox, sms_address

STAFF_PASSWORD = "layanan cepat tanpa antre"  # noqa: S105 - development only
CITIZEN = {
    "nik": "7307014107900001",
    "name": "Warga Demo",
    "phone": "081200000001",
    "email": "warga.demo@example.id",
    "password": "kopi susu pagi hari",
}
OPS_VIEWER = "pemantau"


def staff_address(username: str) -> str:
    """A staff member's development-only e-mail address: what is sent to it lands in Mailpit
    (SLA breaches go to agency administrators by e-mail)."""
    return f"{username}@staff.sandbox"


def staff_accounts(agencies: list[str]) -> list[dict[str, Any]]:
    """The staff to create: an administrator and an officer of every agency, one viewer, each
    with a sandbox e-mail address."""
    accounts = [
        {"username": OPS_VIEWER, "name": "Pemantau Operasional", "role": "ops_viewer"},
    ]
    for code in agencies:
        lower = code.lower()
        accounts.append(
            {
                "username": f"admin.{lower}",
                "name": f"Admin {code}",
                "role": "agency_admin",
                "agency": code,
            }
        )
        accounts.append(
            {
                "username": f"petugas.{lower}",
                "name": f"Petugas {code}",
                "role": "officer",
                "agency": code,
            }
        )
    return [
        a | {"password": STAFF_PASSWORD, "email": staff_address(a["username"])} for a in accounts
    ]


async def agencies(client: httpx.AsyncClient) -> list[str]:
    """Every agency code in the catalog."""
    codes: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/catalog/agencies", params=params)).raise_for_status()
        codes += [a["code"] for a in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return codes


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


async def create_staff(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    """Create the missing staff accounts; returns how many were created."""
    gate = asyncio.Semaphore(4)

    async def create(account: dict[str, Any]) -> bool:
        async with gate:
            response = await client.post("/api/v1/auth/staff", json=account, headers=admin)
        if response.status_code not in (201, 409):
            response.raise_for_status()
        return response.status_code == 201

    created = await asyncio.gather(*map(create, staff_accounts(await agencies(client))))
    return sum(created)


async def create_citizen(client: httpx.AsyncClient) -> str:
    """Register and verify the demo citizen unless they can sign in already."""
    if (await sign_in(client, CITIZEN["nik"], CITIZEN["password"])).status_code == 200:
        return "exists"
    phone = "+62" + CITIZEN["phone"][1:]
    before = len(await mailbox(sms_address(phone)))
    (await client.post("/api/v1/auth/register", json=CITIZEN)).raise_for_status()
    for _ in range(150):
        messages = await mailbox(sms_address(phone))
        if len(messages) > before:
            code = re.search(r"\b(\d{6})\b", messages[-1]["Text"])
            if code:
                verified = await client.post(
                    "/api/v1/auth/verify-phone", json={"phone": phone, "code": code.group(1)}
                )
                verified.raise_for_status()
                return "created"
        await asyncio.sleep(0.2)
    raise RuntimeError("the verification SMS did not arrive in Mailpit within 30 s")


async def main() -> None:
    settings = Settings()
    if settings.environment == "production":
        sys.exit("gateway.demo creates development-only accounts; not in production")
    base = os.environ.get("MPP_GATEWAY_URL", f"http://127.0.0.1:{settings.http_port}")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        signed = await sign_in(
            client,
            settings.bootstrap_admin_username,
            settings.bootstrap_admin_password.get_secret_value(),
        )
        signed.raise_for_status()
        admin = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        created = await create_staff(client, admin)
        citizen = await create_citizen(client)
    print(f"demo accounts ready: {created} staff created, demo citizen {citizen}")
    print(
        "\n  Sign in (POST /api/v1/auth/token, or Authorize in the API docs):\n"
        f"    MPP administrator   {settings.bootstrap_admin_username} / "
        f"{settings.bootstrap_admin_password.get_secret_value()}\n"
        f"    demo citizen        NIK {CITIZEN['nik']} or phone {CITIZEN['phone']} / "
        f"{CITIZEN['password']}\n"
        f"    agency staff        admin.<agency> and petugas.<agency> / {STAFF_PASSWORD}\n"
        "                        e.g. petugas.disdukcapil, admin.samsat\n"
        f"    operations viewer   {OPS_VIEWER} / {STAFF_PASSWORD}\n"
        "    SMS and e-mail land in Mailpit (an SMS as <number>@sms.sandbox, a staff member's\n"
        "                        e-mail, such as an SLA breach, as <username>@staff.sandbox)"
    )


if __name__ == "__main__":
    asyncio.run(main())
