"""E-mail over SMTP connections kept open between messages, through a relay to Mailpit that counts
the connections and can cut them, as a mail server closing them would."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import pytest

from mpp_shared.testing import eventually, mailbox
from notifications import providers
from notifications.providers import Mailer, Outgoing
from notifications.settings import Settings


class Relay:
    """A TCP relay to Mailpit's SMTP port: counts the connections opened, cuts them on demand
    (all of them, or the next one to send DATA, before the server sees it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.opened = 0
        self.cut_at_data = False
        self.live: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        upstream_reader, upstream = await asyncio.open_connection(
            self.settings.smtp_host, self.settings.smtp_port
        )
        pair = (writer, upstream)
        self.live.add(pair)

        async def pump(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, client: bool
        ) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    if client and self.cut_at_data and data.upper().startswith(b"DATA"):
                        self.cut_at_data = False
                        break
                    sink.write(data)
                    await sink.drain()
            self._cut(pair)

        await asyncio.gather(pump(reader, upstream, True), pump(upstream_reader, writer, False))

    def _cut(self, pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter]) -> None:
        self.live.discard(pair)
        for writer in pair:
            writer.close()

    def cut_all(self) -> None:
        for pair in list(self.live):
            self._cut(pair)


@pytest.fixture
async def relay(settings: Settings) -> AsyncIterator[Relay]:
    relay = Relay(settings)
    server = await relay.start()
    try:
        yield relay
    finally:
        relay.cut_all()
        server.close()


@pytest.fixture
async def mailer(settings: Settings, relay: Relay) -> AsyncIterator[Mailer]:
    mailer = Mailer(settings.model_copy(update={"smtp_port": relay.port}))
    try:
        yield mailer
    finally:
        await mailer.close()


def mail(to: str) -> Outgoing:
    return Outgoing(id="msg-smtp", channel="email", to=to, subject="Tes", text="Halo.")


async def send(mailer: Mailer, settings: Settings) -> tuple[str, providers.Outcome]:
    to = f"kept.{secrets.token_hex(4)}@example.id"
    return to, await providers.send_email(mailer, settings, mail(to))


async def test_one_connection_carries_one_email_after_another(
    mailer: Mailer, relay: Relay, settings: Settings
) -> None:
    sent = [await send(mailer, settings) for _ in range(3)]
    assert [outcome.status for _, outcome in sent] == ["delivered"] * 3
    assert relay.opened == 1
    for to, _ in sent:
        assert len(await eventually(lambda: mailbox(to), timeout=20)) == 1  # noqa: B023

    await mailer.close()
    await eventually(lambda: not relay.live, timeout=5)


@pytest.mark.parametrize("noticed", [True, False], ids=["noticed", "unnoticed"])
async def test_a_connection_the_server_closed_is_replaced_and_the_email_sent_once(
    mailer: Mailer, relay: Relay, settings: Settings, noticed: bool
) -> None:
    _, first = await send(mailer, settings)
    assert first.status == "delivered"
    relay.cut_all()
    if noticed:
        await asyncio.sleep(0.2)  # the client sees the connection closed before the next e-mail
    to, second = await send(mailer, settings)
    assert second.status == "delivered"
    assert relay.opened == 2
    [received] = await eventually(lambda: mailbox(to), timeout=20)
    assert received["Subject"] == "Tes"
    await asyncio.sleep(0.5)  # a second copy would have arrived by now
    assert len(await mailbox(to)) == 1


async def test_a_connection_lost_once_the_email_is_handed_over_is_not_retried_at_once(
    mailer: Mailer, relay: Relay, settings: Settings
) -> None:
    _, first = await send(mailer, settings)
    assert first.status == "delivered"
    relay.cut_at_data = True
    _, lost = await send(mailer, settings)
    # The relay may have the message: the retries of technical failures decide, not the pool.
    assert lost.status == "technical-failure"
    assert relay.opened == 1, "not sent again on a new connection"
    _, after = await send(mailer, settings)
    assert after.status == "delivered"
    assert relay.opened == 2
