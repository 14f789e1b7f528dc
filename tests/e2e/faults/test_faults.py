"""`make test-faults`: the platform under a steady stream of calls while a part of it fails.

Each scenario runs the stream (submissions, officers' actions, uploads, 20 a second through the
gateway), breaks one part of the platform mid-stream (a service killed with SIGKILL and started
again, or a server stopped for a while and started again), lets the stream go on, and then
checks, from the client's own log of what was accepted, that nothing was lost and nothing
happened twice:

- during the fault every caller got an answer within 5 s: never a 5xx other than 503, and every
  503 says when to come back (`Retry-After`);
- every submission the client made was accepted in the end, retried with its Idempotency-Key
  (one application per key), and exists with its history, the officer's review included;
- each accepted application's submission was published once in effect (one event id), and
  planned one in-app message, e-mail and SMS for its citizen, each sent and received once (the
  e-mails and the sandbox's SMS counted in Mailpit by their Message-ID);
- every service's outbox is empty and no consumer dead-lettered anything.

Each scenario's figures are written to build/faults/<scenario>.json for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mpp_shared import events, topics
from mpp_shared.local import postgres_admin_url
from mpp_shared.mailpit import MAILPIT
from mpp_shared.testing import KAFKA, eventually

from ..conftest import REPO, Platform, register_citizen, staff_member
from .load import AGENCY, TIMEOUT, Stream

pytestmark = pytest.mark.timeout(600)

CITIZENS = 6
LEAD, TAIL = 5.0, 10.0  # seconds of stream before the fault and after the recovery
SUBMITTED = "applications.application.submitted.v1"
DATABASES = ("catalog", "applications", "documents", "notifications", "gateway")
CONSUMERS = ("catalog", "applications", "documents", "notifications", "gateway")
RESULTS = REPO / "build" / "faults"


def _localctl() -> Any:
    import importlib.util
    import sys

    if "local_platform" in sys.modules:
        return sys.modules["local_platform"]
    spec = importlib.util.spec_from_file_location(
        "local_platform", REPO / "deploy" / "local" / "localctl.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["local_platform"] = module
    spec.loader.exec_module(module)
    return module


# --- the faults ------------------------------------------------------------------------------------


def killed(name: str) -> Callable[[Platform], None]:
    def fault(platform: Platform) -> None:
        process = platform.processes.pop(name)
        process.kill()  # SIGKILL: no shutdown, whatever was in hand is lost
        process.wait()
        platform.start(name)

    return fault


def stopped(server: str, seconds: float) -> Callable[[Platform], None]:
    def fault(platform: Platform) -> None:
        localctl = _localctl()
        component = localctl.COMPONENTS[server]
        localctl.stop(component)
        time.sleep(seconds)
        localctl.start(component)

    return fault


def replica(platform: Platform, service: str) -> str:
    """Start a second replica of `service` beside the first; its address."""
    import subprocess
    import sys

    from ..conftest import _free_port

    name, port = f"{service}-replica", _free_port()
    env = platform.env | {"MPP_SERVICE_NAME": service, "MPP_HTTP_PORT": str(port)}
    log = (platform.folder / f"{name}.log").open("ab")
    platform.processes[name] = subprocess.Popen(
        [sys.executable, "-m", service], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    platform.ports[name] = port
    platform.wait_ready(name)
    return f"http://127.0.0.1:{port}"


def relay_holder_killed(platform: Platform) -> None:
    """A second applications replica relays beside the first; the first is killed while both
    publish, and the second takes its entities over."""
    replica(platform, "applications")
    time.sleep(3)  # both relay
    killed("applications")(platform)


SCENARIOS: dict[str, Callable[[Platform], None]] = {
    "applications killed": killed("applications"),
    "notifications killed": killed("notifications"),
    "documents killed": killed("documents"),
    "catalog killed": killed("catalog"),
    # The entry point, with a second replica beside it (as production runs it); the stream goes
    # to the second when the first refuses connections, as a load balancer would.
    "gateway killed": killed("gateway"),
    "relay holder killed": relay_holder_killed,
    "Kafka stopped 20 s": stopped("kafka", 20),
    "PostgreSQL stopped 10 s": stopped("postgres", 10),
    "S3 stopped 30 s": stopped("s3", 30),
    "Mailpit stopped 30 s": stopped("mailpit", 30),
}


# --- the people of the stream --------------------------------------------------------------------


@pytest.fixture(scope="module")
def people(platform: Platform) -> tuple[list[dict[str, Any]], dict[str, str]]:
    citizens = []
    for n in range(CITIZENS):
        email = f"faults.{platform.env['MPP_NAMESPACE']}.{n}@example.org"
        citizen = register_citizen(platform, f"Warga Uji {n}", email=email)
        citizens.append(citizen | {"email": email})
    return citizens, staff_member(platform, "officer", AGENCY)


# --- the scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_nothing_is_lost_or_done_twice(
    platform: Platform, people: tuple[list[dict[str, Any]], dict[str, str]], scenario: str
) -> None:
    citizens, officer = people
    spares = [replica(platform, "gateway")] if scenario == "gateway killed" else []
    stream = Stream(platform.gateway, citizens, officer, spares=spares)
    dead_before = await _dead_letters(platform)
    began = time.monotonic()
    running = asyncio.create_task(stream.run())
    await asyncio.sleep(LEAD)
    fault_at = time.monotonic()
    await asyncio.to_thread(SCENARIOS[scenario], platform)
    recovered_at = time.monotonic()
    await asyncio.sleep(TAIL)
    stream.stopping.set()
    await running
    for service in ("applications", "gateway"):
        platform.stop(f"{service}-replica")  # where the scenario started one
    await stream.finish()
    seen = stream.summary()

    engines = _engines(platform)
    try:
        settled = await _settle(engines)
        found = await _check(platform, engines, stream)
    finally:
        for engine in engines.values():
            await engine.dispose()
    dead = {
        service: held - dead_before.get(service, 0)
        for service, held in (await _dead_letters(platform)).items()
        if held > dead_before.get(service, 0)
    }

    # Calls in flight inside the gateway when it was killed lose their connection: the phone sees
    # the network fail and retries (the submissions are retried with their Idempotency-Key).
    cut = [
        c
        for c in seen["no_answer"]
        if scenario == "gateway killed"
        and c.error in ("RemoteProtocolError", "ReadError")
        and c.started <= recovered_at
        and c.started + c.seconds >= fault_at  # in flight when the fault began
    ]
    hung = [c for c in seen["no_answer"] if c not in cut]
    figures = {
        "scenario": scenario,
        "rate_per_s": 20,
        "stream_s": round(time.monotonic() - began, 1),
        "outage_s": round(recovered_at - fault_at, 1),
        "calls": seen["calls"],
        "answers": dict(seen["by_status"]),
        "examples": seen["examples"],
        "slowest_answer_s": seen["slowest_s"],
        "5xx": len(seen["5xx"]),
        "no_answer_within_5s": len(hung),
        "cut_by_the_kill": len(cut),
        "503_without_retry_after": seen["503_without_retry_after"],
        # The stream resumed by itself: failures among the calls made from 5 s after recovery (an
        # officer's retry that finds the step taken, 409, is an answer, not a failure).
        "failed_after_recovery": sum(
            1
            for c in stream.calls
            if c.started > recovered_at + 5
            and c.status not in (200, 201)
            and (c.kind, c.status) != ("act", 409)
        ),
        "submissions": seen["asked"],
        "accepted": seen["accepted"],
        "settled_s": settled,
        **found,
        "dead_letters": dead,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{scenario.replace(' ', '-')}.json").write_text(json.dumps(figures, indent=2))

    assert not seen["5xx"], seen["5xx"][:5]
    assert not hung, hung[:5]
    assert len(cut) <= 20, "only the calls in flight at the kill are cut"
    assert seen["503_without_retry_after"] == 0
    assert figures["failed_after_recovery"] == 0
    assert seen["accepted"] == seen["asked"], "every submission accepted once retried"
    assert found["missing_applications"] == 0
    assert found["applications_per_key_over_one"] == 0
    assert found["reviews_missing_from_history"] == 0
    assert found["submitted_events_per_application_over_one"] == 0
    assert found["applications_without_event"] == 0
    assert found["events_out_of_order"] == 0
    assert found["without_inbox_message"] == 0
    assert found["without_email"] == 0
    assert found["messages_not_delivered"] == 0
    assert found["received_twice"] == 0
    assert found["sent_but_not_received"] == 0
    assert dead == {}


# --- what the checks read -------------------------------------------------------------------------


def _engines(platform: Platform) -> dict[str, AsyncEngine]:
    namespace = platform.env["MPP_NAMESPACE"]
    admin = postgres_admin_url().set(drivername="postgresql+asyncpg")
    return {
        name: create_async_engine(admin.set(database=f"{namespace}_{name}"), pool_size=1)
        for name in DATABASES
    }


async def _settle(engines: dict[str, AsyncEngine], timeout: float = 240.0) -> float:
    """Wait until every outbox is empty and every message is sent or finally failed; seconds."""
    started = time.monotonic()

    async def quiet() -> bool:
        for engine in engines.values():
            async with engine.connect() as connection:
                if (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one():
                    return False
        async with engines["notifications"].connect() as connection:
            waiting = await connection.execute(
                text(
                    "SELECT count(*) FROM messages WHERE status IN ('created', 'sending')"
                    " OR (status IN ('temporary-failure', 'technical-failure')"
                    " AND next_attempt_at IS NOT NULL)"
                )
            )
            return waiting.scalar_one() == 0

    await eventually(quiet, timeout=timeout, interval=1.0)
    return round(time.monotonic() - started, 1)


async def _check(platform: Platform, engines: dict[str, AsyncEngine], stream: Stream) -> dict:
    accepted = [s for s in stream.submissions if s.application]
    by_id = {s.application["id"]: s for s in accepted}  # type: ignore[index]
    missing = reviews_missing = 0
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=TIMEOUT) as http:
        for submission in accepted:
            app_id = submission.application["id"]  # type: ignore[index]
            found = await http.get(
                f"/api/v1/applications/{app_id}", headers=submission.citizen["headers"]
            )
            if found.status_code != 200:
                missing += 1
                continue
            actions = [line["action"] for line in found.json().get("history", [])]
            if submission.reviewed and actions.count("start_review") != 1:
                reviews_missing += 1
            if submission.reviewed is None and actions.count("start_review") > 1:
                reviews_missing += 1  # taken twice
    keys_twice = await _applications_per_key(engines["applications"], list(by_id))

    published = await _application_events(platform, set(by_id))
    submitted = {
        app_id: {i for t, i in found if t == SUBMITTED}
        for app_id, found in published.items()
        if any(t == SUBMITTED for t, _ in found)
    }
    twice = sum(1 for ids in submitted.values() if len(ids) > 1)
    event_ids = [i for ids in submitted.values() for i in ids]
    async with engines["notifications"].connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT id, event_id, channel, status FROM messages WHERE event_id = ANY(:ids)"
                ),
                {"ids": event_ids},
            )
        ).all()
    channels: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        channels[row.event_id][row.channel] += 1
    sent = {row.id for row in rows if row.channel in ("email", "sms")}
    received = await _received(stream)
    return {
        "missing_applications": missing,
        "applications_per_key_over_one": keys_twice,
        "reviews": sum(1 for s in accepted if s.reviewed),
        "reviews_answer_lost": sum(1 for s in accepted if s.reviewed is None),
        "reviews_missing_from_history": reviews_missing,
        "submitted_events_per_application_over_one": twice,
        "applications_without_event": len(by_id) - len(submitted),
        "events_out_of_order": sum(1 for found in published.values() if _out_of_order(found)),
        "without_inbox_message": sum(1 for e in event_ids if channels[e]["inbox"] != 1),
        "without_email": sum(1 for e in event_ids if channels[e]["email"] != 1),
        "messages": len(rows),
        "messages_not_delivered": sum(1 for row in rows if row.status != "delivered"),
        "received_twice": sum(1 for count in received.values() if count > 1),
        "sent_but_not_received": len(sent - set(received)),
    }


async def _applications_per_key(engine: AsyncEngine, application_ids: list[str]) -> int:
    """Idempotency keys that made more than one application."""
    async with engine.connect() as connection:
        found = await connection.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM applications"
                " WHERE id = ANY(:ids) GROUP BY citizen_id, idempotency_key"
                " HAVING count(*) > 1) AS twice"
            ),
            {"ids": application_ids},
        )
        return int(found.scalar_one())


async def _records(topic: str) -> list[Any]:
    """Every record a topic holds now (none if it does not exist)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, auto_offset_reset="earliest")
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return []
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p)
            for p in consumer._client.cluster.partitions_for_topic(topic) or ()
        ]
        assert partitions, f"no partitions known for {topic}"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[Any] = []
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()


