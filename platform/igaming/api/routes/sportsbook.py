"""HTTP routes of the sportsbook context (filled in by its issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["sportsbook"])
