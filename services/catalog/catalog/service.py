"""The catalog's business rules: drafts, publishing with its checks, versions, withdrawal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog import store, workflows
from catalog.models import Agency, AgencyInput, Channel, Service, ServiceInput, ServiceStatus
from mpp_shared import db, events, idempotency, pagination, topics
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished, ServiceWithdrawn
from mpp_shared.db import VersionConflict
from mpp_shared.etags import stale
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem

SOURCE = topics.source_of("catalog")


def _now() -> datetime:
    return datetime.now(UTC)


def not_found(what: dict[str, str], key: str) -> Problem:
    """A 404 naming what was looked for."""
    return Problem(
        404,
        "not-found",
        detail={
            "id": f"{what['id']} {key!r} tidak ditemukan.",
            "en": f"{what['en']} {key!r} was not found.",
        },
    )


AGENCY = {"id": "Instansi", "en": "Agency"}
SERVICE = {"id": "Layanan", "en": "Service"}


def conflict(detail_id: str, detail_en: str) -> Problem:
    """A 409 with its reason."""
    return Problem(409, "conflict", detail={"id": detail_id, "en": detail_en})


# --- agencies ----------------------------------------------------------------------------------


def agency_view(record: store.AgencyRecord) -> Agency:
    """An agency as the API shows it."""
    return Agency.model_validate(
        record.content
        | {"id": record.id, "version": record.version, "updated_at": record.updated_at}
    )


async def get_agency(engine: AsyncEngine, *, code: str) -> Agency:
    """One agency by code."""
    async with engine.connect() as connection:
        record = await store.find_agency(connection, code=code)
    if record is None:
        raise not_found(AGENCY, code)
    return agency_view(record)


async def agency_exists(engine: AsyncEngine, *, code: str) -> bool:
    """True when an agency has this code."""
    async with engine.connect() as connection:
        return await store.find_agency(connection, code=code) is not None


async def list_agencies(
    engine: AsyncEngine, *, kind: str | None, cursor: str | None, limit: int
) -> pagination.Page[Agency]:
    """One page of agencies in code order."""
    async with engine.connect() as connection:
        found = await store.list_agencies(connection, kind=kind, cursor=cursor, limit=limit)
    return pagination.keyset_page(
        [agency_view(r) for r in found], limit=limit, key=lambda a: (a.code,)
    )


async def put_agency(
    engine: AsyncEngine, *, data: AgencyInput, if_match: int | None = None
) -> tuple[Agency, bool]:
    """Create or replace an agency by its code; True when created. Publishes its new facts."""
    content = data.model_dump(mode="json")
    async with db.transaction(engine) as connection:
        existing = await store.find_agency(connection, code=data.code)
        if existing is None:
            agency_id = new_id()
            record = store.AgencyRecord(
                id=agency_id,
                code=data.code,
                kind=data.kind.value,
                content=content,
                version=1,
                updated_at=_now(),
            )
            event = _agency_event(agency_id, data, version=1)
            if await store.insert_agency(connection, record, [event]):
                await store.bump_search_generation(connection)  # its names are searched
                return agency_view(record), True
            # Another request created it meanwhile (its insert committed): replace it.
            existing = await store.find_agency(connection, code=data.code)
            assert existing is not None
        if if_match is not None and if_match != existing.version:
            raise stale()
        if existing.content == content:
            return agency_view(existing), False
        await _refuse_orphaned_bookings(connection, data)
        event = _agency_event(existing.id, data, version=existing.version + 1)
        try:
            updated = await store.update_agency(
                connection,
                agency_id=existing.id,
                expected_version=existing.version,
                values={"content": content, "kind": data.kind.value, "updated_at": _now()},
                new_events=[event],
            )
        except VersionConflict:
            raise stale() from None
        await store.bump_search_generation(connection)  # its names are searched
    return agency_view(updated), False


async def _refuse_orphaned_bookings(connection: store.Connection, data: AgencyInput) -> None:
    """Refuse an agency change that leaves a published counter-visit service without a counter."""
    served = {s.service for counter in data.counters for s in counter.services}
    published = await store.published_slugs(connection, agency=data.code, channel="booking")
    orphaned = [slug for slug in published if slug not in served]
    if orphaned:
        names = ", ".join(orphaned)
        raise Problem(
            422,
            "breaks-published-service",
            title={
                "id": "Perubahan merusak layanan yang terbit",
                "en": "The change breaks published services",
            },
            detail={
                "id": f"Layanan berikut tidak lagi punya loket yang melayaninya: {names}. "
                "Tambahkan ke loket lain atau tarik layanannya dulu.",
                "en": f"These services would have no counter serving them: {names}. "
                "Add them to another counter or withdraw them first.",
            },
            errors=[
                {
                    "field": "counters",
                    "in": "body",
                    "message": {"id": f"Tanpa loket: {slug}", "en": f"No counter: {slug}"},
                }
                for slug in orphaned
            ],
        )


def _agency_event(agency_id: str, data: AgencyInput, *, version: int) -> events.Event:
    payload = AgencyUpserted(
        agency_id=agency_id,
        code=data.code,
        name=data.name.model_dump(),  # type: ignore[arg-type]
        short_name=data.short_name,
        kind=data.kind.value,
        version=version,
        counters=[c.model_dump(mode="json") for c in data.counters],
    )
    return events.new_event(payload, source=SOURCE, subject=agency_id)


# --- services ----------------------------------------------------------------------------------


def to_stored(data: ServiceInput) -> dict[str, Any]:
    """A service's content as stored."""
    return data.model_dump(mode="json")


