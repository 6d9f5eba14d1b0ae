"""Event items (docs/data-model.md): written once by the stream fan-out and never updated; read by the
events API and the delivery function together with the event's deliveries.

An event lives in its account+mode's events partition (sort key: its id), followed by its deliveries,
and carries gsi1 keys only for its type's list. It is put once, with no transaction and no later
update (but one: a retry request naming an endpoint created after it, add_endpoint), so it costs its
own size in write units plus the same again in gsi1. Its body (the event
JSON) is stored zlib-compressed: a typical event then fits one write unit instead of two.

`pending_webhooks` is not stored: it is the number of the event's endpoints whose delivery has not
succeeded, counted from the delivery items read with the event (the same Query, or one BatchGet for
a page of one type). A delivery's success is thus one write to its own small item, and a duplicate of
it changes no count."""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable
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


# Which events a list keeps (api.md §10's delivery_success): called with the event as _event reads it
# and its deliveries by endpoint id (dal.webhooks.delivery_view).
Keep = Callable[[Item, dict[str, Item]], bool]


def page_events(table: Table, tenant: str, *, lower: str | None = None, upper: str | None = None,
                forward: bool = False, want: int, keep: Keep | None = None) -> list[Item]:
    """Up to `want` events with ids in [lower, upper] (either open), newest first unless `forward`,
    each with pending_webhooks: consistent Query pages of the events partition, which bring each
    event's deliveries along (they sort right after it). The first page asks for two items per event
    wanted (one delivery each); later pages for what the items read so far suggest is missing. With
    `keep`, only the events it keeps count: the pages go on past the others (O(events read))."""
    hi = keys.event_collection_end(upper) if upper is not None else None
    collections: dict[str, dict[str, Any]] = {}  # event id → {"raw": event item, "deliveries": {...}}
    order: list[str] = []
    start: dict[str, Any] | None = None
    read, per_event = 0, 2
    kept: dict[str, bool] = {}  # decided once an event is complete: its deliveries are all read

    def keeps(event_id: str) -> bool:
        if keep is None:
            return True
        if event_id not in kept:
            found = collections[event_id]
            kept[event_id] = keep(_event(tenant, found["raw"], found["deliveries"]), found["deliveries"])
        return kept[event_id]

    def complete() -> list[str]:
        # Reading newest first, an event's deliveries come before it: it is complete once it is read.
        # Reading oldest first, they follow it: it is complete once the next event's items begin.
        ready = [e for e in order if collections[e]["raw"] is not None]
        ready = ready if not forward or start is None else [e for e in ready if e != order[-1]]
        return [e for e in ready if keeps(e)]

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


def page_events_of_types(table: Table, tenant: str, event_types: list[str], *, lower: str | None = None,
                         upper: str | None = None, forward: bool = False, want: int,
                         keep: Keep | None = None) -> list[Item]:
    """Up to `want` events of any of `event_types`: a Query of each type's gsi1 partition (the events
    alone; the page's worth from each, merged by id — the newest `want` of the union are among the
    newest `want` of each), then one consistent BatchGet of the page's deliveries for pending_webhooks
    (none when no event had endpoints). With `keep`, rounds go on past the events it drops."""
    out: list[Item] = []
    seen: set[str] = set()
    lo, hi = lower, upper
    while len(out) < want:
        chunk = want - len(out) + 1
        reads = [table.query_range(index="gsi1", partition=keys.events_of_type_partition(tenant, event_type),
                                   lower=lo, upper=hi, forward=forward, want=chunk) for event_type in event_types]
        merged = [raw for raw in heapq.merge(*(found for found, _ in reads), key=lambda raw: str(raw["sk"]),
                                             reverse=not forward) if str(raw["sk"]) not in seen][:chunk]
        seen |= {str(raw["sk"]) for raw in merged}
        for event, deliveries in _with_deliveries(table, tenant, merged):
            if keep is None or keep(event, deliveries):
                out.append(event)
        if len(merged) < chunk and all(done for _, done in reads):
            break
        if not merged:
            break
        last = str(merged[-1]["sk"])  # the next round starts there (inclusive; `seen` drops it)
        lo, hi = (last, hi) if forward else (lo, last)
    return out[:want]


def _with_deliveries(table: Table, tenant: str, raws: list[Item]) -> list[tuple[Item, dict[str, Item]]]:
    wanted = [keys.delivery(tenant, str(raw["sk"]), str(e)) for raw in raws for e in raw.get("endpoints") or []]
    by_event: dict[str, dict[str, Item]] = {}
    for view in (delivery_view(i) for i in (table.batch_get(wanted) if wanted else [])):
        by_event.setdefault(str(view["event_id"]), {})[str(view["endpoint_id"])] = view
    return [(_event(tenant, raw, by_event.get(str(raw["sk"]), {})), by_event.get(str(raw["sk"]), {}))
            for raw in raws]


def add_endpoint(table: Table, tenant: str, event_id: str, endpoint_id: str) -> None:
    """An endpoint the event was not sent to at first (a retry request naming one created later): on
    its list, so pending_webhooks counts it. One UpdateItem of the event (and its gsi1 copy), made
    only by such a request; nothing when it is there already."""
    try:
        table.update(keys.event(tenant, event_id), "SET endpoints = list_append(if_not_exists(endpoints, :none), :one)",
                     values={":none": [], ":one": [endpoint_id], ":id": endpoint_id},
                     condition="attribute_exists(pk) AND NOT contains(endpoints, :id)")
    except ClientError as exc:
        if not condition_failed(exc):
            raise


def list_events(table: Table, tenant: str, limit: int = 100) -> list[Item]:
    """The newest events of an account+mode."""
    return page_events(table, tenant, want=limit)


def get_events(table: Table, tenant: str, expected: dict[str, list[str]], *,
               with_deliveries: bool = True) -> list[tuple[Item, dict[str, Item]]]:
    """Events by id, each with its deliveries by endpoint id (those still kept; in the order asked).
    `expected` names each event's endpoints as far as the caller knows them: their deliveries are read
    in the same consistent BatchGet as the events; those of an endpoint the event gained later (a
    retry naming it) in a second one, unless `with_deliveries` is False (the events alone)."""
    wanted = [keys.event(tenant, e) for e in expected]
    wanted += [keys.delivery(tenant, e, endpoint) for e, endpoints in expected.items() for endpoint in endpoints]
    raws: dict[str, Item] = {}
    by_event: dict[str, dict[str, Item]] = {}
    for item in table.batch_get(wanted):
        if keys.endpoint_id_of_delivery(str(item["sk"])) is None:
            raws[str(item["sk"])] = item
        else:
            view = delivery_view(item)
            by_event.setdefault(str(view["event_id"]), {})[str(view["endpoint_id"])] = view
    later = [raws[e] for e in expected if with_deliveries and e in raws
             and set(raws[e].get("endpoints") or []) - set(expected[e])]
    for event, deliveries in _with_deliveries(table, tenant, later):
        by_event[event["id"]] = deliveries
    return [(_event(tenant, raws[e], by_event.get(e, {})), by_event.get(e, {})) for e in expected if e in raws]


def replace_body(table: Table, tenant: str, event_id: str, body: str) -> bool:
    """Rewrite a kept event's body (a redaction: api.md §11), nothing else of it; False when it is gone.
    One UpdateItem (its gsi1 copy follows: one write unit there too)."""
    try:
        table.update(keys.event(tenant, event_id), "SET body = :body",
                     values={":body": zlib.compress(body.encode(), COMPRESSION_LEVEL)},
                     condition="attribute_exists(pk)")
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
