"""The rules of templates: what a template may say, saving it as a new version, and rendering the
message of an event on a channel in the recipient's language."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mpp_shared import db
from mpp_shared.etags import precondition_required, stale
from mpp_shared.problems import Problem
from notifications.templates import defaults, placeholders, store
from notifications.templates.models import (
    NEEDS_SUBJECT,
    NO_SUBJECT,
    SMS_MAX_CHARACTERS,
    Preview,
    PreviewInput,
    Rendered,
    Template,
    TemplateInput,
)

log = logging.getLogger(__name__)
# An event type's current templates by id, each with `id`, `version`, `subject` and `text`.
Sources = Mapping[str, Any]

FALLBACK_LANGUAGE = "id"
SYSTEM = "system"  # who saves the built-in defaults


# --- rendering ---------------------------------------------------------------------------------


@functools.cache
def _environment() -> placeholders.Sandbox:
    return placeholders.environment()


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> jinja2.Template:
    """A template's text compiled once. Keyed by the text itself rather than (id, version): the
    same then, since a version never changes, and never stale across databases."""
    return _environment().from_string(source)


def _render(subject: str | None, text: str, context: Mapping[str, Any], version: int) -> Rendered:
    """Render a template's subject and text; raises whatever a broken template raises."""
    title = None
    if subject is not None:
        # One line: a newline in an e-mail subject would start a new header.
        title = " ".join(_compiled(subject).render(context).split())
    body = "\n".join(line.rstrip() for line in _compiled(text).render(context).splitlines())
    body = re.sub(r"\n{3,}", "\n\n", body).strip()  # blank lines an omitted block leaves
    return Rendered(subject=title, text=body, template_version=version)


async def render(
    connection: AsyncConnection,
    *,
    event_type: str,
    channel: str,
    language: str,
    context: dict[str, Any],
) -> Rendered | None:
    """The message of an event on a channel, from the current template in the recipient's
    language (Indonesian when it has none); None when the channel has no template for it, or its
    template fails to render (logged: the message is not sent rather than sent broken)."""
    found = None
    for lang in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        found = await store.find(connection, store.template_id(event_type, channel, lang))
        if found is not None:
            break
    return _rendered(found, context, channel)


async def sources(connection: AsyncConnection, event_type: str) -> Sources:
    """The current templates of an event type, read once to render all its messages."""
    return await store.sources_of(connection, event_type)


def render_from(
    found: Sources, *, event_type: str, channel: str, language: str, context: dict[str, Any]
) -> Rendered | None:
    """As `render`, from the templates `sources` read: planning an event's messages reads them
    once for all its channels (a query per channel was a fifth of the consumer's CPU)."""
    ids = (store.template_id(event_type, channel, lang) for lang in (language, FALLBACK_LANGUAGE))
    return _rendered(next((found[i] for i in ids if i in found), None), context, channel)


def _rendered(found: Any, context: dict[str, Any], channel: str) -> Rendered | None:
    """A found template (`id`, `version`, `subject`, `text`) rendered, or None; an SMS in
    GSM 03.38 whatever the officer's note holds (a curly quote would triple its cost)."""
    if found is None:
        return None
    try:
        rendered = _render(found.subject, found.text, context, found.version)
    except Exception:
        log.exception("template %s v%s failed to render", found.id, found.version)
        return None
    if channel == "sms":
        return rendered.model_copy(update={"text": placeholders.gsm_7(rendered.text)})
    return rendered


# --- checks ------------------------------------------------------------------------------------


def _error(field: str, indonesian: str, english: str, where: str = "body") -> dict[str, Any]:
    return {"field": field, "in": where, "message": {"id": indonesian, "en": english}}


def _source_errors(field: str, source: str, allowed: set[str]) -> list[dict[str, Any]]:
    """Syntax, refused constructs and unknown placeholders in one template text."""
    try:
        parsed = _environment().parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return [_syntax_error(field, exc)]
    errors = [
        _error(
            field,
            f"Baris {use.line}: `{use.path}` tidak diizinkan dalam templat.",
            f"Line {use.line}: `{use.path}` is not allowed in a template.",
        )
        for use in placeholders.refused(parsed)
    ]
    reported: set[str] = set()
    for use in placeholders.collect(parsed):
        if use.path in reported or placeholders.permitted(use.path, allowed):
            continue
        reported.add(use.path)
        errors.append(
            _error(
                field,
                f"Baris {use.line}: placeholder `{{{{ {use.path} }}}}` tidak dikenal untuk jenis "
                "peristiwa ini.",
                f"Line {use.line}: unknown placeholder `{{{{ {use.path} }}}}` for this event type.",
            )
        )
    if not errors:
        try:
            _compiled(source)  # unknown filters and tests surface only when compiling
        except jinja2.TemplateSyntaxError as exc:
            errors.append(_syntax_error(field, exc))
    return errors


