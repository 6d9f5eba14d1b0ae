"""Field rules shared by the resources (api.md §4)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
CUSTOM_FIELDS_MAX_KEYS = 50
TAGS_MAX = 20
_TAG = re.compile(r"^[A-Za-z0-9_:.\-]{1,64}$")

Status = Literal["active", "inactive"]
Sentiment = Literal["happy", "neutral", "frustrated", "angry"]
Blank = Literal[""]  # "" (and null) clears a field: Stripe's form encoding has no null
# Control characters and space spelt out: every regex engine (pydantic's, the spec's readers) agrees.
IMAGE_PATTERN = r"^https?://[^\x00-\x20/?#]+([/?#][^\x00-\x20]*)?$"
TagText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_:.\-]{1,64}$")]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\[\]]+$")]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]
# pydantic describes a key pattern with patternProperties, which lets other keys through; say it exactly.
METADATA_SCHEMA = {"type": "object", "maxProperties": 50,
                   "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": r"^[^\[\]]+$"},
                   "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "null"}]}}


def listify(value: Any) -> Any:
    """`include=total_count` (no brackets) means a one-item list."""
    return [value] if isinstance(value, str) else value


def blank_to_none(value: Any) -> Any:
    """Stripe's form encoding sends an empty value to unset a field; JSON "" means the same."""
    return None if value == "" else value


def check_email(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 512:
        raise ValueError("must be at most 512 characters")
    # Imported here: its rule tables take ~60 ms to build, which only requests with an email pay.
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415

    try:
        # Syntax only: no DNS, and special-use domains (.test, .local) are real in some customers' worlds.
        checked = validate_email(value, check_deliverability=False, globally_deliverable=False,
                                 test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError("is not a valid email address") from exc
    # A domain of one label (`x@y`, `a@localhost`) passes the syntax check, but no customer can be
    # reached there: the domain needs a dot between two labels.
    if "." not in checked.ascii_domain.strip("."):
        raise ValueError("is not a valid email address (its domain needs a dot, as in example.com)")
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


def merge_metadata(current: dict[str, str], sent: dict[str, str | None] | None, *, clear: bool) -> dict[str, str]:
    """Stripe's update semantics: keys merge, a key sent null or "" is removed, clear empties all."""
    merged = {} if clear else dict(current)
    for key, value in (sent or {}).items():
        if value in (None, ""):
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    if len(merged) > METADATA_MAX_KEYS:
        raise ValueError(f"can have at most {METADATA_MAX_KEYS} keys")
    return merged


def check_tags(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    if not isinstance(value, list):
        raise ValueError("must be an array of strings")
    if len(value) > TAGS_MAX:
        raise ValueError(f"can have at most {TAGS_MAX} tags")
    for tag in value:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise ValueError("each tag must be 1–64 characters of A-Z a-z 0-9 _ : . -")
    if len(set(value)) != len(value):
        raise ValueError("must not repeat a tag")
    return list(value)


def check_custom_fields(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    if len(value) > CUSTOM_FIELDS_MAX_KEYS:
        raise ValueError(f"can have at most {CUSTOM_FIELDS_MAX_KEYS} keys")
    for key, item in value.items():
        if not 1 <= len(key) <= 64:
            raise ValueError("keys must be 1 to 64 characters")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValueError(f"value of '{key}' must be a string, number, boolean or null")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"value of '{key}' must be a finite number")
        if isinstance(item, str) and len(item) > 500:
            raise ValueError(f"value of '{key}' must be at most 500 characters")
    return value
