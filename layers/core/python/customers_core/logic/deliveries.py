"""The delivery log (api.md §11): an endpoint's deliveries and an event's, each with its attempts
(time, HTTP status or error, duration, next attempt), so a user finds what failed and re-sends it
(POST /v1/events/{id}/retry).

Nothing is written for it: every attempt is already recorded on its delivery item (logic.delivery,
one write per attempt), and that item carries the gsi1 keys of its endpoint's log (dal.webhooks).

- An endpoint's log: one Query per log status of the endpoint's gsi1 partition (the sort key is
  `<status>#<whd id>`), each reading at most the page plus one; with `status`, that status's Query
  alone. The Queries and the endpoint's GetItem (404 for an endpoint of another account or mode, or
  deleted) run side by side: one round trip. A delivery whose first attempt has not been made yet has
  no item, so it is not listed here until then (the event's log shows it as pending).
- An event's log: the Query that reads the event reads its deliveries (they sort right after it); an
  endpoint the event was sent to whose delivery has no item yet is listed as pending, with no attempts.
"""

from __future__ import annotations

import heapq
from typing import Any

from customers_core import beside, ids
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import Item, Table
from customers_core.errors import ResourceMissing
from customers_core.logic.paging import key_range, parse_cursor
from customers_core.models.webhooks import ListDeliveriesParams


def attempt_object(entry: Item) -> dict[str, Any]:
    def whole(value: Any) -> int | None:
        return None if value is None else int(value)

    return {"attempted_at": whole(entry.get("attempted_at")), "status_code": whole(entry.get("status_code")),
            "error": entry.get("error"), "duration_ms": round(float(entry.get("duration_ms") or 0)),
            "next_attempt_at": whole(entry.get("next_attempt_at"))}


def delivery_object(view: Item, livemode: bool) -> dict[str, Any]:
    """A delivery (dal.webhooks.delivery_view) as the API shows it: its attempts oldest first; created
    is its event's time (a delivery is made with its event)."""
    return {"id": view["id"], "object": "webhook_delivery", "event": view["event_id"],
            "webhook_endpoint": view["endpoint_id"], "status": webhooks_dal.log_status(view.get("status")),
            "attempts": [attempt_object(a) for a in view.get("attempts_log") or []],
            "created": ids.timestamp_ms(str(view["event_id"])) // 1000, "livemode": livemode}


def _bounds(params: ListDeliveriesParams) -> tuple[str | None, bool, str | None, str | None] | None:
    """(cursor, forward, lower, upper): inclusive id bounds from the cursor and the created range; None
    when the range is empty."""
    cursor, forward = parse_cursor(ids.DELIVERY, params.starting_after, params.ending_before)
    low, high = params.created.bounds() if params.created else (None, None)
    if low is not None and high is not None and low > high:
        return None
    lower, upper = key_range(ids.DELIVERY, cursor, forward, low, high)
    return cursor, forward, lower, upper


def _page(url: str, ordered: list[dict[str, Any]], cursor: str | None, forward: bool, limit: int) -> dict[str, Any]:
    """A list body from the deliveries in reading order (newest first, or oldest first for
    ending_before), the cursor itself dropped."""
    items = [d for d in ordered if d["id"] != cursor]
    page = items[:limit]
    if forward:
        page.reverse()
    return {"object": "list", "url": url, "has_more": len(items) > limit, "data": page}


def list_endpoint_deliveries(table: Table, who: Principal, raw_id: str, params: ListDeliveriesParams) -> dict[str, Any]:
    """An endpoint's deliveries, newest first (by their event's time), by status and created range,
    with cursors: O(page) items read per status asked for."""
    endpoint_id = ids.parse_id(ids.WEBHOOK_ENDPOINT, raw_id)
    if endpoint_id is None:
        raise ResourceMissing(f"No such webhook endpoint: '{raw_id[:100]}'", param="id")
    url = f"/v1/webhook_endpoints/{endpoint_id}/deliveries"
    endpoint = beside.submit(webhooks_dal.get_endpoint, table, who.tenant, endpoint_id)
    bounds = _bounds(params)
    found: list[list[Item]] = []
    if bounds is not None:
        cursor, forward, lower, upper = bounds
        want = params.limit + 1 + (1 if cursor else 0)
        reads = [beside.submit(webhooks_dal.page_endpoint_deliveries, table, who.tenant, endpoint_id, status,
                               lower=lower, upper=upper, forward=forward, want=want)
                 for status in ([params.status] if params.status else webhooks_dal.LOG_STATUSES)]
        found = [read.result() for read in reads]
    if endpoint.result() is None:
        raise ResourceMissing(f"No such webhook endpoint: '{raw_id[:100]}'", param="id")
    if bounds is None:
        return _page(url, [], None, False, params.limit)
    cursor, forward = bounds[0], bounds[1]
    merged: dict[str, dict[str, Any]] = {}  # by id: a move between statuses may show in both for a moment
    for view in heapq.merge(*found, key=lambda v: str(v["id"]), reverse=not forward):
        merged.setdefault(str(view["id"]), delivery_object(view, who.livemode))
    return _page(url, list(merged.values()), cursor, forward, params.limit)


def list_event_deliveries(table: Table, who: Principal, raw_id: str, params: ListDeliveriesParams) -> dict[str, Any]:
    """An event's deliveries, one per endpoint it was sent to (a pending one for each still waiting for
    its first attempt), newest first by id, by status, with cursors: one consistent Query."""
    bounds = _bounds(params)
    event_id = ids.parse_id(ids.EVENT, raw_id)
    event, deliveries = events_dal.get_event_and_deliveries(table, who.tenant, event_id) if event_id else (None, {})
    if event is None or event_id is None:
        raise ResourceMissing(f"No such event: '{raw_id[:100]}'", param="id")
    url = f"/v1/events/{event_id}/deliveries"
    if bounds is None:
        return _page(url, [], None, False, params.limit)
    cursor, forward, lower, upper = bounds
    views = [deliveries.get(endpoint_id) or {"id": webhooks_dal.delivery_id(event_id, endpoint_id),
                                             "event_id": event_id, "endpoint_id": endpoint_id}
             for endpoint_id in dict.fromkeys([*event["endpoints"], *deliveries])]
    objects = [delivery_object(v, who.livemode) for v in views]
    kept = sorted((o for o in objects
                   if (params.status is None or o["status"] == params.status)
                   and (lower is None or o["id"] >= lower) and (upper is None or o["id"] <= upper)),
                  key=lambda o: str(o["id"]), reverse=not forward)
    return _page(url, kept, cursor, forward, params.limit)
