"""RFC 9457 problem+json errors, in Indonesian by default and English on `Accept-Language: en`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from mpp_shared.db import is_unreachable

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
Localized = Mapping[str, str]

# Stable problem codes: `type` is /problems/<code>; title in both languages.
TITLES: dict[str, Localized] = {
    "bad-request": {"id": "Permintaan tidak valid", "en": "Bad request"},
    "validation": {"id": "Data tidak valid", "en": "Invalid data"},
    "unauthorized": {"id": "Perlu masuk terlebih dahulu", "en": "Authentication required"},
    "forbidden": {"id": "Akses ditolak", "en": "Forbidden"},
    "not-found": {"id": "Tidak ditemukan", "en": "Not found"},
    "method-not-allowed": {"id": "Metode tidak diizinkan", "en": "Method not allowed"},
    "conflict": {"id": "Terjadi konflik dengan perubahan lain", "en": "Conflict"},
    "payload-too-large": {"id": "Data terlalu besar", "en": "Payload too large"},
    "unsupported-media-type": {"id": "Jenis konten tidak didukung", "en": "Unsupported media type"},
    "rate-limited": {"id": "Terlalu banyak permintaan", "en": "Too many requests"},
    "unavailable": {"id": "Layanan sedang tidak tersedia", "en": "Service unavailable"},
    "internal": {"id": "Terjadi kesalahan pada sistem", "en": "Internal error"},
}
_STATUS_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    503: "unavailable",
}
_DETAILS: dict[str, Localized] = {
    "not-found": {
        "id": "Alamat yang diminta tidak ada.",
        "en": "The requested resource does not exist.",
    },
    "method-not-allowed": {
        "id": "Metode ini tidak didukung di alamat ini.",
        "en": "This method is not supported here.",
    },
    "validation": {"id": "Periksa kembali isian yang ditandai.", "en": "Check the fields listed."},
    "internal": {
        "id": "Permintaan Anda tidak dapat diproses. Silakan coba lagi nanti.",
        "en": "Your request could not be processed. Please try again later.",
    },
}

# Indonesian wording of pydantic's validation error types; English uses pydantic's own message.
_FIELD_MESSAGES: dict[str, str] = {
    "missing": "Wajib diisi.",
    "string_type": "Harus berupa teks.",
    "string_too_short": "Terlalu pendek (minimal {min_length} karakter).",
    "string_too_long": "Terlalu panjang (maksimal {max_length} karakter).",
    "string_pattern_mismatch": "Formatnya tidak sesuai.",
    "int_parsing": "Harus berupa bilangan bulat.",
    "int_type": "Harus berupa bilangan bulat.",
    "float_parsing": "Harus berupa angka.",
    "bool_parsing": "Harus bernilai benar atau salah.",
    "greater_than": "Harus lebih besar dari {gt}.",
    "greater_than_equal": "Minimal {ge}.",
    "less_than": "Harus lebih kecil dari {lt}.",
    "less_than_equal": "Maksimal {le}.",
    "literal_error": "Harus salah satu dari: {expected}.",
    "enum": "Harus salah satu dari: {expected}.",
    "json_invalid": "Bukan JSON yang valid.",
    "model_attributes_type": "Harus berupa objek.",
    "dict_type": "Harus berupa objek.",
    "list_type": "Harus berupa daftar.",
    "too_short": "Terlalu sedikit isian (minimal {min_length}).",
    "too_long": "Terlalu banyak isian (maksimal {max_length}).",
    "date_from_datetime_parsing": "Harus berupa tanggal (YYYY-MM-DD).",
    "date_parsing": "Harus berupa tanggal (YYYY-MM-DD).",
    "datetime_parsing": "Harus berupa waktu RFC 3339.",
    "extra_forbidden": "Isian ini tidak dikenal.",
    "value_error": "Nilai tidak valid.",
    "localized": "{id}",  # mpp_shared.formats' own words, both languages in the context
}
# The same in English words (pydantic's own text reads like a programmer's, "String should have
# at least 1 character"); types not listed keep pydantic's message.
_FIELD_MESSAGES_EN: dict[str, str] = {
    "missing": "Required.",
    "string_type": "Must be text.",
    "string_too_short": "Too short (at least {min_length} characters).",
    "string_too_long": "Too long (at most {max_length} characters).",
    "string_pattern_mismatch": "Not in the expected format.",
    "int_parsing": "Must be a whole number.",
    "int_type": "Must be a whole number.",
    "float_parsing": "Must be a number.",
    "bool_parsing": "Must be true or false.",
    "greater_than": "Must be more than {gt}.",
    "greater_than_equal": "At least {ge}.",
    "less_than": "Must be less than {lt}.",
    "less_than_equal": "At most {le}.",
    "literal_error": "Must be one of: {expected}.",
    "enum": "Must be one of: {expected}.",
    "json_invalid": "Not valid JSON.",
    "model_attributes_type": "Must be an object.",
    "dict_type": "Must be an object.",
    "list_type": "Must be a list.",
    "too_short": "Too few items (at least {min_length}).",
    "too_long": "Too many items (at most {max_length}).",
    "date_from_datetime_parsing": "Must be a date (YYYY-MM-DD).",
    "date_parsing": "Must be a date (YYYY-MM-DD).",
    "datetime_parsing": "Must be an RFC 3339 time.",
    "extra_forbidden": "Unknown field.",
    "localized": "{en}",
}


def language(request: Request) -> str:
    """`en` when the caller prefers English to Indonesian, else `id`."""
    best, best_q = "id", -1.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("id", "en"):
            continue
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


class Problem(Exception):
    """An expected error: raise it anywhere in a request and the caller gets problem+json."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        *,
        detail: Localized | None = None,
        title: Localized | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.code = code or _STATUS_CODES.get(status, "bad-request" if status < 500 else "internal")
        self.title = title or TITLES.get(self.code, TITLES["bad-request"])
        self.detail = detail or _DETAILS.get(self.code)
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(f"{status} {self.code}")

    def body(self, lang: str, instance: str | None = None) -> dict[str, Any]:
        """The problem document in one language."""
        body: dict[str, Any] = {
            "type": f"/problems/{self.code}",
            "title": self.title.get(lang) or self.title["en"],
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail.get(lang) or self.detail["en"]
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [
                {
                    k: (v.get(lang, v.get("en")) if isinstance(v, Mapping) else v)
                    for k, v in e.items()
                }
                for e in self.errors
            ]
        body.update(self.extensions)
        return body

    def response(self, request: Request) -> JSONResponse:
        """The problem as an HTTP response in the caller's language."""
        return JSONResponse(
            self.body(language(request), request.url.path),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers={"Content-Language": language(request), **self.headers},
        )


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic errors as `{field, in, message: {id, en}}` items."""
    items = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else None
        field = ".".join(loc[1:] if where else loc) or None
        context = {k: _readable(v) for k, v in (error.get("ctx") or {}).items()}
        kind = str(error.get("type"))
        if kind == "string_too_short" and not str(error.get("input", "x")).strip():
            kind = "missing"  # an empty answer is a missing one, not one too short
        template = _FIELD_MESSAGES.get(kind, _FIELD_MESSAGES["value_error"])
        english = str(error.get("msg", "Invalid value")).removeprefix("Value error, ")
        try:
            indonesian = template.format(**context)
            if kind in _FIELD_MESSAGES_EN:
                english = _FIELD_MESSAGES_EN[kind].format(**context)
        except (KeyError, IndexError, ValueError):
            indonesian = _FIELD_MESSAGES["value_error"]
        items.append({"field": field, "in": where, "message": {"id": indonesian, "en": english}})
    return items


def _readable(value: Any) -> Any:
    return value if isinstance(value, str | int | float) else str(value)


class ProblemDocument(BaseModel):
    """An error, as every operation answers one: RFC 9457 problem details (`detail` and field
    messages in Indonesian, or English with `Accept-Language: en`)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="`/problems/<code>`: what kind of error, stable for programs")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(None, description="The path that was called")
    errors: list[dict[str, Any]] | None = Field(
        None,
        description="One per field at fault: `field`, `in` (body, query, ...), `message`, and "
        "`label`, the field's name as the form shows it, where it has one",
    )


