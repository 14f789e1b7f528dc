"""The launch regency's catalog loads into the real store, every service publishable, twice = once."""

from __future__ import annotations

from typing import Any

from catalog import seed, store
from catalog.settings import Settings
from mpp_shared import db
from mpp_shared.testing import Databases, migration_drift


async def test_the_migrations_make_exactly_the_tables_the_store_declares(
    catalog_settings: Settings, postgres: Databases
) -> None:
    settings = catalog_settings.model_copy(
        update={"service_name": "catalogdrift", "postgres_user": "mpp_catalog"}
    )
    await postgres.create(settings)
    assert await migration_drift(settings, "catalog.migrations", store.metadata) == []


async def test_seed_passes_every_publishing_check_and_loading_twice_changes_nothing(
    catalog_settings: Settings, postgres: Databases
) -> None:
    settings = catalog_settings.model_copy(
        update={"service_name": "seedcheck", "postgres_user": "mpp_catalog"}
    )
    await postgres.create(settings)
    await db.migrate(settings, "catalog.migrations")
    engine = db.create_engine(settings)
    try:
        await check_seed(engine)
    finally:
        await engine.dispose()


async def check_seed(engine: Any) -> None:
    first = await seed.load(engine)
    services = seed.load_services()
    assert first["agencies created"] == len(seed.load_agencies())
    assert first["services published"] == len(services)
    assert await seed.check(engine) == []

    second = await seed.load(engine)
    assert second == {
        "agencies created": 0,
        "agencies updated": 0,
        "services published": 0,
        "services unchanged": len(services),
    }
    async with engine.connect() as connection:
        published = await store.published_services(connection)
    assert {r.slug for r in published} == {s.slug for s in services}
    assert all(r.published_version == 1 for r in published)


def test_seed_covers_the_regency_mall() -> None:
    services = seed.load_services()
    applicable = [s for s in services if {"online", "booking"} & set(s.channels)]
    assert len(seed.load_agencies()) >= 27
    assert len(applicable) >= 97
    assert len({s.agency for s in applicable}) >= 20
    by_slug = {s.slug: s for s in services}
    assert by_slug["akta-kelahiran"].standard.fee.free
    assert not by_slug["pembayaran-pbb"].standard.fee.free, "a tax on the bill is not free"
    assert by_slug["sim-c-perpanjangan"].standard.fee.amount == 75_000
    full_nik = {s.slug for s in services if s.requires_full_nik}
    assert {"ktp-el-baru", "kk-baru", "akta-kelahiran", "skpwni-pindah"} <= full_nik
    assert {s.agency for s in services if s.slug in full_nik} == {"DISDUKCAPIL", "KPP"}
    assert "sim-c-perpanjangan" not in full_nik
    sip = [s for s in services if s.workflow and s.workflow.auto_issue_on_expiry]
    assert sip and all(s.workflow and s.workflow.sla_days == 5 for s in sip)


def test_every_nik_field_of_the_seed_and_other_sensitive_answers_are_marked() -> None:
    marked: set[str] = set()
    for service in seed.load_services():
        for name, spec in ((service.form_schema or {}).get("properties") or {}).items():
            if spec.get("x-input") == "nik":
                assert spec.get("x-sensitive") is True, f"{service.slug}: {name}"
            if spec.get("x-sensitive"):
                marked.add(name)
    assert {"nik", "mother_nik", "father_nik", "head_nik", "child_nik"} <= marked
    assert {"bank_account", "mother_maiden_name", "passport_number", "medication"} <= marked
    assert not {"child_name", "address", "birth_date"} & marked


def test_seeded_forms_check_nik_phone_and_dates_with_the_formats_of_registration() -> None:
    formats_by_input: dict[str, set[str | None]] = {}
    for service in seed.load_services():
        properties = (service.form_schema or {}).get("properties") or {}
        for name, spec in properties.items():
            formats_by_input.setdefault(spec["x-input"], set()).add(spec.get("format"))
            assert "pattern" not in spec, f"{service.slug}: {name} (a pattern cuts no slack)"
            if "x-not-before" in spec:
                assert properties[spec["x-not-before"]]["x-input"] == "date", service.slug
    assert formats_by_input["nik"] == {"nik"}
    assert formats_by_input["phone"] == {"phone-id"}
    assert formats_by_input["date"] == {"date"}  # as every reader of a schema knows it
    kia = next(s for s in seed.load_services() if s.slug == "kia").form_schema or {}
    assert kia["properties"]["child_nik"]["format"] == "nik"
    assert kia["properties"]["birth_date"]["x-when"] == "past"
    whens = {
        spec.get("x-when")
        for service in seed.load_services()
        for spec in ((service.form_schema or {}).get("properties") or {}).values()
    }
    assert whens == {None, "past", "future"}
