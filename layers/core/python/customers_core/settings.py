"""Typed settings: one model, each field read from the environment variable it names (its alias) and
defaulted here only; parsed once, on first use (importing this module reads no environment)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from customers_core import caches

API_VERSION = "2026-11-01"
# api.md §9: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — one delay before each attempt.
DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"


def _env(name: str) -> AliasChoices:
    """The field is read from environment variable `name` (and may be given by its own name)."""
    return AliasChoices(name, name.lower())


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(min_length=3, validation_alias=_env("TABLE_NAME"))
    stage: str = Field(default="dev", validation_alias=_env("STAGE"))
    # Events are kept this long (their items' TTL).
    event_retention_days: int = Field(default=30, ge=1, validation_alias=_env("EVENT_RETENTION_DAYS"))
    # How long a key lookup may be reused; revocation must bite within 60 s.
    key_cache_seconds: float = Field(default=30.0, ge=0, le=60, validation_alias=_env("KEY_CACHE_SECONDS"))
    # Per account+mode, reads and writes each, per second (ratelimit.py); 0 turns the limit off.
    rate_limit_per_second: int = Field(default=100, ge=0, validation_alias=_env("RATE_LIMIT_PER_SECOND"))
    # Webhooks (api.md §9).
    webhook_queue_url: str = Field(default="", validation_alias=_env("WEBHOOK_QUEUE_URL"))
    webhook_dead_letter_queue_url: str = Field(default="", validation_alias=_env("WEBHOOK_DEAD_LETTER_QUEUE_URL"))
    webhook_key_id: str = Field(default="", validation_alias=_env("WEBHOOK_KEY_ID"))
    webhook_retry_schedule: tuple[float, ...] = Field(default=DEFAULT_RETRY_SCHEDULE, validate_default=True,  # type: ignore[assignment]
                                                      validation_alias=_env("WEBHOOK_RETRY_SCHEDULE"))
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, validation_alias=_env("WEBHOOK_TIMEOUT_SECONDS"))
    webhook_disable_after_seconds: float = Field(default=3 * 86400, gt=0,
                                                 validation_alias=_env("WEBHOOK_DISABLE_AFTER_SECONDS"))
    # Only the local stack sets this: lets endpoints be http://127.0.0.1 so local receivers work.
    webhook_allow_local_http: bool = Field(default=False, validation_alias=_env("WEBHOOK_ALLOW_LOCAL_HTTP"))

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        if isinstance(value, str):
            delays = tuple(float(part) for part in value.split(",") if part.strip())
            if not delays or any(d < 0 or d > 43200 for d in delays):
                raise ValueError("WEBHOOK_RETRY_SCHEDULE: comma-separated seconds, each 0..43200")
            return delays
        return value


@caches.per_process
@cache
def get_settings() -> Settings:
    """The settings from the environment; a variable set to "" counts as unset (its default applies)."""
    return Settings.model_validate({name: value for name, value in os.environ.items() if value != ""})