# The errors any operation may answer, whatever it does: its own add descriptions of their own.
DOCUMENTED_PROBLEMS = {
    "400": "The request is malformed (a header, a cursor, a parameter)",
    "401": "No valid access token or API key, or its session has ended",
    "403": "The caller's role or scopes do not allow this",
    "404": "Not found, or not the caller's to see",
    "409": "In conflict with the current state (a version, a step already taken)",
    "413": "The body is larger than this call accepts",
    "422": "The input is not valid: each field at fault is named in `errors`",
    "429": "Too many calls: wait the `Retry-After` seconds",
    "503": "A server the service needs is away for a moment: try again",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def unavailable() -> Problem:
    """The answer while a server the service needs cannot be reached: come back shortly."""
    return Problem(
        503,
        "unavailable",
        detail={
            "id": "Layanan sedang tidak tersedia. Silakan coba lagi sebentar lagi.",
            "en": "The service is unavailable. Please try again shortly.",
        },
        headers={"Retry-After": "5"},
    )


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the problem answers declared on every operation (as
    problem+json, replacing FastAPI's default 422 body, which this API never sends)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = ProblemDocument.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in DOCUMENTED_PROBLEMS.items():
                answer = operation["responses"].setdefault(status, {"description": description})
                answer["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return openapi


def install(app: FastAPI) -> None:
    """Answer every error of the app as problem+json; nothing reaches the caller as a trace;
    the OpenAPI document says so."""
    built = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(built())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response(request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return Problem(422, "validation", errors=field_errors(exc.errors())).response(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        return Problem(exc.status_code, headers=headers).response(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_unreachable(exc):
            return await _away(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return Problem(500, "internal").response(request)

    @app.exception_handler(OSError)
    async def _away(request: Request, exc: Exception) -> JSONResponse:
        # The database (or another server) is away: stopped, restarting, the network. The same
        # call succeeds once it is back; an accepted change was committed or not at all.
        log.warning("unreachable on %s %s: %r", request.method, request.url.path, exc)
        return unavailable().response(request)

    @app.exception_handler(SQLAlchemyError)
    async def _store(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        # A transaction left unusable by a lost connection fails with an error of its own.
        if is_unreachable(exc):
            return await _away(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(DBAPIError)
    async def _data(request: Request, exc: DBAPIError) -> JSONResponse:
        # Class 22 is PostgreSQL's "the data does not fit": input that passed the models but not
        # the database (a NUL character in text, a number out of range) is the caller's to fix.
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if not state.startswith("22"):
            return await _store(request, exc)
        log.warning("refused input on %s %s: %s", request.method, request.url.path, state)
        nul = state in ("22021", "22P05")
        return Problem(
            422,
            "validation",
            detail={
                "id": "Teks tidak boleh memuat karakter NUL."
                if nul
                else "Sebagian isian tidak dapat disimpan (terlalu besar atau tidak sah).",
                "en": "Text must not contain the NUL character."
                if nul
                else "Part of the input cannot be stored (too large or not valid).",
            },
        ).response(request)

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every database connection stayed busy for the pool's whole wait: the service is
        # overloaded, not broken. The caller may try again shortly; nothing was changed.
        log.warning("no database connection free for %s %s", request.method, request.url.path)
        return Problem(
            503,
            "unavailable",
            detail={
                "id": "Layanan sedang sangat sibuk. Silakan coba lagi sebentar lagi.",
                "en": "The service is very busy. Please try again in a moment.",
            },
            headers={"Retry-After": "5"},
        ).response(request)
