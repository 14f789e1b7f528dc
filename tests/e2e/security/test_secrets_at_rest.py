"""After a journey (register with a code, apply with NIKs in the form, an officer reads it), no
log file, Kafka topic or database of the platform holds a NIK, the password, the code or a
token in clear.

Two topics carry secrets by design, each read by the notifications service alone and kept
briefly: `identity.otp` (the code, one hour) and `documents.pins` (output PINs, one day). And the
development SMS provider, the notifications service's sandbox, keeps what it "sent" (the code
too) in `sandbox_messages`, as a phone would: production sends through Infobip instead.
"""

from __future__ import annotations

import re

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mpp_shared import topics
from mpp_shared.local import postgres_admin_url
from mpp_shared.testing import KAFKA, eventually

from ..conftest import PASSWORD, Platform, register_citizen, run_async, staff_member
from ..test_journey import FORM, apply

BY_DESIGN = {topics.IDENTITY_OTP, topics.DOCUMENTS_PINS}
DEPLOYABLES = ("gateway", "catalog", "applications", "documents", "notifications")


@pytest.fixture(scope="module")
def secrets_of_a_journey(platform: Platform) -> dict[str, str]:
    """A citizen's journey; what must stay secret in it, by name."""
    citizen = register_citizen(platform, "Hasnah Baso")
    code = re.search(r"\b(\d{6})\b", str(citizen["sms"]["Text"]))
    assert code is not None
    other_nik = citizen["nik"][:12] + f"{(int(citizen['nik'][12:]) + 1) % 10000:04d}"
    submitted = apply(platform, citizen, form=FORM | {"mother_nik": other_nik})
    assert submitted.status_code == 201, submitted.text
    officer = staff_member(platform, "officer", "DISDUKCAPIL")
    path = f"{platform.gateway}/api/v1/applications/{submitted.json()['id']}"
    assert httpx.get(path, headers=officer, timeout=10).status_code == 200
    return {
        "the citizen's NIK": citizen["nik"],
        "a NIK typed in the form": other_nik,
        "the password": PASSWORD,
        "the verification code": code.group(1),
        "the access token": citizen["headers"]["Authorization"].removeprefix("Bearer "),
    }


def _found(secrets: dict[str, str], where: str, content: str) -> list[str]:
    return [f"{name} in {where}" for name, value in secrets.items() if value in content]


def test_no_log_file_holds_a_secret(
    platform: Platform, secrets_of_a_journey: dict[str, str]
) -> None:
    found = []
    for name in DEPLOYABLES:
        log = (platform.folder / f"{name}.log").read_text(errors="replace")
        found += _found(secrets_of_a_journey, f"{name}.log", log)
    assert not found


def test_no_kafka_topic_holds_a_secret_but_those_made_for_it(
    platform: Platform, secrets_of_a_journey: dict[str, str]
) -> None:
    namespace = platform.env["MPP_NAMESPACE"]
    records = run_async(_every_record(namespace))
    assert records, "the journey's events were not found"
    found = []
    for topic, values in records.items():
        bare = topic.removeprefix(f"{namespace}.")
        if bare not in BY_DESIGN:
            found += _found(secrets_of_a_journey, f"topic {bare}", "\n".join(values))
    assert not found


def test_no_database_holds_a_secret_in_clear(
    platform: Platform, secrets_of_a_journey: dict[str, str]
) -> None:
    namespace = platform.env["MPP_NAMESPACE"]
    found = []
    for name in DEPLOYABLES:
        for table, rows in run_async(_every_row(f"{namespace}_{name}")).items():
            if (name, table) == ("notifications", "sandbox_messages"):
                continue  # the development SMS provider's phones
            found += _found(secrets_of_a_journey, f"{name}.{table}", "\n".join(rows))
    assert not found


async def _every_record(namespace: str) -> dict[str, list[str]]:
    """Every record of the namespace's topics, as text."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        names = [t for t in await consumer.topics() if t.startswith(f"{namespace}.")]
        consumer.subscribe(names)
        await eventually(lambda: {tp.topic for tp in consumer.assignment()} == set(names))
        partitions = list(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[str, list[str]] = {name: [] for name in names}
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                found[tp.topic] += [_text(r.value) + _text(r.key) for r in records]
        return found
    finally:
        await consumer.stop()


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", errors="replace") if value else ""


async def _every_row(database: str) -> dict[str, list[str]]:
    """Every row of every table of a database, as text."""
    url = postgres_admin_url().set(drivername="postgresql+asyncpg", database=database)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            tables = (
                await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
            rows: dict[str, list[str]] = {}
            for table in list(tables):
                query = text(f'SELECT t::text FROM "{table}" t')
                rows[table] = list((await connection.execute(query)).scalars())
            return rows
    finally:
        await engine.dispose()
