"""The launch regency's catalog (Kabupaten Sinjai, 73.07): load it, check it, put it in the store.

`python -m catalog.seed check` validates the seed files and runs the publishing checks;
`python -m catalog.seed load` creates or updates every agency and service and publishes what
changed, so loading twice changes nothing (make up runs it every time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog import service, workflows
from catalog.models import (
    AgencyInput,
    Fee,
    LocalizedList,
    LocalizedText,
    Model,
    Product,
    Requirement,
    Service,
    ServiceInput,
    Standard,
)
from catalog.settings import Settings
from mpp_shared import db, telemetry
from mpp_shared.problems import Problem

SEED = Path(__file__).parent / "seed"
INTERNAL = (
    "complaint_handling",
    "facilities",
    "staff_competence",
    "internal_supervision",
    "staff_count",
    "service_guarantee",
    "security_guarantee",
    "performance_evaluation",
)


class FormOption(Model):
    """One choice of a choice field."""

    value: str
    label: LocalizedText


class FormField(Model):
    """A field of the application form, as the seed writes it compactly."""

    name: str
    type: Literal[
        "string", "text", "date", "integer", "number", "boolean", "choice", "nik", "phone", "email"
    ]
    label: LocalizedText
    required: bool = True
    options: list[FormOption] = []
    # Stored encrypted by the applications service, shown whole only to the applicant and the
    # handling agency's staff: every NIK unless said otherwise, and what the seed marks.
    sensitive: bool | None = None
    # A date field: not after today (a birth, a death) or not before it (a planned ceremony);
    # and not before another date field of the form (an end after its start).
    when: Literal["past", "future"] | None = None
    not_before: str | None = None

    @property
    def is_sensitive(self) -> bool:
        """Marked so, or a NIK not marked otherwise."""
        return self.sensitive if self.sensitive is not None else self.type == "nik"


class SeedService(Model):
    """A service as the seed files write it; templates fill in the rest."""

    slug: str
    agency: str
    category: str
    name: LocalizedText
    description: LocalizedText
    channels: list[str]
    keywords: list[str] = []
    requirements: list[Requirement]
    procedure: LocalizedList
    completion_time: LocalizedText | None = None
    fee: Fee
    product: Product
    legal_basis: LocalizedList
    workflow: Literal["review", "visit", "none"]
    sla_days: int = 0
    auto_issue: bool = False
    form: list[FormField] | None = None
    requires_full_nik: bool = False
    # Any internal component may be overridden per service.
    complaint_handling: LocalizedText | None = None
    facilities: LocalizedList | None = None
    staff_competence: LocalizedText | None = None
    internal_supervision: LocalizedText | None = None
    staff_count: int | None = None
    service_guarantee: LocalizedText | None = None
    security_guarantee: LocalizedText | None = None
    performance_evaluation: LocalizedText | None = None


FIELD_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string", "minLength": 1, "maxLength": 200},
    "text": {"type": "string", "maxLength": 2000},
    "date": {"type": "string", "format": "date"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "choice": {"type": "string"},
    # Formats of mpp_shared.formats, checked alike at registration and on the phone.
    "nik": {"type": "string", "format": "nik"},
    "phone": {"type": "string", "format": "phone-id"},
    "email": {"type": "string", "format": "email"},
}


def form_schema(fields: list[FormField]) -> dict[str, Any]:
    """A JSON Schema (2020-12) for the form; labels in both languages as `x-label`, sensitive
    answers marked `x-sensitive`, dates bounded by `x-when` (past/future) and `x-not-before`
    (another date field), as the applications service and the citizen app check them."""
    properties: dict[str, Any] = {}
    for f in fields:
        spec: dict[str, Any] = dict(FIELD_TYPES[f.type])
        spec = {"title": f.label.id, "x-label": f.label.model_dump(), "x-input": f.type, **spec}
        if f.options:
            spec["enum"] = [o.value for o in f.options]
            spec["x-options"] = [o.model_dump() for o in f.options]
        if f.is_sensitive:
            spec["x-sensitive"] = True
        if f.when:
            spec["x-when"] = f.when
        if f.not_before:
            spec["x-not-before"] = f.not_before
        properties[f.name] = spec
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
        # JSON objects have no order; forms do: the order to ask the fields in.
        "x-order": [f.name for f in fields],
    }


def completion_time(sla_days: int) -> LocalizedText:
    """The citizen-facing completion time derived from the SLA."""
    if sla_days == 0:
        return LocalizedText(id="Selesai pada hari yang sama", en="Completed the same day")
    return LocalizedText(
        id=f"Paling lama {sla_days} hari kerja", en=f"At most {sla_days} working days"
    )


def build(entry: SeedService, defaults: dict[str, Any]) -> ServiceInput:
    """A full service definition from a seed entry and its defaults."""
    internal = {
        key: getattr(entry, key) if getattr(entry, key) is not None else defaults[key]
        for key in INTERNAL
    }
    workflow = None
    if entry.workflow == "review":
        workflow = workflows.review(entry.sla_days, auto_issue=entry.auto_issue)
    elif entry.workflow == "visit":
        workflow = workflows.visit(entry.sla_days)
    return ServiceInput.model_validate(
        {
            "slug": entry.slug,
            "agency": entry.agency,
            "category": entry.category,
            "name": entry.name,
            "description": entry.description,
            "channels": entry.channels,
            "keywords": entry.keywords,
            "standard": Standard.model_validate(
                {
                    "requirements": entry.requirements,
                    "procedure": entry.procedure,
                    "completion_time": entry.completion_time or completion_time(entry.sla_days),
                    "fee": entry.fee,
                    "product": entry.product,
                    "legal_basis": entry.legal_basis,
                    **internal,
                }
            ),
            "form_schema": form_schema(entry.form) if entry.form else None,
            "workflow": workflow,
            "requires_full_nik": entry.requires_full_nik,
        }
    )


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_agencies() -> list[AgencyInput]:
    """The seed's agencies."""
    return [AgencyInput.model_validate(a) for a in _read(SEED / "agencies.yaml")]


