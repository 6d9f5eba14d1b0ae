"""Field rules shared by the resources (api.md §4)."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


def blank_to_none(value: Any) -> Any:
    """Stripe's form encoding sends an empty value to unset a field; JSON "" means the same."""
    return None if value == "" else value


def check_email(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 512:
        raise ValueError("must be at most 512 characters")
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("is not a valid email address") from exc
    return value


def check_metadata(value: Any) -> dict[str, str | None] | None:
    """Metadata as sent: keys 1–40 chars without brackets, string values ≤ 500; None or "" as a value
    means 'remove this key', and the whole field "" or None means 'clear all'."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ValueError("must be an object of string keys and string values")
    if len(value) > METADATA_MAX_KEYS:
        raise ValueError(f"can have at most {METADATA_MAX_KEYS} keys")
    for key, item in value.items():
        if not 1 <= len(key) <= METADATA_KEY_MAX or "[" in key or "]" in key:
            raise ValueError(f"key '{key[:60]}' must be 1 to {METADATA_KEY_MAX} characters without brackets")
        if item is not None and not isinstance(item, str):
            raise ValueError(f"value of '{key}' must be a string")
        if isinstance(item, str) and len(item) > METADATA_VALUE_MAX:
            raise ValueError(f"value of '{key}' must be at most {METADATA_VALUE_MAX} characters")
    return value