def service_view(
    record: store.ServiceRecord,
    *,
    draft: bool = False,
    snapshot: dict[str, Any] | None = None,
    version: int | None = None,
) -> Service:
    """A service as the API shows it: its published version, its draft, or an older snapshot."""
    # A draft view falls back on the published content, a published view on the first draft.
    preferred, fallback = (
        (record.draft, record.current) if draft else (record.current, record.draft)
    )
    content = snapshot or preferred or fallback
    if content is None:
        raise not_found(SERVICE, record.id)
    if version is None:
        version = (record.published_version or 0) + (1 if draft else 0)
    fields = {k: v for k, v in content.items() if k in ServiceInput.model_fields}
    return Service.model_validate(
        fields
        | {
            "id": record.id,
            "version": version,
            "status": ServiceStatus.DRAFT if draft else ServiceStatus(record.status),
            "published_at": record.published_at,
            "updated_at": record.updated_at,
        }
    )


async def _load(
    connection: store.Connection, id_or_slug: str, *, for_update: bool = False
) -> store.ServiceRecord:
    record = await store.find_service(connection, id_or_slug=id_or_slug, for_update=for_update)
    if record is None:
        raise not_found(SERVICE, id_or_slug)
    return record


async def get_published(
    engine: AsyncEngine, *, id_or_slug: str, version: int | None = None
) -> tuple[Service, str]:
    """A published service (its current version, or an earlier one) and its ETag."""
    async with engine.connect() as connection:
        record = await _load(connection, id_or_slug)
        if record.published_version is None:
            raise not_found(SERVICE, id_or_slug)
        if version is None or version == record.published_version:
            view = service_view(record)
            return view, f'"{record.id}.v{view.version}"'
        kept = await store.find_version(connection, service_id=record.id, version=version)
    if kept is None:
        raise not_found(SERVICE, f"{id_or_slug} v{version}")
    view = service_view(record, snapshot=kept.snapshot, version=version)
    view = view.model_copy(
        update={"published_at": kept.published_at, "status": ServiceStatus.PUBLISHED}
    )
    return view, f'"{record.id}.v{version}"'


async def get_draft(engine: AsyncEngine, *, id_or_slug: str) -> tuple[Service, int]:
    """The draft administrators edit (else the published content) and its edit version."""
    async with engine.connect() as connection:
        record = await _load(connection, id_or_slug)
    return service_view(record, draft=True), record.version


async def find_service(engine: AsyncEngine, *, id_or_slug: str) -> store.ServiceRecord | None:
    """A service's stored record, or None."""
    async with engine.connect() as connection:
        return await store.find_service(connection, id_or_slug=id_or_slug)


