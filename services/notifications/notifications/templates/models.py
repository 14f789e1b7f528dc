"""Templates as the API shows them, what an administrator sends, and what rendering gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["email", "sms", "whatsapp", "push", "inbox"]
Language = Literal["id", "en"]
Origin = Literal["default", "admin"]

CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp", "push", "inbox")
LANGUAGES: tuple[Language, ...] = ("id", "en")
# E-mail needs a subject line and a push notification a title; SMS and WhatsApp have neither,
# and the inbox may show one.
NEEDS_SUBJECT: frozenset[str] = frozenset({"email", "push"})
NO_SUBJECT: frozenset[str] = frozenset({"sms", "whatsapp"})
SMS_MAX_CHARACTERS = 480  # three concatenated SMS: more costs more and arrives out of order


class Rendered(BaseModel):
    """A message ready to send: its subject (e-mail and push titles), its text, and the version
    of the template that made it."""

    model_config = ConfigDict(frozen=True)

    subject: str | None
    text: str
    template_version: int


class TemplateInput(BaseModel):
    """A new version of a template: Jinja text (and subject) using the event's placeholders."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=300)
    text: str = Field(min_length=1, max_length=20_000)


class Template(BaseModel):
    """One version of the template of an event type on a channel in a language."""

    id: str
    event_type: str
    channel: Channel
    language: Language
    version: int
    subject: str | None
    text: str
    origin: Origin  # `default` until an administrator saves a version of their own
    saved_by: str
    saved_at: datetime


class PreviewInput(BaseModel):
    """What to preview: given text and subject, or the current template's where left out."""

    model_config = ConfigDict(extra="forbid")

    event_type: str
    channel: Channel
    language: Language = "id"
    subject: str | None = Field(default=None, max_length=300)
    text: str | None = Field(default=None, min_length=1, max_length=20_000)
    # Values laid over the sample context, e.g. {"event": {"purpose": "reset_password"}}.
    context: dict[str, Any] = {}


class Preview(BaseModel):
    """A template rendered with a sample context."""

    subject: str | None
    text: str
    characters: int
    template_version: int | None  # None when previewing unsaved text
    context: dict[str, Any]
    placeholders: list[str]  # what a template of this event type may use
