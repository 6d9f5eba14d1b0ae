"""Events derived from the table's change stream (api.md §9): one per customer create, update or
delete. The request path never writes them; the fan-out does, from the stream's old and new images."""

from __future__ import annotations

import json
from typing import Any

from customers_core import ids, keys
from customers_core.auth import Principal
from customers_core.dal import events as dal
from customers_core.dal.table import Table, deserialize
from customers_core.errors import ResourceMissing
from customers_core.logic.paging import key_range, parse_cursor
from customers_core.models.customer import customer_object
from customers_core.models.listing import ListEventsParams
from customers_core.settings import API_VERSION

# Fields whose change alone is bookkeeping, not a change a subscriber cares about.
_IGNORED = frozenset({"updated"})


def event_for_record(record: dict[str, Any], retention_days: int) -> dict[str, Any] | None:
    """The event item a stream record stands for, or None when it is not a customer change."""
    change = record.get("dynamodb") or {}
    new = deserialize(change["NewImage"]) if change.get("NewImage") else None
    old = deserialize(change["OldImage"]) if change.get("OldImage") else None
    current = new or old
    if current is None or current.get("entity") != "customer":
        return None
    name = record.get("eventName")
    previous: dict[str, Any] | None = None
    if name == "INSERT" and new is not None:
        event_type, obj = "customer.created", customer_object(new)
    elif name == "MODIFY" and new is not None and old is not None:
        if new.get("deleted") and not old.get("deleted"):
            event_type, obj = "customer.deleted", customer_object(old)
        elif new.get("deleted"):
            return None
        else:
            obj, before = customer_object(new), customer_object(old)
            previous = {k: before[k] for k in obj if k not in _IGNORED and before.get(k) != obj[k]}
            if not previous:
                return None
            event_type = "customer.updated"
    else:
        return None  # REMOVE (TTL or clean-up of a tombstone) is not a customer change
    # The write's own millisecond stamp orders events; the stream's time is whole seconds only.
    written_ms = (new or {}).get("written_ms")
    created_ms = int(written_ms) if written_ms else \
        int(float(change.get("ApproximateCreationDateTime") or current.get("updated") or 0) * 1000)
    event_id = ids.derived_id(ids.EVENT, created_ms, str(record.get("eventID", "")))
    tenant = keys.tenant(current["account_id"], bool(current.get("livemode")))
    body: dict[str, Any] = {
        "id": event_id, "object": "event", "type": event_type, "livemode": bool(current.get("livemode")),
        "created": created_ms // 1000, "api_version": API_VERSION,
        "data": {"object": obj, **({"previous_attributes": previous} if previous is not None else {})},
        "request": {"id": (new or {}).get("request_id"), "idempotency_key": (new or {}).get("idempotency_key")},
        "pending_webhooks": 0,
    }
    return {
        **keys.event(tenant, event_id), **keys.event_list_index(tenant, event_id),
        "entity": "event", "id": event_id, "type": event_type, "account_id": current["account_id"],
        "livemode": body["livemode"], "created": body["created"],
        "expires_at": body["created"] + retention_days * 86400,
        "body": json.dumps(body, separators=(",", ":")),
    }


def record_event(table: Table, record: dict[str, Any], retention_days: int) -> str | None:
    """Write the record's event once, then queue one delivery per matching enabled endpoint.

    Re-delivery of the record finds the event already there: if its messages were all sent
    (`fanned_out`), nothing happens; if not (the last try failed between the two steps), they are
    sent again to the endpoints recorded on the event. Returns the event id, if the record makes one."""
    from customers_core.logic import webhooks  # noqa: PLC0415 — the events API never needs it

    item = event_for_record(record, retention_days)
    if item is None:
        return None
    tenant = keys.tenant(item["account_id"], bool(item["livemode"]))
    targets = [e["id"] for e in webhooks.matching_endpoints(table, tenant, item["type"])]
    item.update(pending_webhooks=len(targets), endpoints=targets)
    if not dal.put_event_once(table, item, tenant):
        existing = dal.get_event(table, tenant, item["id"])
        if existing is None or existing.get("fanned_out"):
            return str(item["id"])
        item, targets = existing, list(existing.get("endpoints") or [])
    if targets:
        webhooks.send_messages([webhooks.delivery_message(item, endpoint_id) for endpoint_id in targets])
        dal.mark_fanned_out(table, tenant, item["id"])
    return str(item["id"])


EVENT_TYPES = ("customer.created", "customer.updated", "customer.deleted")


def retrieve_event(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    event_id = ids.parse_id(ids.EVENT, raw_id)
    item = dal.get_event(table, who.tenant, event_id) if event_id else None
    if item is None:
        raise ResourceMissing(f"No such event: '{raw_id[:100]}'", param="id")
    return event_object(item)


def list_events(table: Table, who: Principal, params: ListEventsParams) -> dict[str, Any]:
    """Newest first, by cursor, optionally of one type and a created range: one Query of the type's
    (or the account's) event partition, reading the page plus one."""
    cursor, forward = parse_cursor(ids.EVENT, params.starting_after, params.ending_before)
    low, high = params.created.bounds() if params.created else (None, None)
    body: dict[str, Any] = {"object": "list", "url": "/v1/events", "has_more": False, "data": []}
    if low is not None and high is not None and low > high:
        return body
    lower, upper = key_range(ids.EVENT, cursor, forward, low, high)
    partition = (keys.events_of_type_partition(who.tenant, params.type) if params.type
                 else keys.events_partition(who.tenant))
    found, _ = table.query_range(index="gsi1", partition=partition, lower=lower, upper=upper, forward=forward,
                                 want=params.limit + 1 + (1 if cursor else 0), read_cap=params.limit + 2)
    items = [i for i in found if i["gsi1sk"] != cursor]
    page = items[:params.limit]
    if forward:
        page.reverse()
    return {**body, "has_more": len(items) > params.limit, "data": [event_object(i) for i in page]}


def event_object(item: dict[str, Any]) -> dict[str, Any]:
    """The stored body, with pending_webhooks as it is now (deliveries change it on the item)."""
    body = dict(json.loads(item["body"]))
    body["pending_webhooks"] = max(int(item.get("pending_webhooks", 0)), 0)
    return body
