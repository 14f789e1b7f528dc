"""OpenTelemetry set-up, once per process: traces, Prometheus metrics, JSON logs with trace ids."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pythonjsonlogger.json import JsonFormatter

_configured = False


class _TraceIds(logging.Filter):
    """Adds the current trace and span ids to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        record.span_id = format(span.span_id, "016x") if span.is_valid else None
        return True


def setup(service_name: str, *, log_level: str = "INFO") -> None:
    """Install the tracer and meter providers and JSON logging; later calls do nothing."""
    global _configured
    if _configured:
        return
    _configured = True
    resource = Resource.create({"service.name": service_name, "service.namespace": "mpp"})
    provider = TracerProvider(resource=resource)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        # Spans go to the collector the standard OpenTelemetry variables name.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service_name},
        )
    )
    handler.addFilter(_TraceIds())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def tracer(name: str) -> trace.Tracer:
    """A tracer from the installed provider."""
    return trace.get_tracer(name)


def current_trace_headers() -> dict[str, str]:
    """The current W3C trace context as a carrier dict (`traceparent`, `tracestate`)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_headers(carrier: Mapping[str, str]) -> otel_context.Context:
    """A context whose parent is the span named in a W3C carrier."""
    return propagate.extract(carrier)


def kafka_headers(carrier: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """A carrier as Kafka record headers."""
    return [(key, value.encode()) for key, value in carrier.items()]


def carrier_from_kafka(headers: Any) -> MutableMapping[str, str]:
    """Kafka record headers as a carrier; undecodable values are skipped."""
    carrier: dict[str, str] = {}
    for key, value in headers or ():
        try:
            carrier[key] = value.decode() if isinstance(value, bytes) else str(value)
        except UnicodeDecodeError:
            continue
    return carrier
