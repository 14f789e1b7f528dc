"""Pytest fixtures for tests on the real servers: each run gets its own databases, topics, groups
and buckets (a namespace), so it never touches a running development platform's data.

Enable with `pytest_plugins = ["mpp_shared.testing"]` in a conftest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from pydantic_settings import BaseSettings
from sqlalchemy import URL

from mpp_shared import db
from mpp_shared.local import SERVICES, postgres_admin_url, postgres_port
from mpp_shared.mailpit import mailbox, sms_address
from mpp_shared.settings import ServiceSettings

__all__ = ["mailbox", "sms_address"]  # re-exported for tests

KAFKA = os.environ.get("MPP_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


@pytest.fixture(scope="session")
def namespace() -> str:
    """This test run's prefix for databases, topics, consumer groups and buckets."""
    return f"t{time.strftime('%H%M%S')}{secrets.token_hex(2)}"


Settings = TypeVar("Settings", bound=BaseSettings)
Result = TypeVar("Result")


def settings_for(cls: type[Settings], namespace: str, **overrides: Any) -> Settings:
    """A service's settings inside a test run's namespace, on the local servers."""
    values: dict[str, Any] = {
        "namespace": namespace,
        "environment": "test",
        "postgres_port": postgres_port(),
        "kafka_bootstrap": KAFKA,
        "kafka_partitions": 1,
    }
    return cls(**(values | overrides))


@pytest.fixture
def make_settings(namespace: str) -> Callable[..., ServiceSettings]:
    """Settings for a service (or a test's own producer) inside this run's namespace."""

    def make(
        service_name: str, cls: type[ServiceSettings] = ServiceSettings, **overrides: Any
    ) -> ServiceSettings:
        return settings_for(cls, namespace, service_name=service_name, **overrides)

    return make


class Databases:
    """This test run's PostgreSQL databases: one per service, dropped at the end of the run."""

    def __init__(self, admin_url: URL) -> None:
        self.admin_url = admin_url

    async def create(self, settings: ServiceSettings) -> None:
        """The database of a service (or a test's own) in this run's namespace."""
        await db.ensure_database(self.admin_url, settings)


@pytest.fixture(scope="session")
def postgres(namespace: str) -> Iterator[Databases]:
    """The real PostgreSQL cluster with a database for each service of this run; drops them all
    at the end. A plain fixture, its work done on a loop of its own: browser tests set it up
    while Playwright's loop runs in the test's thread."""
    admin_url = postgres_admin_url()
    databases = Databases(admin_url)

    async def create_all() -> None:
        for service in SERVICES:
            await databases.create(settings_for(ServiceSettings, namespace, service_name=service))

    try:
        _apart(create_all())
    except Exception as exc:
        pytest.exit(
            f"PostgreSQL is not reachable at {admin_url.host}:{admin_url.port} ({exc});"
            " run `make servers`",
            2,
        )
    yield databases
    _apart(db.drop_databases(admin_url, prefix=f"{namespace}_"))


def _apart(coroutine: Coroutine[Any, Any, Result]) -> Result:
    """Run a coroutine to its end on a loop of its own, in a thread of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
async def kafka(namespace: str) -> AsyncIterator[str]:
    """The real broker's address; deletes this run's topics at the end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=5000)
    try:
        await admin.start()
    except Exception as exc:
        pytest.exit(f"Kafka is not reachable at {KAFKA} ({exc}); run `make servers`", 2)
    yield KAFKA
    ours = [t for t in await admin.list_topics() if t.startswith(f"{namespace}.")]
    if ours:
        await admin.delete_topics(ours)
    await admin.close()


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout: float = 30.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the start, without a group, until `until(records)` holds or time is up."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"gave up on {topic} after {timeout}s with {len(records)} record(s)"
                )
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def eventually(
    check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.2
) -> Any:
    """Await `check()` until it returns something truthy; fail with its last value on time-out."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


class Tokens:
    """Signs access tokens as the gateway would, with a key made for this test run."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from mpp_shared.auth import jwks_of

        self.key = Ed25519PrivateKey.generate()
        self.jwks = jwks_of([self.key])

    def mint(
        self,
        role: str,
        *,
        subject: str | None = None,
        agency: str | None = None,
        scopes: Sequence[str] = (),
        ttl: int = 300,
    ) -> str:
        """A signed access token (a partner's with its `scopes`)."""
        import jwt

        from mpp_shared.auth import AUDIENCE, ISSUER, public_jwk

        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": subject or f"{role}-{secrets.token_hex(3)}",
            "role": role,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl,
        }
        if agency:
            claims["agency"] = agency
        if scopes:
            claims["scope"] = " ".join(scopes)
        kid = public_jwk(self.key)["kid"]
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": kid})

    def headers(self, role: str, **claims: Any) -> dict[str, str]:
        """An Authorization header for a new token."""
        return {"Authorization": f"Bearer {self.mint(role, **claims)}"}


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    """Access tokens signed with this run's key; give services `tokens.jwks` as `MPP_JWKS`."""
    return Tokens()


@contextlib.asynccontextmanager
async def in_process(
    app: Any, *, base_url: str, tokens: Tokens | None = None
) -> AsyncIterator[Any]:
    """An HTTP client of a service's app run in this process with its lifespan; `client.app` is
    the app. With `tokens`, the app verifies this run's test tokens."""
    import httpx

    from mpp_shared.auth import AuthSettings, TokenVerifier

    if tokens is not None:
        app.state.token_verifier = TokenVerifier(AuthSettings(jwks=tokens.jwks))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def feeder(client: Any) -> Callable[..., Any]:
    """Hand events straight to an in-process app's consumer handlers, as if from Kafka."""

    async def give(*sent: Any) -> None:
        runner = client.app.state.runtime.consumer
        for event in sent:
            await runner.apply(runner.handlers[event.type], event)

    return give


async def migration_drift(settings: ServiceSettings, migrations: str, metadata: Any) -> list[Any]:
    """What the service's tables declare that its migrations do not make (empty when in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    await db.migrate(settings, migrations)
    engine = db.create_engine(settings)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: list(compare_metadata(MigrationContext.configure(sync), metadata))
            )
    finally:
        await engine.dispose()
