"""The catalog app in-process on the real store and bus, and a valid service to play with."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from catalog.app import create_app
from catalog.models import AgencyInput, ServiceInput
from catalog.seed import FormField, SeedService, build
from catalog.settings import Settings
from mpp_shared.testing import Tokens, in_process, settings_for

AGENCY = "UJI-DUKCAPIL"


def agency(code: str = AGENCY, *, booking: list[str] = ()) -> AgencyInput:  # type: ignore[assignment]
    return AgencyInput.model_validate(
        {
            "code": code,
            "short_name": "Uji",
            "kind": "regional_office",
            "name": {"id": f"Dinas Uji {code}", "en": f"Test Office {code}"},
            "counters": [
                {
                    "code": "A1",
                    "name": {"id": "Loket A1", "en": "Counter A1"},
                    "opening_hours": [
                        {"weekday": d, "opens": "08:00", "closes": "15:00"} for d in range(1, 6)
                    ],
                    "services": [{"service": slug, "daily_capacity": 20} for slug in booking],
                }
            ],
        }
    )


DEFAULTS: dict[str, Any] = {
    "complaint_handling": {"id": "Lewat menu pengaduan.", "en": "Through the complaints menu."},
    "facilities": {"id": ["Ruang tunggu"], "en": ["Waiting room"]},
    "staff_competence": {"id": "Terlatih.", "en": "Trained."},
    "internal_supervision": {"id": "Atasan langsung.", "en": "Line manager."},
    "staff_count": 2,
    "service_guarantee": {"id": "Sesuai standar.", "en": "As the standard says."},
    "security_guarantee": {"id": "Data dilindungi.", "en": "Data protected."},
    "performance_evaluation": {"id": "Survei SKM.", "en": "SKM survey."},
}


def service_input(
    slug: str | None = None, *, agency_code: str = AGENCY, **changes: Any
) -> ServiceInput:
    """A complete, publishable online service; `changes` override seed fields."""
    entry: dict[str, Any] = {
        "slug": slug or f"akta-uji-{secrets.token_hex(3)}",
        "agency": agency_code,
        "category": "civil_status",
        "name": {"id": "Akta Kelahiran Uji", "en": "Test Birth Certificate"},
        "description": {"id": "Penerbitan akta kelahiran.", "en": "Issuing birth certificates."},
        "channels": ["online"],
        "keywords": ["akte lahir"],
        "requirements": [
            {
                "code": "surat_lahir",
                "name": {"id": "Surat keterangan lahir", "en": "Birth letter"},
                "document_kinds": ["letter"],
            }
        ],
        "procedure": {
            "id": ["Isi formulir", "Unggah berkas"],
            "en": ["Fill in the form", "Upload documents"],
        },
        "fee": {
            "amount": 0,
            "legal_basis": {"id": "Gratis, UU 24/2013", "en": "Free, Law 24/2013"},
        },
        "product": {
            "name": {"id": "Akta Kelahiran", "en": "Birth certificate"},
            "electronic": True,
        },
        "legal_basis": {"id": ["UU 24/2013"], "en": ["Law 24/2013"]},
        "workflow": "review",
        "sla_days": 3,
        "form": [
            FormField(
                name="child_name", type="string", label={"id": "Nama anak", "en": "Child's name"}
            )
        ],  # type: ignore[arg-type]
    } | changes
    return build(SeedService.model_validate(entry), DEFAULTS)


def body(data: ServiceInput | AgencyInput) -> dict[str, Any]:
    return data.model_dump(mode="json")


@pytest.fixture(scope="session")
def catalog_settings(namespace: str) -> Settings:
    return settings_for(Settings, namespace)


@pytest.fixture(scope="session")
async def catalog(
    catalog_settings: Settings, tokens: Tokens, postgres: Any, kafka: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog API, with the seeded test agency."""
    async with in_process(
        create_app(catalog_settings), base_url="http://catalog", tokens=tokens
    ) as client:
        response = await client.put(
            f"/api/v1/catalog/agencies/{AGENCY}",
            json=body(agency()),
            headers=tokens.headers("mpp_admin"),
        )
        assert response.status_code in (200, 201), response.text
        yield client


@pytest.fixture
def admin(tokens: Tokens) -> dict[str, str]:
    return tokens.headers("mpp_admin")


@pytest.fixture
def create(catalog: httpx.AsyncClient, admin: dict[str, str]) -> Callable[..., Any]:
    """Create a draft; returns the response."""

    async def make(
        data: ServiceInput | None = None, *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await catalog.post(
            "/api/v1/catalog/services",
            json=body(data or service_input()),
            headers=admin if headers is None else headers,
        )

    return make
