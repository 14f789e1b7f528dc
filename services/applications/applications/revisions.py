"""Sending an application back names what must be fixed (requirements to replace, form fields
to correct, each with a note), and the citizen's resubmission may change exactly that.

A send-back that names nothing (free text only, as before items existed) lets the citizen
replace any requirement's documents and change no answer. What a resubmission changed is kept
in its history line: a form answer's old and new values, a sensitive one (a NIK) only as
changed, since history is not sealed.
"""

from __future__ import annotations

from typing import Any

from applications import answers, forms
from applications.models import AskedFix, Change, RevisionItem, StoredApplication
from applications.service import field_error
from mpp_shared.contracts.catalog import LocalizedText, ServicePublished
from mpp_shared.pii import Vault
from mpp_shared.problems import Problem


def _fields(service: ServicePublished) -> dict[str, Any]:
    properties = (service.form_schema or {}).get("properties") or {}
    return {name: spec for name, spec in properties.items() if isinstance(spec, dict)}


def _field_label(service: ServicePublished, name: str) -> LocalizedText:
    return LocalizedText.model_validate(forms.label_of(service.form_schema or {}, name))


def asked(service: ServicePublished, items: list[RevisionItem]) -> list[AskedFix]:
    """The items a send-back names, labelled; a 422 naming each one the service's version does
    not have, or that is named twice."""
    requirements = {r.code: r for r in service.requirements}
    fields = _fields(service)
    found: list[AskedFix] = []
    errors = []
    seen = set()
    for index, item in enumerate(items):
        where = f"revision.{index}.name"
        if (item.kind, item.name) in seen:
            errors.append(field_error(where, "Disebut lebih dari sekali.", "Named more than once."))
            continue
        seen.add((item.kind, item.name))
        if item.kind == "requirement" and item.name in requirements:
            label = requirements[item.name].name
        elif item.kind == "field" and item.name in fields:
            label = _field_label(service, item.name)
        else:
            errors.append(
                field_error(
                    where,
                    f"Layanan ini tidak punya "
                    f"{'persyaratan' if item.kind == 'requirement' else 'isian'} '{item.name}'.",
                    f"This service has no {item.kind} '{item.name}'.",
                )
            )
            continue
        found.append(AskedFix(kind=item.kind, name=item.name, label=label, note=item.note))
    if errors:
        raise Problem(422, "validation", errors=errors)
    return found


def message(note: str | None, revision: list[AskedFix]) -> str:
    """The officer's whole message, for the citizen's notifications: the note, then each item
    by its label with its own note, a sentence each."""
    parts = [note] if note else []
    parts += [f"{i.label.id}: {i.note}" if i.note else i.label.id for i in revision]
    return " ".join(_sentence(part) for part in parts) if revision else note or ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def pending(application: StoredApplication) -> list[AskedFix]:
    """What the send-back that put the application in its current state asked to fix (empty
    when it named nothing, or the state was not entered by one)."""
    history = reversed(application.history)
    entered = next((h for h in history if h.to_state == application.state), None)
    return list(entered.revision) if entered is not None else []


def unasked(
    revision: list[AskedFix],
    *,
    form: dict[str, Any],
    documents: dict[str, list[str]],
    service: ServicePublished,
) -> list[dict[str, Any]]:
    """Each answer or requirement a resubmission changes that the send-back did not name (with
    a free-text send-back: every answer), and each named one it leaves out."""
    named = {(a.kind, a.name) for a in revision}
    labels = {r.code: r.name for r in service.requirements}
    errors = [
        field_error(
            f"form.{name}",
            "Petugas tidak meminta perbaikan isian ini.",
            "The officer did not ask to change this answer.",
            label=_field_label(service, name) if name in _fields(service) else None,
        )
        for name in form
        if ("field", name) not in named
    ]
    if revision:
        errors += [
            field_error(
                f"documents.{code}",
                "Petugas tidak meminta penggantian dokumen ini.",
                "The officer did not ask to replace this document.",
                label=labels.get(code),
            )
            for code in documents
            if ("requirement", code) not in named
        ]
    return errors


def missing(
    revision: list[AskedFix], *, form: dict[str, Any], documents: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Each item the send-back named that a resubmission leaves out."""
    given = {("field", name) for name in form} | {
        ("requirement", code) for code, ids in documents.items() if ids
    }
    return [
        field_error(
            f"{'form' if a.kind == 'field' else 'documents'}.{a.name}",
            "Petugas meminta perbaikan ini: isi ulang sebelum mengirim."
            if a.kind == "field"
            else "Petugas meminta dokumen ini diganti: unggah yang baru.",
            "The officer asked for this fix: fill it in before sending."
            if a.kind == "field"
            else "The officer asked for this document to be replaced: upload a new one.",
            label=a.label,
        )
        for a in revision
        if (a.kind, a.name) not in given
    ]


def corrected_form(
    application: StoredApplication,
    service: ServicePublished,
    *,
    form: dict[str, Any],
    vault: Vault,
) -> tuple[dict[str, Any], list[Change]]:
    """The form to store with a resubmission's new answers (checked against the form's schema:
    a 422 naming each faulty one) and what changed, in the form's order."""
    schema = service.form_schema or {}
    sensitive = answers.sensitive_fields(schema)
    current = answers.reveal(
        application.form, fields=sensitive, vault=vault, application_id=application.id
    )
    new = forms.normalised(schema, form)
    errors = [p for p in forms.problems(schema, current | new) if p["field"].split(".")[1] in new]
    if errors:
        raise Problem(422, "validation", errors=errors)
    order = [*schema.get("x-order", []), *_fields(service), *new]
    changes = [
        Change(kind="field", name=name, label=_field_label(service, name), sensitive=True)
        if name in sensitive
        else Change(
            kind="field",
            name=name,
            label=_field_label(service, name),
            old=current.get(name),
            new=new[name],
        )
        for name in dict.fromkeys(n for n in order if n in new)
        if current.get(name) != new[name]
    ]
    sealed = answers.seal(new, fields=sensitive, vault=vault, application_id=application.id)
    return application.form | sealed, changes


def replaced_documents(
    application: StoredApplication, service: ServicePublished, documents: dict[str, list[str]]
) -> list[Change]:
    """What a resubmission's new documents replace, by requirement (their ids)."""
    labels = {r.code: r.name for r in service.requirements}
    return [
        Change(
            kind="requirement",
            name=code,
            label=labels[code],
            old=application.documents.get(code, []),
            new=list(ids),
        )
        for code, ids in documents.items()
        if code in labels and list(ids) != application.documents.get(code, [])
    ]
