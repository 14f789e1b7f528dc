"""A service's output definition: published to the other services with the service, and refused
when it prints what the form does not ask, a sensitive answer, or an unknown applicant fact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from catalog.seed import FormField
from catalog.settings import Settings
from mpp_shared import events
from mpp_shared.testing import read_topic

from ..conftest import service_input

FIELDS = [
    FormField(name="child_name", type="string", label={"id": "Nama anak", "en": "Child's name"}),  # type: ignore[arg-type]
    FormField(name="birth_date", type="date", label={"id": "Tanggal lahir", "en": "Born on"}),  # type: ignore[arg-type]
    FormField(name="mother_nik", type="nik", label={"id": "NIK ibu", "en": "Mother's NIK"}),  # type: ignore[arg-type]
]
TITLE = {"id": "Kutipan Akta Kelahiran", "en": "Birth Certificate (Extract)"}


def product(*lines: tuple[str, str]) -> dict[str, Any]:
    return {
        "name": {"id": "Akta Kelahiran", "en": "Birth certificate"},
        "electronic": True,
        "output": {
            "title": TITLE,
            "fields": [
                {"source": source, "key": key, "label": {"id": key, "en": key}}
                for source, key in lines
            ],
        },
    }


async def test_the_output_definition_is_published_with_the_service(
    catalog: httpx.AsyncClient,
    create: Callable[..., Any],
    admin: dict[str, str],
    catalog_settings: Settings,
) -> None:
    lines = (("form", "birth_date"), ("form", "child_name"), ("applicant", "name"))
    data = service_input(form=FIELDS, product=product(*lines))
    assert (await create(data)).status_code == 201
    published = await catalog.post(f"/api/v1/catalog/services/{data.slug}/publish", headers=admin)
    assert published.status_code == 200, published.text
    assert published.json()["standard"]["product"]["output"]["title"] == TITLE

    service_id = published.json()["id"].encode()
    records = await read_topic(
        catalog_settings.kafka_bootstrap,
        catalog_settings.topic("catalog.events"),
        until=lambda rs: any(r.key == service_id for r in rs),
    )
    [event] = [events.from_json(r.value or b"") for r in records if r.key == service_id]
    output = event.data["output"]
    assert output["title"] == TITLE
    assert [(f["source"], f["key"]) for f in output["fields"]] == list(lines), "in order"


async def test_an_output_printing_an_unknown_or_sensitive_answer_is_refused(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    for line, reason in (
        (("form", "father_name"), "has no field"),
        (("form", "mother_nik"), "sensitive"),
        (("applicant", "nik"), "Unknown applicant fact"),
    ):
        data = service_input(form=FIELDS, product=product(("form", "child_name"), line))
        assert (await create(data)).status_code == 201
        refused = await catalog.post(
            f"/api/v1/catalog/services/{data.slug}/publish",
            headers=admin | {"Accept-Language": "en"},
        )
        assert refused.status_code == 422, line
        [error] = [e for e in refused.json()["errors"] if "output" in e["field"]]
        assert error["field"] == "standard.product.output.fields.1.key"
        assert reason in error["message"], error
        indonesian = await catalog.post(
            f"/api/v1/catalog/services/{data.slug}/publish", headers=admin
        )
        assert indonesian.headers["content-type"] == "application/problem+json"


async def test_only_an_electronic_product_defines_an_output(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    paper = product(("form", "child_name")) | {"electronic": False}
    data = service_input(form=FIELDS, product=paper)
    assert (await create(data)).status_code == 201

    refused = await catalog.post(f"/api/v1/catalog/services/{data.slug}/publish", headers=admin)

    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["standard.product.output"]
