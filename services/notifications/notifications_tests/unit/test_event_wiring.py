"""The service reads every topic it consumes for something, and has no handler for another's."""

from __future__ import annotations

from mpp_shared.contracts import topic_of
from notifications.consumers import CONSUMED, handlers


def test_every_handler_is_of_a_contract_on_a_topic_the_service_consumes() -> None:
    by_model = handlers(None, lambda: None)  # type: ignore[arg-type]  # only their keys are read
    assert {topic_of(model) for model in by_model} == set(CONSUMED)
