"""Opaque identifiers, sortable by creation time."""

import uuid6


def new_id() -> str:
    """A new UUIDv7 as a string."""
    return str(uuid6.uuid7())
