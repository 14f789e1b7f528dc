"""The catalog's models as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel


class LocalizedText(BaseModel):
    """Text shown to people, in Indonesian and English."""

    id: str
    en: str


class Agency(BaseModel):
    """An agency serving at the mall."""

    id: str
    code: str
    name: LocalizedText
    kind: str
