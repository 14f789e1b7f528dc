"""What the command center's live stream counts as the platform's, and as a change."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.live import Figures, without_times
from gateway.pipeline import PipelineHealth, platform_dead_letters, platform_group


@pytest.mark.parametrize(
    ("group", "namespace", "ours"),
    [
        ("applications", "", True),
        ("applications.dlq-replay", "", True),
        ("t1200ab.applications", "", False),  # a test run's, on the same broker
        ("bench01.raw", "", False),
        ("t1200ab.notifications", "t1200ab", True),
        ("t1200ab.gateway.lag-test", "t1200ab", True),
        ("notifications", "t1200ab", False),
        ("t1200abc.notifications", "t1200ab", False),
        ("t1200ab.probe", "t1200ab", False),
    ],
)
def test_the_platforms_consumer_groups_are_named_after_its_services(
    group: str, namespace: str, ours: bool
) -> None:
    assert platform_group(group, namespace) is ours


@pytest.mark.parametrize(
    ("topic", "namespace", "ours"),
    [
        ("applications.dlq", "", True),
        ("gateway.dlq", "", True),
        ("applications.events", "", False),
        ("t1200ab.applications.dlq", "", False),
        ("t1200ab.documents.dlq", "t1200ab", True),
        ("documents.dlq", "t1200ab", False),
        ("t1200ab.probe.dlq", "t1200ab", False),
    ],
)
def test_dead_letter_topics_are_the_services_own(topic: str, namespace: str, ours: bool) -> None:
    assert platform_dead_letters(topic, namespace) is ours


def figures(at: dt.datetime, *, open_applications: int = 3) -> Figures:
    return Figures(
        at=at,
        applications={"at": at.isoformat(), "open": open_applications},
        ikm=None,
        deliveries={"at": at.isoformat(), "today": {"total": 2}},
        pipeline=PipelineHealth(at=at, available=True, total_lag=0, total_dead_letters=0),
        errors={"ikm": "applications answered 503"},
    )


def test_figures_read_at_another_moment_are_the_same_figures() -> None:
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(seconds=5)
    assert without_times(figures(now)) == without_times(figures(later))
    assert without_times(figures(now)) != without_times(figures(later, open_applications=4))
