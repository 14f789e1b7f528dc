"""Checking a form against its service's JSON Schema (Draft 2020-12, formats checked), with every
failing field named in Indonesian and English."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, ValidationError

_INDONESIAN = {
    "required": "Wajib diisi.",
    "type": "Jenis isian salah (harus {expected}).",
    "minLength": "Terlalu pendek (minimal {expected} karakter).",
    "maxLength": "Terlalu panjang (maksimal {expected} karakter).",
    "minimum": "Minimal {expected}.",
    "maximum": "Maksimal {expected}.",
    "exclusiveMinimum": "Harus lebih dari {expected}.",
    "exclusiveMaximum": "Harus kurang dari {expected}.",
    "pattern": "Formatnya tidak sesuai.",
    "format": "Formatnya tidak sesuai ({expected}).",
    "enum": "Harus salah satu dari: {expected}.",
    "const": "Nilainya harus {expected}.",
    "additionalProperties": "Isian ini tidak dikenal.",
    "minItems": "Terlalu sedikit (minimal {expected}).",
    "maxItems": "Terlalu banyak (maksimal {expected}).",
}
_TYPES = {
    "string": "teks",
    "integer": "bilangan bulat",
    "number": "angka",
    "boolean": "ya/tidak",
    "array": "daftar",
    "object": "objek",
}


def problems(schema: dict[str, Any], form: dict[str, Any]) -> list[dict[str, Any]]:
    """Every failing field of `form`, as `{field, in, message: {id, en}}`; empty when valid."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found: dict[str, dict[str, Any]] = {}
    for error in sorted(validator.iter_errors(form), key=lambda e: list(e.absolute_path)):
        for item in _explain(error, form):
            found.setdefault(item["field"], item)  # one message per field is enough
    return list(found.values())


def _explain(error: ValidationError, form: dict[str, Any]) -> list[dict[str, Any]]:
    path = ".".join(str(p) for p in error.absolute_path)
    prefix = f"form.{path}" if path else "form"
    kind = str(error.validator)
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [
            _item(f"{prefix}.{name}", "required", None, f"'{name}' is a required property")
            for name in error.validator_value
            if name not in present
        ]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [
            _item(f"{prefix}.{name}", kind, None, f"'{name}' is not a known field")
            for name in extra
        ]
    expected = error.validator_value
    if kind == "type":
        expected = _TYPES.get(str(expected), expected)
    return [_item(prefix, kind, expected, error.message)]


def _item(field: str, kind: str, expected: Any, english: str) -> dict[str, Any]:
    template = _INDONESIAN.get(kind, "Nilai tidak valid.")
    if isinstance(expected, list):
        expected = ", ".join(map(str, expected))
    return {
        "field": field,
        "in": "body",
        "message": {"id": template.format(expected=expected), "en": english},
    }
