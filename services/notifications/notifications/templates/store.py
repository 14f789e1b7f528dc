"""Every query of templates: which version of each is current, and every version ever saved.

A template's id is `<event type>:<channel>:<language>`. Saving a version moves the current
version from the one edited to the next, guarded by the version in the UPDATE's WHERE: of two
saves from the same version exactly one wins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Row,
    Select,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.store import metadata
from notifications.templates.models import Template

templates = Table(
    "templates",
    metadata,
    Column("id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_templates_event_type_channel", "event_type", "channel"),
)

template_versions = Table(
    "template_versions",
    metadata,
    Column("template_id", Text, ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("subject", Text),
    Column("text", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("saved_by", Text, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)


def template_id(event_type: str, channel: str, language: str) -> str:
    """The id of the template of an event type on a channel in a language."""
    return f"{event_type}:{channel}:{language}"


def _selected() -> Select[Any]:
    v = template_versions.c
    return select(
        templates.c.id,
        templates.c.event_type,
        templates.c.channel,
        templates.c.language,
        v.version,
        v.subject,
        v.text,
        v.origin,
        v.saved_by,
        v.saved_at,
    ).join(template_versions, template_versions.c.template_id == templates.c.id)


def _current() -> Select[Any]:
    return _selected().where(template_versions.c.version == templates.c.version)


def _template(row: Row[Any]) -> Template:
    return Template.model_validate(row._mapping)


# The current text of every template of an event type (each channel and language: ten rows at
# most), read once for all the messages of an event, by a prebuilt statement. Rendering used to
# build and run one query per channel and language: a fifth of the consumer's CPU. Read in the
# event's transaction like any other row, it is never stale, so nothing is cached across events.
_SOURCES = (
    select(
        templates.c.id,
        template_versions.c.version,
        template_versions.c.subject,
        template_versions.c.text,
    )
    .join(template_versions, template_versions.c.template_id == templates.c.id)
    .where(
        template_versions.c.version == templates.c.version,
        templates.c.event_type == bindparam("event_type"),
    )
)


async def sources_of(connection: AsyncConnection, event_type: str) -> dict[str, Any]:
    """The current version (`id`, `version`, `subject`, `text`) of each template of an event
    type, by template id."""
    rows = await connection.execute(_SOURCES, {"event_type": event_type})
    return {row.id: row for row in rows}


_FIND = _current().where(templates.c.id == bindparam("template"))


async def find(connection: AsyncConnection, template: str) -> Template | None:
    """The current version of a template, or None."""
    row = (await connection.execute(_FIND, {"template": template})).first()
    return _template(row) if row else None


async def list_current(
    connection: AsyncConnection, *, event_type: str | None = None, channel: str | None = None
) -> list[Template]:
    """The current templates, by id (a few hundred at most)."""
    query = _current().order_by(templates.c.id)
    if event_type is not None:
        query = query.where(templates.c.event_type == event_type)
    if channel is not None:
        query = query.where(templates.c.channel == channel)
    return [_template(row) for row in await connection.execute(query)]


async def list_versions(
    connection: AsyncConnection, template: str, *, limit: int
) -> list[Template]:
    """Up to `limit` versions of a template, newest first."""
    query = (
        _selected()
        .where(templates.c.id == template)
        .order_by(template_versions.c.version.desc())
        .limit(limit)
    )
    return [_template(row) for row in await connection.execute(query)]


async def create(connection: AsyncConnection, saved: Template) -> bool:
    """Save the first version of a template; False when another save made it first."""
    created = await connection.execute(
        insert(templates)
        .values(
            id=saved.id,
            event_type=saved.event_type,
            channel=saved.channel,
            language=saved.language,
            version=saved.version,
        )
        .on_conflict_do_nothing()
        .returning(templates.c.id)
    )
    if created.first() is None:
        return False
    await _insert_version(connection, saved)
    return True


async def advance(connection: AsyncConnection, saved: Template, *, edited: int) -> bool:
    """Save a version and make it current if `edited` still is; False when another save moved
    the template on first (the row lock makes the second wait, then find it moved)."""
    moved = await connection.execute(
        update(templates)
        .where(templates.c.id == saved.id, templates.c.version == edited)
        .values(version=saved.version)
    )
    if moved.rowcount != 1:
        return False
    await _insert_version(connection, saved)
    return True


async def _insert_version(connection: AsyncConnection, saved: Template) -> None:
    await connection.execute(
        insert(template_versions).values(
            template_id=saved.id,
            version=saved.version,
            subject=saved.subject,
            text=saved.text,
            origin=saved.origin,
            saved_by=saved.saved_by,
            saved_at=saved.saved_at,
        )
    )