def _syntax_error(field: str, exc: jinja2.TemplateSyntaxError) -> dict[str, Any]:
    return _error(
        field,
        f"Baris {exc.lineno}: penulisan templat salah ({exc.message}).",
        f"Line {exc.lineno}: template syntax error ({exc.message}).",
    )


def _rendering_errors(
    *, event_type: str, channel: str, language: str, subject: str | None, text: str
) -> list[dict[str, Any]]:
    """Render with the sample context (each branch of its choice fields): it must work, say
    something, and fit the channel."""
    longest = 0
    for context in placeholders.variants(event_type, language=language):
        for field, source in (("subject", subject), ("text", text)):
            if source is None:
                continue
            try:
                rendered = _render(None, source, context, 0).text
            except Exception as exc:
                return [
                    _error(
                        field,
                        f"Templat gagal ditampilkan dengan data contoh: {exc}",
                        f"The template fails to render with sample data: {exc}",
                    )
                ]
            if field == "text":
                longest = max(longest, len(rendered))
                if not rendered:
                    return [
                        _error(
                            field,
                            "Dengan data contoh, templat ini menghasilkan pesan kosong.",
                            "With sample data this template renders an empty message.",
                        )
                    ]
    if channel == "sms" and longest > SMS_MAX_CHARACTERS:
        return [
            _error(
                "text",
                f"SMS terlalu panjang: {longest} karakter dengan data contoh (maksimal "
                f"{SMS_MAX_CHARACTERS}, yaitu 3 SMS).",
                f"SMS too long: {longest} characters with sample data (at most "
                f"{SMS_MAX_CHARACTERS}, i.e. 3 SMS).",
            )
        ]
    return []


def check(*, event_type: str, channel: str, language: str, subject: str | None, text: str) -> None:
    """Refuse (422) a template that would not render well for its event type and channel."""
    if event_type not in placeholders.event_types():
        raise Problem(
            422,
            "validation",
            errors=[
                _error(
                    "event_type",
                    "Jenis peristiwa ini tidak dikenal.",
                    "This event type is unknown.",
                    "path",
                )
            ],
        )
    allowed = placeholders.allowed(event_type)
    errors: list[dict[str, Any]] = []
    if channel in NEEDS_SUBJECT and not subject:
        errors.append(
            _error(
                "subject",
                f"Wajib diisi untuk saluran {channel}.",
                f"Required on the {channel} channel.",
            )
        )
    if channel in NO_SUBJECT and subject:
        errors.append(
            _error(
                "subject",
                f"Saluran {channel} tidak memakai subjek; kosongkan.",
                f"The {channel} channel has no subject; leave it out.",
            )
        )
    for field, source in (("subject", subject), ("text", text)):
        if source:
            errors.extend(_source_errors(field, source, allowed))
    if not errors:
        errors = _rendering_errors(
            event_type=event_type, channel=channel, language=language, subject=subject, text=text
        )
    if errors:
        raise Problem(
            422,
            "validation",
            detail={
                "id": "Templat belum dapat disimpan. Periksa isian yang ditandai.",
                "en": "The template cannot be saved. Check the fields listed.",
            },
            errors=errors,
            placeholders=sorted(allowed),
        )


# --- reading -----------------------------------------------------------------------------------


def not_found(template: str) -> Problem:
    """A 404 naming the template."""
    return Problem(
        404,
        "not-found",
        detail={
            "id": f"Templat {template!r} tidak ditemukan.",
            "en": f"Template {template!r} was not found.",
        },
    )


async def get(
    connection: AsyncConnection, *, event_type: str, channel: str, language: str
) -> Template:
    """The current version of one template."""
    template = store.template_id(event_type, channel, language)
    found = await store.find(connection, template)
    if found is None:
        raise not_found(template)
    return found


async def list_templates(
    connection: AsyncConnection, *, event_type: str | None = None, channel: str | None = None
) -> list[Template]:
    """The current templates, optionally of one event type or channel."""
    return await store.list_current(connection, event_type=event_type, channel=channel)


