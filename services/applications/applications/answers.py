"""Sensitive form answers: what a service's form schema marks `x-sensitive: true` (and, unless
marked `false`, every NIK field) is stored encrypted, shown whole only to the applicant and the
handling agency's staff, masked to everyone else, and put in no event.

In the stored form each sensitive answer is replaced by `{"sealed": "k1:<AES-256-GCM>"}` (its
JSON encrypted with a key derived from `MPP_PII_KEY`), bound to the application and the field:
copied into another application or field, it does not open. Applications stored before answers
were sealed keep their clear values: they are read as they are, and masked all the same.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any

from cryptography.exceptions import InvalidTag

from applications.settings import Settings
from mpp_shared.contracts.applications import OUTPUT_CONTENT_KIND, OutputContent, OutputLine
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.idempotency import fingerprint as plain_fingerprint
from mpp_shared.pii import Vault, mask_nik

log = logging.getLogger(__name__)

SEALED = "sealed"
# What a masked answer shows when nothing of it may be shown (its length is not told either).
HIDDEN = "********"
_NIK = re.compile(r"[0-9]{16}")
_DIGITS_AT_END = re.compile(r"[0-9]{4}$")


def sensitive_fields(schema: dict[str, Any] | None) -> frozenset[str]:
    """The form's fields whose answers are sensitive: marked `x-sensitive: true`, or NIK fields
    (the catalog's `x-input: nik`, or 16 digits by pattern) not marked `x-sensitive: false`."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return frozenset()
    return frozenset(
        name for name, spec in properties.items() if isinstance(spec, dict) and _sensitive(spec)
    )


def _sensitive(spec: dict[str, Any]) -> bool:
    marked = spec.get("x-sensitive")
    if isinstance(marked, bool):
        return marked
    return spec.get("x-input") == "nik" or spec.get("pattern") in ("^[0-9]{16}$", r"^\d{16}$")


@functools.cache
def _vault(secret: str) -> Vault:
    return Vault(secret, kind="form-answer")


def vault_of(settings: Settings) -> Vault:
    """The vault of form answers these settings' `pii_key` opens, derived once."""
    return _vault(settings.pii_key.get_secret_value())


def fingerprint(vault: Vault, request: Any) -> str:
    """A keyed digest of a submission, to tell a retry from another request: a plain hash of a
    form whose other answers are stored in clear would give its NIK away to a search."""
    return vault.lookup_hash(plain_fingerprint(request))


def _context(application_id: str, name: str) -> str:
    return f"{application_id}/{name}"


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SEALED} and isinstance(value[SEALED], str)


def seal(
    form: dict[str, Any], *, fields: frozenset[str], vault: Vault, application_id: str
) -> dict[str, Any]:
    """The form to store: each sensitive answer encrypted, the others as they are."""
    return {
        name: {SEALED: vault.encrypt(json.dumps(value), context=_context(application_id, name))}
        if name in fields
        else value
        for name, value in form.items()
    }


def _opened(vault: Vault, application_id: str, name: str, value: Any) -> Any:
    """A stored answer in clear (an old clear one as it is); None when it will not open."""
    if not _is_sealed(value):
        return value
    try:
        return json.loads(vault.decrypt(value[SEALED], context=_context(application_id, name)))
    except (InvalidTag, ValueError):
        # A key that is not this service's (misconfigured, or rotated without the old one):
        # the answer is hidden rather than the whole application refused.
        log.error("form answer %s of application %s does not open", name, application_id)
        return None


def reveal(
    form: dict[str, Any], *, fields: frozenset[str], vault: Vault, application_id: str
) -> dict[str, Any]:
    """The stored form with its sensitive answers in clear."""
    return {
        name: _opened(vault, application_id, name, value) if name in fields else value
        for name, value in form.items()
    }


def masked(
    form: dict[str, Any], *, fields: frozenset[str], vault: Vault, application_id: str
) -> dict[str, Any]:
    """The stored form with its sensitive answers masked (see `mask`)."""
    return {
        name: mask(_opened(vault, application_id, name, value)) if name in fields else value
        for name, value in form.items()
    }


def mask(value: Any) -> str:
    """An answer as shown where the whole is not needed: a NIK keeps its province and regency
    and its serial (as the gateway shows it); a longer number its last four digits; anything
    else (a name, health details) nothing."""
    text = value.strip() if isinstance(value, str) else ""
    if _NIK.fullmatch(text):
        return mask_nik(text)
    if len(text) >= 8 and _DIGITS_AT_END.search(text):
        return f"{'*' * (len(text) - 4)}{text[-4:]}"
    return HIDDEN


@functools.cache
def _output_vault(secret: str) -> Vault:
    return Vault(secret, kind=OUTPUT_CONTENT_KIND)


def output_vault_of(settings: Settings) -> Vault:
    """The vault, shared with the documents service, that seals what an output prints."""
    return _output_vault(settings.output_content_key.get_secret_value())


def sealed_output(
    service: ServicePublished, form: dict[str, Any], *, vault: Vault, application_id: str
) -> str | None:
    """What the application's output prints, sealed for the documents service alone."""
    content = printed(service, form)
    if content is None:
        return None
    return vault.encrypt(content.model_dump_json(), context=application_id)


def printed(service: ServicePublished, form: dict[str, Any]) -> OutputContent | None:
    """What the issued document of an application under `service` prints, from its answers as
    stored: the lines its output definition names, choices by their Indonesian label. A
    sensitive answer is never printed (it would travel in an event); the catalog refuses
    definitions that name one, and one named all the same prints nothing."""
    definition = service.output
    if definition is None or not service.electronic_output:
        return None
    properties = (service.form_schema or {}).get("properties") or {}
    hidden = sensitive_fields(service.form_schema)
    lines = []
    for field in definition.fields:
        if field.source == "applicant":
            lines.append(OutputLine(label=field.label, kind="holder_name"))
            continue
        spec = properties.get(field.key)
        spec = spec if isinstance(spec, dict) else {}
        value = None if field.key in hidden else form.get(field.key)
        is_date = spec.get("x-input") == "date" or str(spec.get("format", "")).endswith("date")
        lines.append(
            OutputLine(
                label=field.label,
                value=_shown(value, spec),
                kind="date" if is_date and value else "text",
            )
        )
    return OutputContent(title=definition.title, lines=lines)


def _shown(value: Any, spec: dict[str, Any]) -> str:
    """An answer as printed: a choice's Indonesian label, a yes/no in words, else its text."""
    if value is None or value == "":
        return ""
    for option in spec.get("x-options") or []:
        if isinstance(option, dict) and option.get("value") == value:
            label = option.get("label")
            text = label.get("id") if isinstance(label, dict) else None
            if isinstance(text, str):
                return text
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, list):
        return ", ".join(_shown(item, {}) for item in value)
    return str(value)
