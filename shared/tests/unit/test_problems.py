"""problem+json errors in the caller's language, without servers."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import exc

from mpp_shared import problems


class Form(BaseModel):
    name: str = Field(min_length=3)
    age: int = Field(ge=17)


def app() -> FastAPI:
    application = FastAPI()
    problems.install(application)

    @application.post("/forms")
    async def submit(form: Form) -> Form:
        return form

    @application.get("/conflict")
    async def conflict() -> None:
        raise problems.Problem(
            409, detail={"id": "Sudah diubah orang lain.", "en": "Changed by someone else."}
        )

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @application.get("/busy")
    async def busy() -> None:
        # What SQLAlchemy's pool raises when no connection came free within its wait.
        raise exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached")

    return application


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_validation_errors_name_every_failing_field_in_indonesian() -> None:
    response = await call("POST", "/forms", json={"name": "ab", "age": 12})
    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert body["type"] == "/problems/validation"
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "name": "Terlalu pendek (minimal 3 karakter).",
        "age": "Minimal 17.",
    }


async def test_english_on_request() -> None:
    response = await call("POST", "/forms", json={}, headers={"Accept-Language": "en"})
    body = response.json()
    assert body["title"] == "Invalid data"
    assert [e["field"] for e in body["errors"]] == ["name", "age"]
    assert body["errors"][0]["message"] == "Required."


async def test_english_messages_are_english_words_not_pydantics_text() -> None:
    response = await call(
        "POST", "/forms", json={"name": "Al", "age": 3}, headers={"Accept-Language": "en"}
    )
    assert {e["field"]: e["message"] for e in response.json()["errors"]} == {
        "name": "Too short (at least 3 characters).",
        "age": "At least 17.",
    }


@pytest.mark.parametrize(("lang", "expected"), [("id", "Wajib diisi."), ("en", "Required.")])
async def test_an_empty_answer_is_required_not_too_short(lang: str, expected: str) -> None:
    response = await call(
        "POST", "/forms", json={"name": "  ", "age": 20}, headers={"Accept-Language": lang}
    )
    assert response.json()["errors"] == [{"field": "name", "in": "body", "message": expected}]


async def test_malformed_json_is_a_422_problem_not_a_500() -> None:
    response = await call(
        "POST", "/forms", content=b"{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "Bukan JSON yang valid."


async def test_raised_problem_keeps_its_status_and_localised_detail() -> None:
    response = await call("GET", "/conflict", headers={"Accept-Language": "en-GB"})
    assert response.status_code == 409
    assert response.json()["detail"] == "Changed by someone else."


async def test_unexpected_errors_are_a_500_problem_without_internals() -> None:
    response = await call("GET", "/boom")
    assert response.status_code == 500
    assert response.json()["type"] == "/problems/internal"
    assert "secret" not in response.text


async def test_an_exhausted_database_pool_is_a_503_to_retry_not_a_500() -> None:
    response = await call("GET", "/busy", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "The service is very busy. Please try again in a moment."
    assert "QueuePool" not in response.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "id"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("id,en;q=0.8", "id"),
        ("fr, en;q=0.5", "en"),
        ("en;q=0.3, id;q=0.7", "id"),
        ("en;q=abc", "en"),
        ("de", "id"),
    ],
)
async def test_language_negotiation(header: str, expected: str) -> None:
    response = await call("GET", "/missing", headers={"Accept-Language": header} if header else {})
    assert response.status_code == 404
    assert response.headers["content-language"] == expected
