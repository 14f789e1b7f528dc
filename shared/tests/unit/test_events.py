"""The CloudEvents envelope, without servers."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from mpp_shared import events
from mpp_shared.events import InvalidEvent


class Payload(BaseModel):
    agency_id: str
    count: int


def make() -> events.Event:
    return events.new_event(
        type="catalog.agency.upserted.v1",
        source="/services/catalog",
        subject="a1",
        data=Payload(agency_id="a1", count=2),
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
    assert body["dataschema"] == "/schemas/catalog.agency.upserted.v1.json"
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
            type="AgencyUpserted",
            source="/services/catalog",
            subject="a",
            data=Payload(agency_id="a", count=1),
        )
