"""The events API (api.md §9): retrieve one event, list them newest first (by type, created range,
cursors). Events are written by the stream fan-out (logic.fanout), never here."""

from __future__ import annotations

import json
from typing import Any

from customers_core import ids
from customers_core.auth import Principal
from customers_core.dal import events as dal
from customers_core.dal.table import Item, Table
from customers_core.errors import ResourceMissing
from customers_core.logic.paging import key_range, parse_cursor
from customers_core.models.listing import ListEventsParams

EVENT_TYPES = ("customer.created", "customer.updated", "customer.deleted")


def retrieve_event(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    """One consistent Query: the event and its deliveries (for pending_webhooks)."""
    event_id = ids.parse_id(ids.EVENT, raw_id)
    item = dal.get_event(table, who.tenant, event_id) if event_id else None
    if item is None:
        raise ResourceMissing(f"No such event: '{raw_id[:100]}'", param="id")
    return event_object(item)


def list_events(table: Table, who: Principal, params: ListEventsParams) -> dict[str, Any]:
    """Newest first, by cursor, optionally of one type and a created range, reading the page plus one:
    all types from the account's events partition (its deliveries in the same consistent Query); one
    type from its gsi1 partition, then one BatchGet of the page's deliveries."""
    cursor, forward = parse_cursor(ids.EVENT, params.starting_after, params.ending_before)
    low, high = params.created.bounds() if params.created else (None, None)
    body: dict[str, Any] = {"object": "list", "url": "/v1/events", "has_more": False, "data": []}
    if low is not None and high is not None and low > high:
        return body
    lower, upper = key_range(ids.EVENT, cursor, forward, low, high)
    want = params.limit + 1 + (1 if cursor else 0)
    if params.type:
        found = dal.page_events_of_type(table, who.tenant, params.type, lower=lower, upper=upper, forward=forward,
                                        want=want, read_cap=params.limit + 2)
    else:
        found = dal.page_events(table, who.tenant, lower=lower, upper=upper, forward=forward, want=want)
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
