"""The service reads every topic it consumes for something, and has no handler for another's."""

from __future__ import annotations

from catalog.consumers import CONSUMED, handlers
from mpp_shared.contracts import topic_of


def test_every_handler_is_of_a_contract_on_a_topic_the_service_consumes() -> None:
    assert {topic_of(model) for model in handlers()} == set(CONSUMED)
