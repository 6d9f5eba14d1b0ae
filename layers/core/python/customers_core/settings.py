"""Typed settings, parsed once on first use (importing this module reads no environment)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field

API_VERSION = "2026-11-01"


class Settings(BaseModel):
    table_name: str = Field(min_length=3)
    stage: str = "dev"
    event_retention_days: int = 30
    # How long the authorizer may reuse a key lookup; revocation must bite within 60 s.
    key_cache_seconds: float = 30.0


@cache
def get_settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", ""),
        stage=os.environ.get("STAGE", "dev"),
    )
