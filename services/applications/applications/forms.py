"""Checking a form against its service's JSON Schema (Draft 2020-12), with every failing field
named by its label and explained in plain Indonesian and English.

Besides the standard formats, the catalog's schemas use those of `mpp_shared.formats`, the rules
registration and the citizen app apply too: the formats `nik` and `phone-id`, and on a date
`x-when` (`past`: not after today; `future`: not before it) and `x-not-before` (another date
field of the form, which this one may not precede).
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from mpp_shared import formats

# (Indonesian, English); `{expected}` is the schema's value.
_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Wajib diisi.", "Required."),
    "type": ("Jenis isian salah (harus {expected}).", "Wrong kind of answer (must be {expected})."),
    "minLength": (
        "Terlalu pendek (minimal {expected} karakter).",
        "Too short (at least {expected} characters).",
    ),
    "maxLength": (
        "Terlalu panjang (maksimal {expected} karakter).",
        "Too long (at most {expected} characters).",
    ),
    "minimum": ("Minimal {expected}.", "At least {expected}."),
    "maximum": ("Maksimal {expected}.", "At most {expected}."),
    "exclusiveMinimum": ("Harus lebih dari {expected}.", "Must be more than {expected}."),
    "exclusiveMaximum": ("Harus kurang dari {expected}.", "Must be less than {expected}."),
    "pattern": ("Formatnya tidak sesuai.", "Not in the expected format."),
    "format": ("Formatnya tidak sesuai ({expected}).", "Not in the expected format ({expected})."),
    "email": ("Alamat e-mail tidak valid.", "Not a valid e-mail address."),
    "enum": ("Pilih salah satu: {expected}.", "Choose one of: {expected}."),
    "const": ("Nilainya harus {expected}.", "Must be {expected}."),
    "additionalProperties": ("Isian ini tidak dikenal.", "Unknown field."),
    "minItems": ("Terlalu sedikit (minimal {expected}).", "Too few (at least {expected})."),
    "maxItems": ("Terlalu banyak (maksimal {expected}).", "Too many (at most {expected})."),
    "other": ("Nilai tidak valid.", "Not a valid answer."),
}
_TYPES = {
    "string": ("teks", "text"),
    "integer": ("bilangan bulat", "a whole number"),
    "number": ("angka", "a number"),
    "boolean": ("ya/tidak", "yes or no"),
    "array": ("daftar", "a list"),
    "object": ("objek", "an object"),
}


def _checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
    for name, check in formats.FORMATS.items():
        checker.checks(name, raises=formats.InvalidValue)(check)
    return checker


_CHECKER = _checker()


def normalised(schema: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The answers as the service keeps them: NIKs as 16 digits, mobile numbers in E.164, text
    trimmed; what cannot be read is left for `problems` to explain."""
    properties = schema.get("properties") or {}
    specs = {name: spec for name, spec in properties.items() if isinstance(spec, dict)}
    return {
        name: formats.normalised(value, specs.get(name, {}).get("format"))
        for name, value in form.items()
    }


def problems(schema: dict[str, Any], form: dict[str, Any]) -> list[dict[str, Any]]:
    """Every failing field of `form`, as `{field, in, label, message}` (label and message as
    `{id, en}`), in the form's order; empty when valid."""
    validator = Draft202012Validator(schema, format_checker=_CHECKER)
    found: dict[str, dict[str, Any]] = {}
    for error in validator.iter_errors(form):
        for item in _explain(error, schema):
            found.setdefault(item["field"], item)  # one message per field is enough
    for item in _date_problems(schema, form, faulty=set(found)):
        found.setdefault(item["field"], item)
    order = [*schema.get("x-order", []), *(schema.get("properties") or {})]
    rank = {f"form.{name}": i for i, name in reversed(list(enumerate(order)))}
    return sorted(
        found.values(), key=lambda item: (rank.get(item["field"], len(rank)), item["field"])
    )