async def create_service(
    engine: AsyncEngine, *, data: ServiceInput, scope: str, idempotency_key: str | None
) -> tuple[Service, int, bool]:
    """Create a service as a draft; a retried command returns the first result (False)."""
    fingerprint = idempotency.fingerprint(data)
    service_id = idempotency.command_id(scope=scope, key=idempotency_key)
    now = _now()
    record = store.ServiceRecord(
        id=service_id,
        slug=data.slug,
        agency=data.agency,
        status=ServiceStatus.DRAFT.value,
        channels=[],
        published_version=None,
        current=None,
        draft=to_stored(data),
        published_at=None,
        created_at=now,
        updated_at=now,
        version=1,
        request_fingerprint=fingerprint,
    )
    async with db.transaction(engine) as connection:
        if await store.insert_service(connection, record):
            return service_view(record, draft=True), record.version, True
        stored = await store.find_service(connection, id_or_slug=service_id)
    if stored is None or stored.id != service_id:
        raise conflict(
            f"Slug {data.slug!r} sudah dipakai layanan lain.", f"Slug {data.slug!r} is taken."
        )
    idempotency.check_replay(stored.request_fingerprint, fingerprint)
    return service_view(stored, draft=True), stored.version, False


async def update_draft(
    engine: AsyncEngine, *, id_or_slug: str, data: ServiceInput, if_match: int | None
) -> tuple[Service, int]:
    """Replace the draft; the published version stays as it is until the draft is published."""
    async with db.transaction(engine) as connection:
        record = await _load(connection, id_or_slug)
        if if_match is not None and if_match != record.version:
            raise stale()
        if data.slug != record.slug:
            raise Problem(
                422,
                "validation",
                errors=[
                    {
                        "field": "slug",
                        "in": "body",
                        "message": {
                            "id": "Slug tidak dapat diubah; buat layanan baru bila perlu.",
                            "en": "The slug cannot change; create a new service instead.",
                        },
                    }
                ],
            )
        try:
            updated = await store.update_service(
                connection,
                service_id=record.id,
                expected_version=record.version,
                values={"draft": to_stored(data), "agency": data.agency, "updated_at": _now()},
                new_events=[],
            )
        except VersionConflict:
            raise stale() from None
    return service_view(updated, draft=True), updated.version


async def publish(engine: AsyncEngine, *, id_or_slug: str, if_match: int | None) -> Service:
    """Publish the draft as the next version, if it passes every check; announce it."""
    async with db.transaction(engine) as connection:
        record = await _load(connection, id_or_slug, for_update=True)
        if if_match is not None and if_match != record.version:
            raise stale()
        if record.draft is None:
            raise conflict("Tidak ada draf untuk diterbitkan.", "There is no draft to publish.")
        data = ServiceInput.model_validate(record.draft)
        errors = await publication_problems(connection, data)
        if errors:
            raise Problem(
                422,
                "not-publishable",
                title={
                    "id": "Layanan belum dapat diterbitkan",
                    "en": "The service cannot be published yet",
                },
                detail={
                    "id": "Lengkapi isian yang ditandai lalu terbitkan lagi.",
                    "en": "Complete the fields listed, then publish again.",
                },
                errors=errors,
            )
        version = (record.published_version or 0) + 1
        now = _now()
        snapshot = to_stored(data)
        await store.save_version(
            connection,
            store.VersionRecord(
                service_id=record.id, version=version, snapshot=snapshot, published_at=now
            ),
        )
        payload = ServicePublished(
            service_id=record.id,
            slug=data.slug,
            version=version,
            agency=data.agency,
            category=data.category.value,
            name=data.name.model_dump(),  # type: ignore[arg-type]
            channels=[c.value for c in data.channels],
            requirements=[r.model_dump(mode="json") for r in data.standard.requirements],  # type: ignore[misc]
            form_schema=data.form_schema,
            workflow=data.workflow.model_dump(mode="json") if data.workflow else None,  # type: ignore[arg-type]
            fee_amount=data.standard.fee.amount,
            fee_variable=data.standard.fee.variable,
            electronic_output=data.standard.product.electronic,
            published_at=now,
            requires_full_nik=data.requires_full_nik,
            output=data.standard.product.output.model_dump()  # type: ignore[arg-type]
            if data.standard.product.output
            else None,
        )
        event = events.new_event(payload, source=SOURCE, subject=record.id)
        updated = await store.update_service(
            connection,
            service_id=record.id,
            expected_version=record.version,
            values={
                "current": snapshot,
                "draft": None,
                "channels": [c.value for c in data.channels],
                "status": ServiceStatus.PUBLISHED.value,
                "published_version": version,
                "published_at": now,
                "updated_at": now,
            },
            new_events=[event],
        )
        await store.bump_search_generation(connection)
    return service_view(updated)


