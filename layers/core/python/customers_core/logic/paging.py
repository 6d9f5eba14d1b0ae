"""Cursor and created-range bounds shared by the list endpoints: ids sort by creation time, so both
are one sort-key range on the list's index partition."""

from __future__ import annotations

from customers_core import ids
from customers_core.errors import InvalidRequest


def parse_cursor(prefix: str, starting_after: str | None, ending_before: str | None) -> tuple[str | None, bool]:
    """The cursor id and whether to read forward (ending_before: older → newer, reversed later)."""
    if starting_after and ending_before:
        raise InvalidRequest("starting_after and ending_before cannot be used together.", param="ending_before")
    raw = starting_after or ending_before
    if not raw:
        return None, False
    cursor = ids.parse_id(prefix, raw)
    if cursor is None:
        param = "starting_after" if starting_after else "ending_before"
        raise InvalidRequest(f"Invalid {param}: not an id of this resource.", param=param)
    return cursor, bool(ending_before)


def key_range(prefix: str, cursor: str | None, forward: bool, low: int | None,
              high: int | None) -> tuple[str | None, str | None]:
    """Inclusive [lower, upper] sort-key bounds; the cursor itself is dropped by the caller."""
    lower = ids.id_bound(prefix, low, upper=False) if low is not None else None
    upper = ids.id_bound(prefix, high, upper=True) if high is not None else None
    if cursor and not forward:
        upper = min(upper, cursor) if upper else cursor
    if cursor and forward:
        lower = max(lower, cursor) if lower else cursor
    return lower, upper
