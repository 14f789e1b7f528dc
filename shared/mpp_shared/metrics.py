"""The platform's own instruments, behind `record_*` functions. Names: mpp.<thing>.<measure>."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

_meter = metrics.get_meter("mpp_shared")

# (service, topic, partition) -> messages behind the end of the partition.
_lag: dict[tuple[str, str, int], int] = {}
# (service, collection) -> documents with unpublished events.
_outbox_depth: dict[tuple[str, str], int] = {}


def _observe_lag(_: CallbackOptions) -> Iterable[Observation]:
    for (service, topic, partition), lag in list(_lag.items()):
        yield Observation(lag, {"service": service, "topic": topic, "partition": partition})


def _observe_outbox(_: CallbackOptions) -> Iterable[Observation]:
    for (service, collection), depth in list(_outbox_depth.items()):
        yield Observation(depth, {"service": service, "collection": collection})


_meter.create_observable_gauge(
    "mpp.consumer.lag",
    callbacks=[_observe_lag],
    unit="{message}",
    description="Messages between the consumer's position and the end of the partition",
)
_meter.create_observable_gauge(
    "mpp.outbox.depth",
    callbacks=[_observe_outbox],
    unit="{document}",
    description="Aggregate documents holding events not yet published",
)
_consumed = _meter.create_counter(
    "mpp.consumer.messages", unit="{message}", description="Messages handled, by outcome"
)
_parked = _meter.create_counter(
    "mpp.outbox.parked",
    unit="{event}",
    description="Events the outbox relay set aside because Kafka cannot take them",
)
_published = _meter.create_counter(
    "mpp.outbox.published", unit="{event}", description="Events the outbox relay published"
)


def record_lag(*, service: str, topic: str, partition: int, lag: int) -> None:
    """Remember a partition's consumer lag for the next scrape."""
    _lag[(service, topic, partition)] = max(lag, 0)


def record_outbox_depth(*, service: str, collection: str, depth: int) -> None:
    """Remember how many documents of a collection wait for the relay."""
    _outbox_depth[(service, collection)] = depth


def record_consumed(*, service: str, event_type: str, outcome: str) -> None:
    """Count one consumed message: outcome is handled, ignored or dead_lettered."""
    _consumed.add(1, {"service": service, "event_type": event_type, "outcome": outcome})


def record_parked(*, service: str) -> None:
    """Count an event the relay parked: Kafka cannot take it."""
    _parked.add(1, {"service": service})


def record_published(*, service: str, count: int) -> None:
    """Count events the relay published."""
    _published.add(count, {"service": service})
