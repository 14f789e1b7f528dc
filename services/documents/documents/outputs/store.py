"""Every query about issued outputs, and the read models of other services' facts they print.

Tables: `outputs` (issued outputs; a verification code names one), `service_names`,
`agency_names`, `citizen_names` (names as last announced by the catalog and identity) and
`waiting_decisions` (decisions whose output waits for a name). They join the service's metadata
in `documents.store`, so one set of migrations makes them all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    Table,
    Text,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db
from mpp_shared.contracts.catalog import LocalizedText

Connection = AsyncConnection

metadata = db.metadata()

outputs = Table(
    "outputs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("application_id", Text, nullable=False, unique=True),
    Column("tracking_number", Text, nullable=False),
    Column("citizen_id", Text, nullable=False),
    Column("service_id", Text, nullable=False),
    Column("agency", Text, nullable=False),
    Column("service_name_id", Text, nullable=False),
    Column("service_name_en", Text, nullable=False),
    # The document's own title, as its service's output definition gives it (null: the service's
    # name, for outputs issued before services defined one).
    Column("title_id", Text),
    Column("title_en", Text),
    Column("agency_name_id", Text),
    Column("agency_name_en", Text),
    Column("holder_masked", Text, nullable=False),
    Column("verification_code", Text, nullable=False, unique=True),
    Column("object_key", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("algorithm", Text, nullable=False),
    Column("pin_hash", Text, nullable=False),
    # The PIN sent before the current one, still good: a holder who asked twice may type either.
    Column("previous_pin_hash", Text),
    Column("pin_failures", Integer, nullable=False),  # no longer counted: see wrong_pins
    Column("status", Text, nullable=False),  # valid, revoked
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", Date),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", Text),
)

# Wrong PINs by caller address, in hourly buckets kept a day: a stranger guessing from the printed
# code locks out their own address, not the holder; all addresses together have a higher cap.
wrong_pins = Table(
    "wrong_pins",
    metadata,
    Column("output_id", Text, primary_key=True),
    Column("client", Text, primary_key=True),  # a keyed hash of the address, never the address
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("failures", Integer, nullable=False),
)

service_names = Table(
    "service_names",
    metadata,
    Column("service_id", Text, primary_key=True),
    Column("name_id", Text, nullable=False),
    Column("name_en", Text, nullable=False),
)

agency_names = Table(
    "agency_names",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name_id", Text, nullable=False),
    Column("name_en", Text, nullable=False),
)

citizen_names = Table(
    "citizen_names",
    metadata,
    Column("citizen_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
)

waiting_decisions = Table(
    "waiting_decisions",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("data", JSONB, nullable=False),  # the applications service's payload, as received
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class Record(BaseModel):
    """A row as the service layer sees it."""

    model_config = ConfigDict(frozen=True)


class Output(Record):
    """An issued output."""

    id: str
    application_id: str
    tracking_number: str
    citizen_id: str
    service_id: str
    agency: str
    service_name: LocalizedText
    title: LocalizedText | None = None  # the document's own title; None: the service's name
    agency_name: LocalizedText | None
    holder_masked: str
    verification_code: str
    object_key: str
    sha256: str
    signature: str
    key_id: str
    algorithm: Literal["Ed25519"]
    pin_hash: str
    previous_pin_hash: str | None = None
    pin_failures: int
    status: str
    issued_at: dt.datetime
    valid_until: dt.date | None = None
    revoked_at: dt.datetime | None = None
    revoked_reason: str | None = None


class Names(Record):
    """What an output prints about its service, agency and holder, as far as announced."""

    service: LocalizedText | None
    agency: LocalizedText | None
    holder: str | None


class WaitingDecision(Record):
    """A decision whose output waits for a name."""

    application_id: str
    event_type: str
    data: dict[str, Any]


# --- issued outputs -----------------------------------------------------------------------------


def _output(row: Any) -> Output:
    values = dict(row._mapping)
    values["service_name"] = {
        "id": values.pop("service_name_id"),
        "en": values.pop("service_name_en"),
    }
    agency = {"id": values.pop("agency_name_id"), "en": values.pop("agency_name_en")}
    values["agency_name"] = agency if agency["id"] is not None else None
    title = {"id": values.pop("title_id"), "en": values.pop("title_en")}
    values["title"] = title if title["id"] is not None else None
    return Output.model_validate(values)


async def output(connection: Connection, output_id: str, *, lock: bool = False) -> Output | None:
    """An issued output by id; `lock` holds it until the transaction ends."""
    query = select(outputs).where(outputs.c.id == output_id)
    row = (await connection.execute(query.with_for_update() if lock else query)).first()
    return _output(row) if row else None


async def output_by_code(connection: Connection, code: str) -> Output | None:
    """The output a verification code names."""
    query = select(outputs).where(outputs.c.verification_code == code)
    row = (await connection.execute(query)).first()
    return _output(row) if row else None


async def insert_output(connection: Connection, issued: Output) -> bool:
    """A newly issued output; False when this application's output exists."""
    values = issued.model_dump(exclude={"service_name", "agency_name", "title"})
    values |= {"service_name_id": issued.service_name.id, "service_name_en": issued.service_name.en}
    if issued.title is not None:
        values |= {"title_id": issued.title.id, "title_en": issued.title.en}
    if issued.agency_name is not None:
        values |= {"agency_name_id": issued.agency_name.id, "agency_name_en": issued.agency_name.en}
    # Only the id may already exist: a clash of verification codes raises, and the retry draws
    # another code.
    inserted = await connection.execute(
        insert(outputs)
        .values(values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(outputs.c.id)
    )
    return inserted.first() is not None


async def replace_pin(
    connection: Connection, *, output_id: str, holder: str, pin_hash: str, keep_previous: bool
) -> Output | None:
    """A new PIN for the holder's output, wrong PINs forgotten; the one before it stays good
    with `keep_previous`, older ones stop working. None when the output is not theirs."""
    changed = await connection.execute(
        update(outputs)
        .where(outputs.c.id == output_id, outputs.c.citizen_id == holder)
        .values(
            pin_hash=pin_hash,
            previous_pin_hash=outputs.c.pin_hash if keep_previous else None,
        )
        .returning(*outputs.c)
    )
    row = changed.first()
    if row is None:
        return None
    await connection.execute(delete(wrong_pins).where(wrong_pins.c.output_id == output_id))
    return _output(row)


class PinFailures(Record):
    """Wrong PINs for an output in the last day: from one address, and from all of them."""

    client: int
    everyone: int


async def pin_failures_of(
    connection: Connection, *, output_id: str, client: str, now: dt.datetime
) -> PinFailures:
    """The wrong PINs that count now against `client` and against everyone."""
    hour = _hour(now)
    query = select(
        func.coalesce(
            func.sum(wrong_pins.c.failures).filter(wrong_pins.c.client == client),
            0,
        ),
        func.coalesce(func.sum(wrong_pins.c.failures), 0),
    ).where(
        wrong_pins.c.output_id == output_id,
        wrong_pins.c.window_start > hour - dt.timedelta(hours=24),
    )
    row = (await connection.execute(query)).one()
    return PinFailures(client=int(row[0]), everyone=int(row[1]))


async def count_pin_failure(
    connection: Connection, *, output_id: str, client: str, now: dt.datetime
) -> None:
    """Count a wrong PIN from `client` in this hour; forget those older than a day."""
    hour = _hour(now)
    upsert = insert(wrong_pins).values(
        output_id=output_id, client=client, window_start=hour, failures=1
    )
    await connection.execute(
        upsert.on_conflict_do_update(
            index_elements=["output_id", "client", "window_start"],
            set_={"failures": wrong_pins.c.failures + 1},
        )
    )
    await connection.execute(
        delete(wrong_pins).where(
            wrong_pins.c.output_id == output_id,
            wrong_pins.c.window_start <= hour - dt.timedelta(hours=24),
        )
    )


def _hour(now: dt.datetime) -> dt.datetime:
    return now.replace(minute=0, second=0, microsecond=0)


async def revoke(
    connection: Connection, *, output_id: str, at: dt.datetime, reason: str
) -> Output | None:
    """Revoke a valid output; None when it is revoked already."""
    changed = await connection.execute(
        update(outputs)
        .where(outputs.c.id == output_id, outputs.c.status == "valid")
        .values(status="revoked", revoked_at=at, revoked_reason=reason)
        .returning(*outputs.c)
    )
    row = changed.first()
    return _output(row) if row else None


# --- names ---------------------------------------------------------------------------------------


async def name_service(connection: Connection, service_id: str, name: LocalizedText) -> None:
    """A service's name as last published."""
    values = {"name_id": name.id, "name_en": name.en}
    await connection.execute(
        insert(service_names)
        .values(service_id=service_id, **values)
        .on_conflict_do_update(index_elements=["service_id"], set_=values)
    )


async def name_agency(connection: Connection, code: str, name: LocalizedText) -> None:
    """An agency's name as last announced."""
    values = {"name_id": name.id, "name_en": name.en}
    await connection.execute(
        insert(agency_names)
        .values(code=code, **values)
        .on_conflict_do_update(index_elements=["code"], set_=values)
    )


async def name_citizen(connection: Connection, citizen_id: str, name: str) -> None:
    """A citizen's name as last announced."""
    await connection.execute(
        insert(citizen_names)
        .values(citizen_id=citizen_id, name=name)
        .on_conflict_do_update(index_elements=["citizen_id"], set_={"name": name})
    )


async def names(connection: Connection, *, service_id: str, agency: str, citizen_id: str) -> Names:
    """The names an output of this service, agency and holder prints, as far as known."""
    service = select(service_names.c.name_id, service_names.c.name_en).where(
        service_names.c.service_id == service_id
    )
    issuer = select(agency_names.c.name_id, agency_names.c.name_en).where(
        agency_names.c.code == agency
    )
    holder = select(citizen_names.c.name).where(citizen_names.c.citizen_id == citizen_id)
    service_row = (await connection.execute(service)).first()
    agency_row = (await connection.execute(issuer)).first()
    return Names(
        service=LocalizedText(id=service_row.name_id, en=service_row.name_en)
        if service_row
        else None,
        agency=LocalizedText(id=agency_row.name_id, en=agency_row.name_en) if agency_row else None,
        holder=(await connection.execute(holder)).scalar_one_or_none(),
    )


# One key for the advisory lock that orders "a decision starts waiting" against "a name arrives",
# so a name committed while a decision is being put aside is never missed.
_WAITING_LOCK = 74_730_703


async def lock_waiting(connection: Connection) -> None:
    """Hold the waiting decisions until the transaction ends."""
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WAITING_LOCK})


async def wait_for_names(
    connection: Connection, *, application_id: str, event_type: str, data: dict[str, Any]
) -> None:
    """Keep a decision until the names its output needs have arrived."""
    values = {"event_type": event_type, "data": data}
    await connection.execute(
        insert(waiting_decisions)
        .values(application_id=application_id, **values)
        .on_conflict_do_update(index_elements=["application_id"], set_=values)
    )


async def waiting(connection: Connection) -> list[WaitingDecision]:
    """Decisions still waiting for names (a handful at most: names arrive within seconds)."""
    query = select(
        waiting_decisions.c.application_id,
        waiting_decisions.c.event_type,
        waiting_decisions.c.data,
    ).order_by(waiting_decisions.c.received_at, waiting_decisions.c.application_id)
    return [
        WaitingDecision.model_validate(row, from_attributes=True)
        for row in await connection.execute(query)
    ]


async def done_waiting(connection: Connection, application_id: str) -> None:
    """A waiting decision's output is issued."""
    await connection.execute(
        delete(waiting_decisions).where(waiting_decisions.c.application_id == application_id)
    )
