"""The platform's instruments reach the Prometheus exposition."""

from __future__ import annotations

from prometheus_client import generate_latest

from mpp_shared import metrics, telemetry


def test_consumer_lag_outbox_depth_and_counts_are_exposed_for_prometheus() -> None:
    telemetry.setup("unit-test")
    metrics.record_lag(service="applications", topic="catalog.events", partition=2, lag=7)
    metrics.record_outbox_depth(service="catalog", collection="services", depth=3)
    metrics.record_consumed(
        service="applications", event_type="catalog.service.published.v1", outcome="handled"
    )
    metrics.record_published(service="catalog", count=4)
    exposition = generate_latest().decode()
    lag = [line for line in exposition.splitlines() if line.startswith("mpp_consumer_lag")]
    assert any(
        'topic="catalog.events"' in line and 'partition="2"' in line and line.endswith(" 7.0")
        for line in lag
    )
    assert any(
        line.startswith("mpp_outbox_depth") and line.endswith(" 3.0")
        for line in exposition.splitlines()
    )
    assert "mpp_consumer_messages_total" in exposition
    assert "mpp_outbox_published_total" in exposition
