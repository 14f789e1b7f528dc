"""The CloudEvents envelope, without servers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from mpp_shared import contracts, events, topics
from mpp_shared.contracts.identity import StaffUpdated
from mpp_shared.events import InvalidEvent
from mpp_shared.kafka import by_type


class Payload(BaseModel):
    agency_id: str
    count: int


def make() -> events.Event:
    return events.new_event(
        Payload(agency_id="a1", count=2),
        type="probe.agency.counted.v1",
        source="/services/probe",
        subject="a1",
    )


def test_new_event_has_a_time_sortable_id_and_structured_json_round_trips() -> None:
    first, second = make(), make()
    assert first.id < second.id
    parsed = events.from_json(first.to_json())
    assert parsed == first
    assert parsed.payload(Payload) == Payload(agency_id="a1", count=2)


def test_structured_json_is_cloudevents_1_0() -> None:
    body = json.loads(make().to_json())
    assert body["specversion"] == "1.0"
    assert body["datacontenttype"] == "application/json"
    assert body["dataschema"] == "/schemas/probe.agency.counted.v1.json"
    assert body["time"].endswith(("Z", "+00:00"))
    assert {"id", "source", "type", "subject", "data"} <= set(body)


def test_kafka_record_is_keyed_by_subject_in_structured_mode() -> None:
    record = events.to_kafka(make())
    assert record.key == "a1"
    assert record.headers["content-type"] == b"application/cloudevents+json"


def test_payload_ignores_fields_added_later_within_a_major_version() -> None:
    event = make()
    richer = events.Event(**{**event.__dict__, "data": {**event.data, "new_optional_field": True}})
    assert richer.payload(Payload).count == 2


@pytest.mark.parametrize(
    "value",
    [
        b"{not json",
        b"[]",
        b'{"specversion": "1.0", "type": "x"}',
        b'{"specversion":"1.0","id":"1","source":"/s","type":"a.b.c.v1","time":"2026-01-01T00:00:00Z","data":"text","subject":"s"}',
        b'{"specversion":"1.0","id":"1","source":"/s","type":"a.b.c.v1","data":{}}',
    ],
)
def test_records_that_are_not_usable_cloudevents_are_refused(value: bytes) -> None:
    with pytest.raises(InvalidEvent):
        events.from_json(value)


def test_event_types_must_follow_the_naming_rule() -> None:
    with pytest.raises(ValueError, match="past_verb"):
        events.new_event(
            Payload(agency_id="a", count=1), type="AgencyCounted", source="/probe", subject="a"
        )


def test_the_type_of_an_event_is_the_one_its_payloads_contract_is_registered_under() -> None:
    staff = StaffUpdated(staff_id="s1", name="Andi", role="officer", active=True)
    event = events.new_event(staff, source="/services/gateway", subject="s1")
    assert event.type == contracts.type_of(StaffUpdated) == "identity.staff.updated.v1"
    assert event.dataschema == "/schemas/identity.staff.updated.v1.json"
    assert contracts.topic_of(StaffUpdated) == topics.IDENTITY


def test_a_payload_and_a_type_that_do_not_belong_together_are_refused() -> None:
    staff = StaffUpdated(staff_id="s1", name="Andi", role="officer", active=True)
    with pytest.raises(ValueError, match="not the payload"):
        events.new_event(staff, type="identity.citizen.updated.v1", source="/s", subject="s1")
    with pytest.raises(ValueError, match="not the payload"):  # a contract's type, not its model
        events.new_event(
            Payload(agency_id="a", count=1),
            type="identity.staff.updated.v1",
            source="/s",
            subject="a",
        )
    with pytest.raises(LookupError, match="not an event contract"):
        events.new_event(Payload(agency_id="a", count=1), source="/s", subject="a")


def test_a_model_is_the_contract_of_one_type_only() -> None:
    with pytest.raises(ValueError, match="already the contract"):
        contracts.contract("identity.staff.renamed.v1", topic=topics.IDENTITY)(StaffUpdated)
    assert "identity.staff.renamed.v1" not in contracts.REGISTRY


class _Connection:
    """Stands in for the transaction's connection: the handlers here do not touch it."""


async def test_handlers_by_contract_get_the_payload_parsed_once_and_refuse_one_that_does_not_parse() -> (
    None
):
    seen: list[tuple[StaffUpdated, events.Event]] = []

    async def on_staff(staff: StaffUpdated, event: events.Event, connection: Any) -> None:
        seen.append((staff, event))

    handlers = by_type({StaffUpdated: on_staff})
    assert list(handlers) == ["identity.staff.updated.v1"]
    staff = StaffUpdated(staff_id="s1", name="Andi", role="officer", active=True)
    event = events.new_event(staff, source="/services/gateway", subject="s1")
    await handlers[event.type](event, _Connection())  # type: ignore[arg-type]
    assert seen == [(staff, event)]
    spoilt = dataclasses.replace(event, data={"staff_id": "s1"})
    with pytest.raises(ValidationError):  # retried and dead-lettered like any failing handler
        await handlers[event.type](spoilt, _Connection())  # type: ignore[arg-type]
