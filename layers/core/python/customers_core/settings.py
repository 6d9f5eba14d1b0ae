"""Typed settings, parsed once on first use (importing this module reads no environment)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field, field_validator

API_VERSION = "2026-11-01"
# api.md §9: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — one delay before each attempt.
DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"


class Settings(BaseModel):
    table_name: str = Field(min_length=3)
    stage: str = "dev"
    event_retention_days: int = 30
    # How long the authorizer may reuse a key lookup; revocation must bite within 60 s.
    key_cache_seconds: float = 30.0
    # Per account+mode, reads and writes each, per second (ratelimit.py); 0 turns the limit off.
    rate_limit_per_second: int = Field(default=100, ge=0)
    # Webhooks (api.md §9).
    webhook_queue_url: str = ""
    webhook_dead_letter_queue_url: str = ""
    webhook_key_id: str = ""
    webhook_retry_schedule: tuple[float, ...] = Field(default=DEFAULT_RETRY_SCHEDULE, validate_default=True)  # type: ignore[assignment]
    webhook_timeout_seconds: float = 10.0
    webhook_disable_after_seconds: float = 3 * 86400
    # Only the local stack sets this: lets endpoints be http://127.0.0.1 so local receivers work.
    webhook_allow_local_http: bool = False

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        if isinstance(value, str):
            delays = tuple(float(part) for part in value.split(",") if part.strip())
            if not delays or any(d < 0 or d > 43200 for d in delays):
                raise ValueError("WEBHOOK_RETRY_SCHEDULE: comma-separated seconds, each 0..43200")
            return delays
        return value


@cache
def get_settings() -> Settings:
    env = os.environ.get
    return Settings(
        table_name=env("TABLE_NAME", ""),
        stage=env("STAGE", "dev"),
        rate_limit_per_second=int(env("RATE_LIMIT_PER_SECOND") or 100),
        webhook_queue_url=env("WEBHOOK_QUEUE_URL", ""),
        webhook_dead_letter_queue_url=env("WEBHOOK_DEAD_LETTER_QUEUE_URL", ""),
        webhook_key_id=env("WEBHOOK_KEY_ID", ""),
        webhook_retry_schedule=env("WEBHOOK_RETRY_SCHEDULE") or DEFAULT_RETRY_SCHEDULE,  # type: ignore[arg-type]
        webhook_timeout_seconds=float(env("WEBHOOK_TIMEOUT_SECONDS") or 10),
        webhook_disable_after_seconds=float(env("WEBHOOK_DISABLE_AFTER_SECONDS") or 3 * 86400),
        webhook_allow_local_http=env("WEBHOOK_ALLOW_LOCAL_HTTP", "").lower() == "true",
    )
