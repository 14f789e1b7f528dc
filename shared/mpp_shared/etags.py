"""Optimistic concurrency for documents people edit (catalog entries, templates): the version is
the ETag; a change sends it back as `If-Match` and loses to a newer one with a 412."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from mpp_shared.problems import Problem

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="The ETag of the version you edited")
]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


def etag(version: int) -> str:
    """The ETag of a version."""
    return f'"{version}"'


def edit_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header names; a malformed header is a 400 problem."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(
            400,
            "bad-request",
            detail={
                "id": "Header If-Match tidak valid.",
                "en": "The If-Match header is not valid.",
            },
        ) from None


def stale() -> Problem:
    """The 412 answer to an `If-Match` that no longer matches."""
    return Problem(
        412,
        "precondition-failed",
        title={"id": "Data sudah diubah orang lain", "en": "Changed by someone else"},
        detail={
            "id": "Data ini sudah diubah sejak Anda membukanya. Muat ulang, lalu ulangi perubahan.",
            "en": "This was changed since you opened it. Reload it, then make your change again.",
        },
    )


def precondition_required() -> Problem:
    """The 428 answer to a change of an existing document without `If-Match`."""
    return Problem(
        428,
        "precondition-required",
        title={"id": "Perlu header If-Match", "en": "If-Match required"},
        detail={
            "id": "Kirim header If-Match berisi ETag versi yang Anda ubah, agar perubahan orang "
            "lain tidak tertimpa.",
            "en": "Send an If-Match header with the ETag of the version you edited, so that "
            "nobody's change is overwritten.",
        },
    )
