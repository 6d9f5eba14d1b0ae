"""Lambda event filtering (FilterCriteria) for the local pollers: the subset of the pattern syntax
that patterns here use — literal values, prefix, exists, anything-but."""

from __future__ import annotations

from typing import Any


def matches(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    for key, rule in pattern.items():
        if isinstance(rule, dict):
            if not matches(rule, event.get(key)):
                return False
        elif not any(_leaf(option, key in event, event.get(key)) for option in rule):
            return False
    return True


def _leaf(option: Any, present: bool, value: Any) -> bool:
    if isinstance(option, dict):
        if "exists" in option:
            return present is bool(option["exists"])
        if "prefix" in option:
            return isinstance(value, str) and value.startswith(option["prefix"])
        if "anything-but" in option:
            excluded = option["anything-but"]
            return present and value not in (excluded if isinstance(excluded, list) else [excluded])
        return False
    return present and value == option


def any_match(patterns: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    return not patterns or any(matches(p, event) for p in patterns)