async def _application_events(
    platform: Platform, application_ids: set[str]
) -> dict[str, list[tuple[str, str]]]:
    """Each application's events on the applications topic, as (type, id), in topic order."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for record in await _records(f"{platform.env['MPP_NAMESPACE']}.{topics.APPLICATIONS}"):
        event = events.from_json(record.value or b"")
        if event.subject in application_ids:
            found[event.subject].append((event.type, event.id))
    return found


def _out_of_order(events_of: list[tuple[str, str]]) -> bool:
    """A step published before the submission it follows. (A repeat of an event already
    published, as a relay that took over may send, comes after it and is applied once.)"""
    types = [event_type for event_type, _ in events_of]
    first_step = next((n for n, t in enumerate(types) if t != SUBMITTED), None)
    if first_step is None:
        return False
    return SUBMITTED not in types[:first_step]


async def _received(stream: Stream) -> Counter[str]:
    """How many times Mailpit received each message, by the message id in its Message-ID."""
    addresses = [c["email"] for c in stream.citizens] + [
        f"{c['phone'].replace('0', '62', 1)}@sms.sandbox" for c in stream.citizens
    ]
    counts: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=MAILPIT, timeout=30) as http:
        for address in addresses:
            start = 0
            while True:
                page = await http.get(
                    "/api/v1/search",
                    params={"query": f'to:"{address}"', "start": start, "limit": 500},
                )
                page.raise_for_status()
                summaries = page.json()["messages"]
                for summary in summaries:
                    message_id = str(summary.get("MessageID", ""))
                    if message_id.endswith("@mpp.local"):
                        counts[message_id.removesuffix("@mpp.local").strip("<>")] += 1
                if len(summaries) < 500:
                    break
                start += 500
    return counts


async def _dead_letters(platform: Platform) -> dict[str, int]:
    """Records on each consumer's dead-letter topic."""
    namespace = platform.env["MPP_NAMESPACE"]
    found = {}
    for service in CONSUMERS:
        held = len(await _records(f"{namespace}.{service}.dlq"))
        if held:
            found[service] = held
    return found


def test_the_report_is_written() -> None:
    """Runs last: the scenarios' figures side by side, for docs/reliability.md."""
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    if not rows:
        pytest.skip("no scenario ran")
    lines = [
        "| Scenario | Outage | Calls | Accepted | Found | Duplicates | 5xx | No answer in 5 s"
        " | Slowest | Settled |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        duplicates = (
            r["applications_per_key_over_one"]
            + r["submitted_events_per_application_over_one"]
            + r["received_twice"]
        )
        cut = f" ({r['cut_by_the_kill']} cut in flight)" if r.get("cut_by_the_kill") else ""
        lines.append(
            f"| {r['scenario']} | {r['outage_s']} s | {r['calls']} | {r['accepted']}"
            f" of {r['submissions']} | {r['accepted'] - r['missing_applications']}"
            f" | {duplicates} | {r['5xx']} | {r['no_answer_within_5s']}{cut}"
            f" | {r['slowest_answer_s']} s | {r['settled_s']} s |"
        )
    (RESULTS / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
