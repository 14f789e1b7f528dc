"""One trace links the HTTP request, the Kafka hop and the consumer's work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, outbox, runtime, web
from mpp_shared.contracts.identity import SessionsEnded
from mpp_shared.events import Event, new_event
from mpp_shared.kafka import ensure_topics
from mpp_shared.testing import eventually

from .conftest import PROBE_MIGRATIONS, Probe


async def test_one_trace_id_links_http_request_kafka_hop_and_consumer_work(
    probe: Probe, kafka: str
) -> None:
    settings = probe.settings
    own = f"{settings.service_name}.events"
    await ensure_topics(kafka, [settings.topic(own), settings.dlq_topic], partitions=1)
    seen: list[tuple[str, int]] = []

    # Any contract will do: the probe's relay publishes it on the probe's own topic, read back.
    async def handle(ended: SessionsEnded, event: Event, connection: AsyncConnection) -> None:
        seen.append((event.subject, trace.get_current_span().get_span_context().trace_id))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.run(
            settings,
            migrations=PROBE_MIGRATIONS,
            consumes=[own],
            handlers={SessionsEnded: handle},
        ) as rt:
            app.state.runtime = rt
            yield

    app = web.create_app(settings, title="probe", description="probe", lifespan=lifespan)

    @app.post("/counters/{counter_id}", status_code=201)
    async def create(counter_id: str, rt: web.RuntimeDep) -> dict[str, str]:
        async with db.transaction(rt.engine) as connection:
            ended = SessionsEnded(account_id=counter_id, session_ids=["s1"], reason="sign-out")
            await outbox.record(connection, [new_event(ended, source="/probe", subject=counter_id)])
        return {"id": counter_id}

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async with app.router.lifespan_context(app):
        assert app.state.runtime.consumer is not None
        await asyncio.wait_for(app.state.runtime.consumer.ready.wait(), 30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            response = await client.post("/counters/traced")
        assert response.status_code == 201
        await eventually(lambda: seen)

    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.kind == SpanKind.SERVER and "/counters" in s.name)
    trace_id = server.context.trace_id
    publish = next(s for s in spans if s.kind == SpanKind.PRODUCER)
    consume = next(s for s in spans if s.kind == SpanKind.CONSUMER)
    assert seen == [("traced", trace_id)]
    assert publish.context.trace_id == trace_id
    assert consume.context.trace_id == trace_id
    assert consume.parent is not None and consume.parent.span_id == publish.context.span_id
    assert response.headers["traceresponse"].split("-")[1] == format(trace_id, "032x")