def load_services() -> list[ServiceInput]:
    """The seed's services, complete; raises ValueError naming the file and entry on bad data."""
    mall_defaults = _read(SEED / "defaults.yaml")
    services: list[ServiceInput] = []
    for path in sorted((SEED / "services").glob("*.yaml")):
        content = _read(path) or {}
        defaults = mall_defaults | (content.get("defaults") or {})
        for number, raw in enumerate(content.get("services") or []):
            try:
                services.append(build(SeedService.model_validate(raw), defaults))
            except ValidationError as exc:
                raise ValueError(
                    f"{path.name} entry {number + 1} ({raw.get('slug')}): {exc}"
                ) from exc
    return services


def published_views() -> list[Service]:
    """The seed's services as if published (version 1, id = slug), for search without a store."""
    now = datetime.now(UTC)
    return [
        Service.model_validate(
            s.model_dump() | {"id": s.slug, "version": 1, "status": "published", "updated_at": now}
        )
        for s in load_services()
    ]


async def check(engine: AsyncEngine | None = None) -> list[str]:
    """Every problem of the seed: invalid data, duplicate slugs, what publishing would refuse."""
    problems: list[str] = []
    try:
        agencies = load_agencies()
        services = load_services()
    except (ValueError, OSError, yaml.YAMLError) as exc:
        return [str(exc)]
    codes = {a.code for a in agencies}
    slugs: set[str] = set()
    for s in services:
        if s.slug in slugs:
            problems.append(f"{s.slug}: slug used twice")
        slugs.add(s.slug)
        if s.agency not in codes:
            problems.append(f"{s.slug}: unknown agency {s.agency}")
        if s.workflow:
            problems += [f"{s.slug}: {p}" for p in workflows.problems(s.workflow)]
    for a in agencies:
        for counter in a.counters:
            for cs in counter.services:
                if cs.service not in slugs:
                    problems.append(
                        f"{a.code} counter {counter.code}: unknown service {cs.service}"
                    )
    if engine is not None:
        async with engine.connect() as connection:
            for s in services:
                for error in await service.publication_problems(connection, s):
                    problems.append(f"{s.slug}: {error['field']}: {error['message']['en']}")
    return problems


async def load(engine: AsyncEngine, *, concurrency: int = 6) -> dict[str, int]:
    """Create or update every seed agency and service, publishing what changed."""
    counts = dict.fromkeys(
        ("agencies created", "agencies updated", "services published", "services unchanged"), 0
    )
    gate = asyncio.Semaphore(concurrency)

    async def put_agency(agency: AgencyInput) -> None:
        async with gate:
            after, created = await service.put_agency(engine, data=agency)
        if created:
            counts["agencies created"] += 1
        elif after.version != versions.get(agency.code):
            counts["agencies updated"] += 1

    async def put_service(data: ServiceInput) -> None:
        async with gate:
            record = await service.find_service(engine, id_or_slug=data.slug)
            stored = service.to_stored(data)
            if record and record.current == stored and record.status == "published":
                counts["services unchanged"] += 1
                return
            if record is None:
                created, _, _ = await service.create_service(
                    engine, data=data, scope="seed", idempotency_key=f"seed-{data.slug}"
                )
                service_id = created.id
            else:
                service_id = record.id
                await service.update_draft(engine, id_or_slug=service_id, data=data, if_match=None)
            await service.publish(engine, id_or_slug=service_id, if_match=None)
            counts["services published"] += 1

    agencies = load_agencies()
    versions: dict[str, int] = {}
    for agency in agencies:
        with contextlib.suppress(Problem):
            versions[agency.code] = (await service.get_agency(engine, code=agency.code)).version
    await asyncio.gather(*(put_agency(a) for a in agencies))
    await asyncio.gather(*(put_service(s) for s in load_services()))
    return counts


async def _main(command: str) -> int:
    settings = Settings()
    telemetry.setup("catalog-seed", log_level="WARNING")
    if command != "check":
        await db.migrate(settings, "catalog.migrations")
    engine = db.create_engine(settings)
    try:
        if command == "load":
            counts = await load(engine)
            print(", ".join(f"{n} {what}" for what, n in counts.items()))
            return 0
        found = await check(engine if command == "check-db" else None)
        for problem in found:
            print(problem, file=sys.stderr)
        if not found:
            services = load_services()
            online = sum(1 for s in services if {"online", "booking"} & set(s.channels))
            agencies = len({s.agency for s in services})
            print(
                f"seed ok: {len(load_agencies())} agencies, {len(services)} services"
                f" ({online} online or booking, from {agencies} agencies)"
            )
        return 1 if found else 0
    finally:
        await engine.dispose()


def main() -> None:
    """`python -m catalog.seed check|load`."""
    parser = argparse.ArgumentParser(prog="python -m catalog.seed", description=__doc__)
    parser.add_argument("command", choices=["check", "check-db", "load"])
    sys.exit(asyncio.run(_main(parser.parse_args().command)))


if __name__ == "__main__":
    main()
