"""Validation errors in the contract's voice (api.md §3): what a parameter must be, never the
validator's own wording nor a regular expression. `customers_core.http.validation_error` uses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
# What a value matching each pattern of the models is, in words. The patterns are spelt out here, not
# imported, so this module depends on no model (a renamed constant cannot break every 400). A pattern
# missing here is said as "is not in the accepted format"; tests/unit/test_error_wording.py checks
# that every pattern the request models use is here.
PATTERNS: dict[str, str] = {
    rf"^(cus_{_ULID}|{_UUID})$": "must be a customer id (cus_…) or the same id as a UUID",
    rf"^(evt_{_ULID}|{_UUID})$": "must be an event id (evt_…) or the same id as a UUID",
    rf"^we_{_ULID}$": "must be a webhook endpoint id (we_…)",
    rf"^wal_{_ULID}$": "must be a wallet id (wal_…)",
    rf"^whd_{_ULID}$": "must be a webhook delivery id (whd_…)",
    r"^https?://[^\x00-\x20/?#]+([/?#][^\x00-\x20]*)?$": "must be an http:// or https:// URL without spaces",
    r"^[A-Za-z0-9_:.\-]{1,64}$": "must be 1 to 64 characters of A-Z, a-z, 0-9, _ : . -",
    r"^[^\[\]]+$": "must not contain [ or ]",
    r"^(0x)?[0-9a-fA-F]{64}$": "must be 64 hexadecimal digits, optionally after 0x",
    r"^[a-z0-9_]+(\.[a-z0-9_]+)+$": "must be an event type, as in customer.created",
    r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*\.\*|[a-z0-9_]+(\.[a-z0-9_]+)+)$":
        "must be an event type (customer.created), a prefix ending in .* (customer.*), or *",
    r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$": "must be a BCP 47 language tag, as in en or fr-CA",
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(\.[a-z]+)?$":
        "must be an API version: a date, as in 2026-11-01 (optionally with a .name suffix)",
}

_INTEGER = "must be an integer"
_FIXED = {
    "int_parsing": _INTEGER, "int_type": _INTEGER, "int_from_float": _INTEGER, "int_parsing_size": _INTEGER,
    "float_parsing": "must be a number", "float_type": "must be a number", "finite_number": "must be a finite number",
    "decimal_parsing": "must be a number", "decimal_type": "must be a number",
    "bool_parsing": "must be true or false", "bool_type": "must be true or false",
    "string_type": "must be a string", "string_unicode": "must be a string",
    "none_required": "must be empty",
}
_ARRAY = frozenset({"list_type", "tuple_type", "set_type"})
_OBJECT = frozenset({"dict_type", "model_type", "model_attributes_type", "dataclass_type"})


def _plural(count: Any, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def describe(error: Mapping[str, Any], param: str = "") -> str:
    """What the parameter must be, for one pydantic error (its `type` and `ctx`), as a phrase that
    follows the parameter's name: "must be an integer", "must be at most 256 characters"."""
    kind = str(error.get("type"))
    ctx = error.get("ctx") or {}
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in _ARRAY:
        return f"must be an array ({param}[0]=…&{param}[1]=… in form encoding)" if param else "must be an array"
    if kind in _OBJECT:
        return f"must be an object ({param}[key]=… in form encoding)" if param else "must be an object"
    if kind in ("value_error", "assertion_error"):
        # Our own validators' messages (models/fields.py), already in the contract's voice.
        message = str(ctx.get("error") or error.get("msg") or "is invalid")
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_too_short":
        size = ctx.get("min_length", 1)
        return "must not be empty" if size == 1 else f"must be at least {_plural(size, 'character', 'characters')}"
    if kind == "string_too_long":
        return f"must be at most {_plural(ctx.get('max_length'), 'character', 'characters')}"
    if kind == "string_pattern_mismatch":
        return PATTERNS.get(str(ctx.get("pattern")), "is not in the accepted format")
    if kind in ("literal_error", "enum"):
        return f"must be {ctx.get('expected')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind in ("too_short", "too_long"):
        dictionary = str(ctx.get("field_type", "")).lower().startswith("dict")
        one, many = ("key", "keys") if dictionary else ("item", "items")
        if kind == "too_short":
            return f"must have at least {_plural(ctx.get('min_length'), one, many)}"
        return f"must have at most {_plural(ctx.get('max_length'), one, many)}"
    return "is invalid"