def _date_problems(
    schema: dict[str, Any], form: dict[str, Any], *, faulty: set[str]
) -> list[dict[str, Any]]:
    """Each date on the wrong side of today (`x-when`: past or future) or before the date its
    `x-not-before` names (an end before its start), where no fault was found already."""
    found = []
    for name, spec in (schema.get("properties") or {}).items():
        mine = form.get(name)
        if not isinstance(spec, dict) or not isinstance(mine, str) or f"form.{name}" in faulty:
            continue
        when, other = spec.get("x-when"), spec.get("x-not-before")
        try:
            if when in ("past", "future"):
                formats.parse_date(mine, when=when)
        except formats.InvalidValue as invalid:
            found.append(_item(schema, [name], (invalid.messages["id"], invalid.messages["en"])))
            continue
        theirs = form.get(other) if isinstance(other, str) else None
        if not isinstance(theirs, str) or f"form.{other}" in faulty:
            continue
        try:
            early = formats.parse_date(mine) < formats.parse_date(theirs)
        except formats.InvalidValue:
            continue  # the format's own message says what is wrong
        if early:
            before = _label(schema, [str(other)])
            message = (
                f"Tidak boleh sebelum {before['id']}.",
                f"Cannot be earlier than the {before['en'].lower()}.",
            )
            found.append(_item(schema, [name], message))
    return found


def _explain(error: ValidationError, schema: dict[str, Any]) -> list[dict[str, Any]]:
    path = [str(p) for p in error.absolute_path]
    kind = str(error.validator)
    if kind in ("required", "additionalProperties") and isinstance(error.instance, dict):
        if kind == "required":
            names = [n for n in error.validator_value if n not in error.instance]
        else:
            allowed = set(error.schema.get("properties", {}))
            names = [n for n in error.instance if n not in allowed]
        return [_item(schema, [*path, name], _MESSAGES[kind]) for name in names]
    if kind == "minLength" and isinstance(error.instance, str) and not error.instance.strip():
        return [_item(schema, path, _MESSAGES["required"])]  # empty is missing, not too short
    if kind == "format":
        cause = error.cause
        if isinstance(cause, formats.InvalidValue):
            return [_item(schema, path, (cause.messages["id"], cause.messages["en"]))]
        if error.validator_value == "email":
            return [_item(schema, path, _MESSAGES["email"])]
    expected: Any = error.validator_value
    if kind == "type":
        indonesian, english = _TYPES.get(str(expected), (expected, expected))
        return [_item(schema, path, _MESSAGES["type"], (indonesian, english))]
    if kind == "enum":
        options = error.schema.get("x-options")
        labels = {
            str(o.get("value")): o["label"]
            for o in (options if isinstance(options, list) else [])
            if isinstance(o, dict) and isinstance(o.get("label"), dict)
        }
        if set(labels) >= set(map(str, expected)):
            choices = [labels[str(v)] for v in expected]
            return [
                _item(
                    schema,
                    path,
                    _MESSAGES["enum"],
                    (
                        ", ".join(c.get("id", "") for c in choices),
                        ", ".join(c.get("en") or c.get("id", "") for c in choices),
                    ),
                )
            ]
    if isinstance(expected, list):
        expected = ", ".join(map(str, expected))
    return [_item(schema, path, _MESSAGES.get(kind, _MESSAGES["other"]), (expected, expected))]


def _item(
    schema: dict[str, Any],
    path: list[str],
    messages: tuple[str, str],
    expected: tuple[Any, Any] = (None, None),
) -> dict[str, Any]:
    return {
        "field": ".".join(["form", *path]),
        "in": "body",
        "label": _label(schema, path),
        "message": {
            "id": messages[0].format(expected=expected[0]),
            "en": messages[1].format(expected=expected[1]),
        },
    }


def label_of(schema: dict[str, Any], name: str) -> dict[str, str]:
    """A top-level field's label, `{id, en}`, as its errors name it."""
    return _label(schema, [name])


def _label(schema: dict[str, Any], path: list[str]) -> dict[str, str]:
    """The field's label from the schema (`x-label`, else `title`), else its name."""
    spec: Any = schema
    for part in path:
        spec = (spec.get("properties") or {}).get(part) if isinstance(spec, dict) else None
    if not path:
        return {"id": "Formulir", "en": "Form"}
    if isinstance(spec, dict) and isinstance(spec.get("x-label"), dict):
        label = spec["x-label"]
        return {
            "id": str(label.get("id") or path[-1]),
            "en": str(label.get("en") or label.get("id")),
        }
    if isinstance(spec, dict) and spec.get("title"):
        return {"id": str(spec["title"]), "en": str(spec["title"])}
    return {"id": path[-1], "en": path[-1]}
