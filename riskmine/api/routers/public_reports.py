"""Public reports (placeholder; being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/public-reports", tags=["public-reports"])
