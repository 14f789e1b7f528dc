"""Routes of applications: submit, list, read, act, track."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["applications"])
