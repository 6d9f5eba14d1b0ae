"""The events API (api.md §9): retrieve one event, list them newest first (by type, created range,
cursors). Events are written by the stream fan-out (logic.fanout), never here."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from customers_core import ids
from customers_core.auth import Principal
from customers_core.dal import events as dal
from customers_core.dal.table import Item, Table
from customers_core.errors import ResourceMissing
from customers_core.logic.paging import key_range, parse_cursor
from customers_core.models.listing import ListEventsParams

# Every type the fan-out makes (logic.fanout): a list filter naming others matches nothing.
EVENT_TYPES = ("customer.created", "customer.updated", "customer.deleted", "customer.redacted")
# A delivery in one of these failed for good, or for now (retrying after a failed attempt).
FAILED_DELIVERIES = frozenset({"retrying", "dead_lettered", "endpoint_disabled"})


def retrieve_event(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    """One consistent Query: the event and its deliveries (for pending_webhooks)."""
    event_id = ids.parse_id(ids.EVENT, raw_id)
    item = dal.get_event(table, who.tenant, event_id) if event_id else None
    if item is None:
        raise ResourceMissing(f"No such event: '{raw_id[:100]}'", param="id")
    return event_object(item)


def wanted_types(params: ListEventsParams) -> list[str] | None:
    """The event types a list asks for, among those there are (None: all of them). `types[]` and an
    exact `type` name types; `type` ending in `*` names every type it begins (`customer.*`, `*`)."""
    if params.types is not None:
        asked = set(params.types)
    elif params.type is not None and params.type.endswith("*"):
        asked = {t for t in EVENT_TYPES if t.startswith(params.type[:-1])}
    elif params.type is not None:
        asked = {params.type}
    else:
        return None
    chosen = [t for t in EVENT_TYPES if t in asked]  # no other type has events
    return None if len(chosen) == len(EVENT_TYPES) else chosen


def delivery_success(event: Item, deliveries: dict[str, Item]) -> bool | None:
    """True when every delivery of the event succeeded (also when it had no endpoint to go to); False
    when at least one failed or was dead-lettered (its last attempt failed: retrying, dead_lettered,
    endpoint_disabled, or queued again after failing); None while the others are still in flight."""
    outcomes: list[bool | None] = []
    for endpoint_id in dict.fromkeys([*event.get("endpoints", []), *deliveries]):
        found = deliveries.get(endpoint_id) or {}
        log = found.get("attempts_log") or []
        if found.get("status") == "succeeded":
            outcomes.append(True)
        elif found.get("status") in FAILED_DELIVERIES or (log and not log[-1].get("succeeded")):
            outcomes.append(False)
        else:
            outcomes.append(None)
    if False in outcomes:
        return False
    return True if all(outcomes) else None


def _keeps(wanted: bool, event: Item, deliveries: dict[str, Item]) -> bool:
    return delivery_success(event, deliveries) is wanted


def list_events(table: Table, who: Principal, params: ListEventsParams) -> dict[str, Any]:
    """Newest first, by cursor, optionally of some types and a created range, reading the page plus
    one: all types from the account's events partition (its deliveries in the same consistent Query);
    some types from their gsi1 partitions, merged, then one BatchGet of the page's deliveries.
    `delivery_success` is checked on the deliveries read: the pages go on past the events it drops."""
    cursor, forward = parse_cursor(ids.EVENT, params.starting_after, params.ending_before)
    low, high = params.created.bounds() if params.created else (None, None)
    body: dict[str, Any] = {"object": "list", "url": "/v1/events", "has_more": False, "data": []}
    types = wanted_types(params)
    if (low is not None and high is not None and low > high) or types == []:
        return body
    lower, upper = key_range(ids.EVENT, cursor, forward, low, high)
    want = params.limit + 1 + (1 if cursor else 0)
    keep = None if params.delivery_success is None else partial(_keeps, params.delivery_success)
    if types:
        found = dal.page_events_of_types(table, who.tenant, types, lower=lower, upper=upper, forward=forward,
                                         want=want, keep=keep)
    else:
        found = dal.page_events(table, who.tenant, lower=lower, upper=upper, forward=forward, want=want, keep=keep)
    items = [i for i in found if i["id"] != cursor]
    page = items[:params.limit]
    if forward:
        page.reverse()
    return {**body, "has_more": len(items) > params.limit, "data": [event_object(i) for i in page]}


def event_object(item: Item) -> dict[str, Any]:
    """The stored body, with pending_webhooks as it is now (counted from the event's deliveries)."""
    body = dict(json.loads(item["body"]))
    body["pending_webhooks"] = max(int(item.get("pending_webhooks", 0)), 0)
    return body
