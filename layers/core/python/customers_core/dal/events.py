"""Event items (docs/data-model.md): written once by the stream fan-out and never updated; read by the
events API and the delivery function together with the event's deliveries.

An event lives in its account+mode's events partition (sort key: its id), followed by its deliveries,
and carries gsi1 keys only for its type's list. It is put once, with no transaction and no later
update, so it costs its own size in write units plus the same again in gsi1. Its body (the event
JSON) is stored zlib-compressed: a typical event then fits one write unit instead of two.

`pending_webhooks` is not stored: it is the number of the event's endpoints whose delivery has not
succeeded, counted from the delivery items read with the event (the same Query, or one BatchGet for
a page of one type). A delivery's success is thus one write to its own small item, and a duplicate of
it changes no count."""

from __future__ import annotations

import zlib
from typing import Any

from botocore.exceptions import ClientError

from customers_core import keys
from customers_core.dal.table import Item, Table, condition_failed
from customers_core.dal.webhooks import delivery_view

COMPRESSION_LEVEL = 6


def _stored(tenant: str, event: Item) -> Item:
    item: Item = {**keys.event(tenant, event["id"]), **keys.event_type_index(tenant, event["id"], event["type"]),
                  "expires_at": event["expires_at"], "body": zlib.compress(event["body"].encode(), COMPRESSION_LEVEL)}
    if event.get("endpoints"):
        item["endpoints"] = list(event["endpoints"])
    return item


def _event(tenant: str, raw: Item, deliveries: dict[str, Item]) -> Item:
    """The event as the code reads it: id, owner, body (JSON text), endpoints, pending_webhooks."""
    text = zlib.decompress(bytes(raw["body"])).decode()  # bytes of a boto3 Binary are its value
    account_id, livemode = keys.event_owner(tenant)
    endpoints = [str(e) for e in raw.get("endpoints") or []]
    pending = sum(1 for e in endpoints if (deliveries.get(e) or {}).get("status") != "succeeded")
    return {"id": str(raw["sk"]), "account_id": account_id, "livemode": livemode, "body": text,
            "endpoints": endpoints, "expires_at": int(raw["expires_at"]), "pending_webhooks": pending}


def put_event(table: Table, tenant: str, event: Item) -> bool:
    """Write the event unless it exists (ids derive from the stream record, so a re-delivered record
    finds it). True if written. One PutItem: its size in write units, and the same in gsi1."""
    try:
        table.put(_stored(tenant, event), condition="attribute_not_exists(pk)")
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def mark_sent(table: Table, tenant: str, event_id: str, expires_at: int) -> None:
    """Every delivery message of the event was sent (a small item: one write unit)."""
    table.put({**keys.event_sent_marker(tenant, event_id), "expires_at": expires_at})


def was_sent(table: Table, tenant: str, event_id: str) -> bool:
    return table.get(keys.event_sent_marker(tenant, event_id)) is not None


def get_event_and_deliveries(table: Table, tenant: str, event_id: str) -> tuple[Item | None, dict[str, Item]]:
    """The event and its deliveries by endpoint id: one consistent Query of the event's sort-key range
    (an event and one or two deliveries are well under 4 KB: one read unit)."""
    found: list[Item] = []
    start: dict[str, Any] | None = None
    while True:
        items, start = table.query_page(keys.events_partition(tenant), lower=event_id,
                                        upper=keys.event_collection_end(event_id), start=start)
        found += items
        if start is None:
            break
    raw = next((i for i in found if i["sk"] == event_id), None)
    deliveries = {str(v["endpoint_id"]): v for v in (delivery_view(i) for i in found if i["sk"] != event_id)}
    return (_event(tenant, raw, deliveries) if raw else None), deliveries


def get_event(table: Table, tenant: str, event_id: str) -> Item | None:
    return get_event_and_deliveries(table, tenant, event_id)[0]


def page_events(table: Table, tenant: str, *, lower: str | None = None, upper: str | None = None,
                forward: bool = False, want: int) -> list[Item]:
    """Up to `want` events with ids in [lower, upper] (either open), newest first unless `forward`,
    each with pending_webhooks: consistent Query pages of the events partition, which bring each
    event's deliveries along (they sort right after it). The first page asks for two items per event
    wanted (one delivery each); later pages for what the items read so far suggest is missing."""
    hi = keys.event_collection_end(upper) if upper is not None else None
    collections: dict[str, dict[str, Any]] = {}  # event id → {"raw": event item, "deliveries": {...}}
    order: list[str] = []
    start: dict[str, Any] | None = None
    read, per_event = 0, 2

    def complete() -> list[str]:
        # Reading newest first, an event's deliveries come before it: it is complete once it is read.
        # Reading oldest first, they follow it: it is complete once the next event's items begin.
        ready = [e for e in order if collections[e]["raw"] is not None]
        return ready if not forward or start is None else [e for e in ready if e != order[-1]]

    while True:
        limit = max(want - len(complete()), 1) * per_event + 1
        items, start = table.query_page(keys.events_partition(tenant), lower=lower, upper=hi, forward=forward,
                                        limit=limit, start=start)
        read += len(items)
        for item in items:
            sort_key = str(item["sk"])
            event_id = keys.event_id_of(sort_key)
            if event_id not in collections:
                collections[event_id] = {"raw": None, "deliveries": {}}
                order.append(event_id)
            if sort_key == event_id:
                collections[event_id]["raw"] = item
            else:
                view = delivery_view(item)
                collections[event_id]["deliveries"][str(view["endpoint_id"])] = view
        ready = complete()
        if len(ready) >= want or start is None:
            break
        per_event = max(2, -(-read // max(len(ready), 1)))
    return [_event(tenant, collections[e]["raw"], collections[e]["deliveries"]) for e in complete()[:want]]


def page_events_of_type(table: Table, tenant: str, event_type: str, *, lower: str | None = None,
                        upper: str | None = None, forward: bool = False, want: int,
                        read_cap: int | None = None) -> list[Item]:
    """Up to `want` events of one type: a Query of its gsi1 partition (the events alone), then one
    consistent BatchGet of their deliveries for pending_webhooks (none when no event had endpoints)."""
    found, _ = table.query_range(index="gsi1", partition=keys.events_of_type_partition(tenant, event_type),
                                 lower=lower, upper=upper, forward=forward, want=want, read_cap=read_cap)
    wanted = [keys.delivery(tenant, str(raw["sk"]), str(e)) for raw in found for e in raw.get("endpoints") or []]
    by_event: dict[str, dict[str, Item]] = {}
    for view in (delivery_view(i) for i in (table.batch_get(wanted) if wanted else [])):
        by_event.setdefault(str(view["event_id"]), {})[str(view["endpoint_id"])] = view
    return [_event(tenant, raw, by_event.get(str(raw["sk"]), {})) for raw in found]


def list_events(table: Table, tenant: str, limit: int = 100) -> list[Item]:
    """The newest events of an account+mode."""
    return page_events(table, tenant, want=limit)