async def versions(
    connection: AsyncConnection, *, event_type: str, channel: str, language: str, limit: int = 20
) -> list[Template]:
    """A template's versions, newest first."""
    template = store.template_id(event_type, channel, language)
    if await store.find(connection, template) is None:
        raise not_found(template)
    return await store.list_versions(connection, template, limit=limit)


# --- saving ------------------------------------------------------------------------------------


async def _write(
    connection: AsyncConnection,
    *,
    event_type: str,
    channel: str,
    language: str,
    subject: str | None,
    text: str,
    edited: int | None,
    origin: str,
    author: str,
) -> Template | None:
    """Save the version after `edited` (the first without one) and make it current; None when
    another save moved the template on first."""
    saved = Template.model_validate(
        {
            "id": store.template_id(event_type, channel, language),
            "event_type": event_type,
            "channel": channel,
            "language": language,
            "version": (edited or 0) + 1,
            "subject": subject,
            "text": text,
            "origin": origin,
            "saved_by": author,
            "saved_at": datetime.now(UTC),
        }
    )
    if edited is None:
        done = await store.create(connection, saved)
    else:
        done = await store.advance(connection, saved, edited=edited)
    return saved if done else None


async def save(
    connection: AsyncConnection,
    *,
    event_type: str,
    channel: str,
    language: str,
    data: TemplateInput,
    if_match: int | None,
    author: str,
) -> tuple[Template, bool]:
    """Save a new version of a template (True when it is the first). Changing an existing one
    needs `If-Match` with the version edited; sending the current content again changes
    nothing, so a retried save answers like the first."""
    subject = data.subject if data.subject and data.subject.strip() else None
    check(
        event_type=event_type, channel=channel, language=language, subject=subject, text=data.text
    )
    current = await store.find(connection, store.template_id(event_type, channel, language))
    if current is not None and (current.subject, current.text) == (subject, data.text):
        return current, False
    if current is None and if_match is not None:
        raise stale()
    if current is not None and if_match is None:
        raise precondition_required()
    if current is not None and if_match != current.version:
        raise stale()
    written = await _write(
        connection,
        event_type=event_type,
        channel=channel,
        language=language,
        subject=subject,
        text=data.text,
        edited=current.version if current else None,
        origin="admin",
        author=author,
    )
    if written is None:
        raise stale()
    return written, current is None


async def ensure_defaults(engine: AsyncEngine) -> int:
    """Save each built-in template that is missing, or still the default but since reworded;
    never touch one an administrator saved. Returns how many versions it saved."""
    saved = 0
    async with db.transaction(engine) as connection:
        current = {t.id: t for t in await store.list_current(connection)}
        for event_type, channel, language, subject, text in defaults.each():
            found = current.get(store.template_id(event_type, channel, language))
            if found is not None and (
                found.origin != "default" or (found.subject, found.text) == (subject, text)
            ):
                continue
            written = await _write(
                connection,
                event_type=event_type,
                channel=channel,
                language=language,
                subject=subject,
                text=text,
                edited=found.version if found else None,
                origin="default",
                author=SYSTEM,
            )
            saved += written is not None
    return saved


# --- preview -----------------------------------------------------------------------------------


async def preview(connection: AsyncConnection, *, data: PreviewInput) -> Preview:
    """Render given text and subject (the current template's where left out) with a sample
    context, after the same checks as saving."""
    template = store.template_id(data.event_type, data.channel, data.language)
    current = await store.find(connection, template)
    if data.text is None and current is None:
        raise not_found(template)
    text = data.text if data.text is not None else current.text if current else ""
    subject = data.subject if data.subject is not None else current.subject if current else None
    subject = subject if subject and subject.strip() else None
    check(
        event_type=data.event_type,
        channel=data.channel,
        language=data.language,
        subject=subject,
        text=text,
    )
    context = placeholders.merged(
        placeholders.sample_context(data.event_type, language=data.language), data.context
    )
    try:
        rendered = _render(subject, text, context, current.version if current else 0)
    except Exception as exc:
        raise Problem(
            422,
            "validation",
            errors=[
                _error(
                    "context",
                    f"Templat gagal ditampilkan dengan konteks ini: {exc}",
                    f"The template fails to render with this context: {exc}",
                )
            ],
        ) from None
    unchanged = current is not None and (subject, text) == (current.subject, current.text)
    return Preview(
        subject=rendered.subject,
        text=rendered.text,
        characters=len(rendered.text),
        template_version=current.version if current and unchanged else None,
        context=context,
        placeholders=sorted(placeholders.allowed(data.event_type)),
    )