async def withdraw(engine: AsyncEngine, *, id_or_slug: str, if_match: int | None) -> Service:
    """Stop taking applications for a published service; its versions stay readable."""
    async with db.transaction(engine) as connection:
        record = await _load(connection, id_or_slug, for_update=True)
        if if_match is not None and if_match != record.version:
            raise stale()
        if record.status != ServiceStatus.PUBLISHED or record.published_version is None:
            raise conflict(
                "Hanya layanan yang terbit yang dapat ditarik.",
                "Only a published service can be withdrawn.",
            )
        now = _now()
        payload = ServiceWithdrawn(
            service_id=record.id,
            slug=record.slug,
            version=record.published_version,
            withdrawn_at=now,
        )
        event = events.new_event(payload, source=SOURCE, subject=record.id)
        updated = await store.update_service(
            connection,
            service_id=record.id,
            expected_version=record.version,
            values={"status": ServiceStatus.WITHDRAWN.value, "updated_at": now},
            new_events=[event],
        )
        await store.bump_search_generation(connection)
    return service_view(updated)


def _error(field: str, id_: str, en: str) -> dict[str, Any]:
    return {"field": field, "in": "body", "message": {"id": id_, "en": en}}


def _marks(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every `x-sensitive` in a schema: where, and its value."""
    if isinstance(node, dict):
        if "x-sensitive" in node:
            yield path, node["x-sensitive"]
        for key, child in node.items():
            yield from _marks(child, (*path, str(key)))
    elif isinstance(node, list):
        for number, child in enumerate(node):
            yield from _marks(child, (*path, str(number)))


def sensitive_mark_problems(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """`x-sensitive` (the answer is stored encrypted and shown whole only to the applicant and
    the handling agency's staff) is true or false, on a field of the form itself: the
    applications service seals the form's own answers."""
    errors = []
    for path, value in _marks(schema):
        where = "/".join(path) or "/"
        if len(path) != 2 or path[0] != "properties":
            errors.append(
                _error(
                    "form_schema",
                    f"x-sensitive hanya boleh pada isian formulir itu sendiri, bukan di {where}.",
                    f"x-sensitive belongs on the form's own fields only, not at {where}.",
                )
            )
        elif not isinstance(value, bool):
            errors.append(
                _error(
                    "form_schema",
                    f"x-sensitive pada {where} harus true atau false.",
                    f"x-sensitive at {where} must be true or false.",
                )
            )
    return errors


# The applicant facts an output may print: those the issuer learns from identity's events.
APPLICANT_FACTS = frozenset({"name"})


def output_problems(data: ServiceInput) -> list[dict[str, Any]]:
    """An output definition prints what the form asks and the issuer knows, and no sensitive
    answer: answers reach the issuer in an event, where a NIK never travels."""
    product = data.standard.product
    if product.output is None:
        return []
    field = "standard.product.output"
    if not product.electronic:
        return [
            _error(
                field,
                "Hanya produk elektronik yang mempunyai isi dokumen terbit.",
                "Only an electronic product has an issued document to define.",
            )
        ]
    properties = (data.form_schema or {}).get("properties")
    properties = properties if isinstance(properties, dict) else {}
    errors = []
    for index, line in enumerate(product.output.fields):
        where = f"{field}.fields.{index}.key"
        if line.source == "applicant" and line.key not in APPLICANT_FACTS:
            errors.append(
                _error(
                    where,
                    f"Data pemohon {line.key!r} tidak dikenal (yang ada: name).",
                    f"Unknown applicant fact {line.key!r} (known: name).",
                )
            )
        elif line.source == "form" and not isinstance(properties.get(line.key), dict):
            errors.append(
                _error(
                    where,
                    f"Isian {line.key!r} tidak ada di formulir.",
                    f"The form has no field {line.key!r}.",
                )
            )
        elif line.source == "form" and _is_sensitive(properties[line.key]):
            errors.append(
                _error(
                    where,
                    f"Isian rahasia {line.key!r} (misalnya NIK) tidak dapat dicetak.",
                    f"The sensitive field {line.key!r} (a NIK, say) cannot be printed.",
                )
            )
    return errors


def _is_sensitive(spec: dict[str, Any]) -> bool:
    """As the applications service reads the form: marked, or a NIK not marked otherwise."""
    marked = spec.get("x-sensitive")
    if isinstance(marked, bool):
        return marked
    return (
        spec.get("x-input") == "nik"
        or spec.get("format") == "nik"
        or spec.get("pattern") in ("^[0-9]{16}$", r"^\d{16}$")
    )


async def publication_problems(
    connection: store.Connection, data: ServiceInput
) -> list[dict[str, Any]]:
    """Every reason a service may not be published yet; empty when it may."""
    errors: list[dict[str, Any]] = []
    standard = data.standard
    empty = {
        "standard.requirements": not standard.requirements,
        "standard.procedure": standard.procedure.is_empty(),
        "standard.completion_time": standard.completion_time.is_empty(),
        "standard.fee.legal_basis": standard.fee.legal_basis.is_empty(),
        "standard.product.name": standard.product.name.is_empty(),
        "standard.complaint_handling": standard.complaint_handling.is_empty(),
    }
    for field, is_empty in empty.items():
        if is_empty:
            errors.append(
                _error(
                    field,
                    "Komponen standar pelayanan ini wajib diisi dalam dua bahasa.",
                    "This service-standard component is required in both languages.",
                )
            )
    codes = [r.code for r in standard.requirements]
    if len(set(codes)) != len(codes):
        errors.append(
            _error(
                "standard.requirements",
                "Kode persyaratan harus unik.",
                "Requirement codes must be unique.",
            )
        )
    takes_applications = bool({Channel.ONLINE, Channel.BOOKING} & set(data.channels))
    if data.form_schema is None:
        if takes_applications:
            errors.append(
                _error(
                    "form_schema",
                    "Layanan daring memerlukan skema formulir.",
                    "A service taking applications needs a form schema.",
                )
            )
    else:
        try:
            Draft202012Validator.check_schema(data.form_schema)
            if data.form_schema.get("type") != "object":
                raise SchemaError("the form must be an object")
        except SchemaError as exc:
            errors.append(
                _error(
                    "form_schema",
                    f"Skema formulir bukan JSON Schema yang valid: {exc.message}",
                    f"The form schema is not valid JSON Schema: {exc.message}",
                )
            )
        errors += sensitive_mark_problems(data.form_schema)
    errors += output_problems(data)
    if data.workflow is None:
        if takes_applications:
            errors.append(
                _error(
                    "workflow",
                    "Layanan daring memerlukan alur kerja.",
                    "A service taking applications needs a workflow.",
                )
            )
    else:
        for problem in workflows.problems(data.workflow):
            field, _, reason = problem.partition(": ")
            errors.append(
                _error(field, f"Alur kerja tidak sah: {reason}", f"Unsound workflow: {reason}")
            )
    agency = await store.find_agency(connection, code=data.agency)
    if agency is None:
        errors.append(
            _error(
                "agency",
                f"Instansi {data.agency!r} tidak dikenal.",
                f"Unknown agency {data.agency!r}.",
            )
        )
    elif Channel.BOOKING in data.channels and not any(
        s.get("service") == data.slug
        for c in agency.content.get("counters", [])
        for s in c.get("services", [])
    ):
        errors.append(
            _error(
                "channels",
                "Layanan dengan kunjungan loket perlu loket yang melayaninya.",
                "A service booked for a counter visit needs a counter that serves it.",
            )
        )
    return errors
