"""The customer's data rights (api.md §11): export everything this service holds about a customer, and
redact it — erase its personal data everywhere it is held.

Where a customer's data is held, and how each place is found without scanning the account:
- its item (`T#CUS#<id>` / `CUS`), with its wallets; its uniqueness markers (email, external_id,
  wallets), index entries (status, sentiment, tags) and search tokens, all keyed by values the item
  (or an old version of it, in its events) names;
- its events (kept 30 days) and their deliveries: named by the `EVT#<evt_id>` references in its
  partition, which the stream fan-out puts as it makes each event (dal.data_rights);
- stored idempotent answers (24 h) holding it: those of its own keyed changes are named by the
  `request.idempotency_key` of the events those changes made; a keyed change that made no event and
  a keyed event retry leave an `IDEM#<sha256(key)>` reference instead.

Redaction turns the item into a tombstone with no personal data (`deleted` and `redacted`, ids and
timestamps only) in one transaction that also releases its markers and drops its index entries;
then deletes its search tokens and rewrites every event and stored answer that holds it, replacing
the customer (and its wallets) with `{"id","object":"customer","redacted":true,"version"}` and
dropping `previous_attributes`. The tombstone's stream record makes `customer.redacted`; the fan-out
runs the same sweep again just before writing that event, so events and answers of changes still in
the stream when the request ran (the stream keeps one customer's changes in order) are rewritten
too. Nothing of this is undone by a later request: a redacted customer cannot be changed."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from customers_core import beside, ids, keys
from customers_core.auth import Principal
from customers_core.dal import customers as customers_dal
from customers_core.dal import data_rights as dal
from customers_core.dal import events as events_dal
from customers_core.dal.table import Item, Table, deserialize
from customers_core.errors import InternalError
from customers_core.http import compact_json
from customers_core.idempotency import RETENTION_SECONDS, key_hash
from customers_core.logic.customers import missing_customer
from customers_core.logic.deliveries import delivery_object
from customers_core.logic.events import event_object
from customers_core.models.customer import customer_object

EXPORT_MAX_EVENTS = 1000  # the newest this many (30 days of a customer's changes, in practice all)
REDACT_ATTEMPTS = 25  # optimistic retries when a change of the customer lands between read and write
ANSWER_REFERENCE_SECONDS = RETENTION_SECONDS + 3600  # outlives the stored answer it names
# What a stand-in may hold: an object that has only these keys holds no personal data.
_STAND_IN_KEYS = frozenset({"id", "object", "redacted", "version", "deleted", "customer"})


def redacted_object(item: Item) -> dict[str, Any]:
    """The customer as a redacted event (and every rewritten copy) carries it: no personal data."""
    stand_in: dict[str, Any] = {"id": item["id"], "object": "customer", "redacted": True}
    if item.get("version") is not None:
        stand_in["version"] = int(item["version"])
    return stand_in


def scrub(value: Any, customer_id: str) -> Any:
    """`value` (an API answer or an event) with the customer, and its wallets, replaced by stand-ins
    holding no personal data, and an event's previous_attributes about it emptied. Equal to `value`
    when there was nothing to replace."""
    if isinstance(value, list):
        return [scrub(v, customer_id) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("object")
    if kind == "customer" and value.get("id") == customer_id:
        return value if value.keys() <= _STAND_IN_KEYS else redacted_object(value)
    if kind == "wallet" and value.get("customer") == customer_id:
        return value if value.keys() <= _STAND_IN_KEYS else \
            {"id": value.get("id"), "object": "wallet", "customer": customer_id, "redacted": True}
    out = {k: scrub(v, customer_id) for k, v in value.items()}
    data = out.get("data")
    if kind == "event" and isinstance(data, dict) and (data.get("object") or {}).get("id") == customer_id \
            and data.get("previous_attributes"):
        out["data"] = {**data, "previous_attributes": {}}
    return out


# --- export ---------------------------------------------------------------------------------------
def export_customer(table: Table, who: Principal, raw_id: str) -> dict[str, Any]:
    """GET /v1/customers/{id}/export: the customer (with its wallets), the events still kept that
    concern it (newest first) and their deliveries with their attempts (those made: a delivery waiting
    for its first attempt has no item yet). One consistent Query of the customer's partition
    (its item and references), then one BatchGet of the events and their deliveries: 2 round trips."""
    customer_id = ids.parse_id(ids.CUSTOMER, raw_id)
    item, events, _, _ = dal.customer_and_references(table, who.tenant, customer_id) if customer_id \
        else (None, {}, [], [])
    if item is None:
        raise missing_customer(raw_id)
    found = events_dal.get_events(table, who.tenant, dict(list(events.items())[-EXPORT_MAX_EVENTS:]))
    found.reverse()
    return {"object": "customer_export", "customer": customer_object(item),
            "events": [event_object(event) for event, _ in found],
            "deliveries": [delivery_object(d, bool(item.get("livemode")))
                           for _, deliveries in found for d in deliveries.values()]}


# --- redact ---------------------------------------------------------------------------------------
def _tombstone(tenant: str, old: Item, stamp: dict[str, str]) -> Item:
    """The customer with no personal data: its ids, timestamps and version, deleted and redacted."""
    now = time.time()
    return {**keys.customer(tenant, old["id"]), "entity": "customer", "id": old["id"],
            "account_id": old["account_id"], "livemode": old["livemode"], "created": old["created"],
            "deleted": True, "redacted": True, "version": int(old["version"]) + 1,
            "updated": max(int(now), int(old.get("updated") or 0)),
            "written_ms": max(int(now * 1000), int(old.get("written_ms") or 0) + 1), **stamp}


def redact_customer(table: Table, who: Principal, raw_id: str, request: dict[str, str | None]) -> dict[str, Any]:
    """POST /v1/customers/{id}/redact. Also for a deleted customer (its events still hold it), and
    again for a redacted one (the sweep runs again; nothing else is written)."""
    customer_id = ids.parse_id(ids.CUSTOMER, raw_id)
    if customer_id is None:
        raise missing_customer(raw_id)
    stamp = {k: v for k, v in request.items() if v}
    for attempt in range(REDACT_ATTEMPTS):
        old = customers_dal.get_customer(table, who.tenant, customer_id)
        if old is None:
            raise missing_customer(raw_id)
        if old.get("redacted"):
            break
        try:  # markers released and index entries dropped in the same transaction
            customers_dal.write_customer(table, who.tenant, _tombstone(who.tenant, old, stamp), old)
        except customers_dal.Stale:
            time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))  # noqa: S311 — jitter, not crypto
            continue
        break
    else:
        raise InternalError("The customer is being changed by too many requests at once; retry.",
                            headers={"Retry-After": "1"})
    latest = [key_hash(str(old["idempotency_key"]))] if old.get("idempotency_key") else []
    sweep(table, who.tenant, customer_id, versions=[old], answers=latest)
    return {"id": customer_id, "object": "customer", "redacted": True}


def _stale_keys(tenant: str, customer_id: str, versions: list[Item]) -> set[tuple[str, str]]:
    """The search tokens and index entries any of these versions of the customer had: items only this
    customer owns (their sort keys end in its id)."""
    found: set[tuple[str, str]] = set()
    for version in versions:
        item = {**version, "id": customer_id, "deleted": False}
        found |= set(customers_dal.token_items(tenant, item))
        found |= {(e["pk"], e["sk"]) for e in customers_dal.index_entries(tenant, item).values()}
    return found


def _versions_in(event: dict[str, Any], customer_id: str) -> list[Item]:
    """The versions of the customer an event shows: its object, and the object before the change."""
    data = event.get("data") or {}
    obj = data.get("object") or {}
    if obj.get("id") != customer_id or obj.keys() <= _STAND_IN_KEYS:
        return []
    return [obj, {**obj, **(data.get("previous_attributes") or {})}]


def sweep(table: Table, tenant: str, customer_id: str, *, versions: Sequence[Item] = (),
          answers: Sequence[str] = ()) -> dict[str, int]:
    """Erase the customer's personal data from everything that refers to it: its events (rewritten),
    the stored answers they and its references name (rewritten), and the search tokens and index
    entries of every version of it that `versions` and its events show (deleted). The rewrites run
    beside each other (a customer with many events is not many serial round trips). Safe to run
    again: what no longer holds the customer is not written. The counts of what it changed."""
    _, events, answer_hashes, orphans = dal.customer_and_references(table, tenant, customer_id)
    hashes = [*answer_hashes, *answers]
    seen = list(versions)
    rewrites: dict[str, list[Future[bool]]] = {"events": [], "answers": []}
    for event, _ in events_dal.get_events(table, tenant, {event_id: [] for event_id in events}, with_deliveries=False):
        body = json.loads(event["body"])
        seen += _versions_in(body, customer_id)
        if (body.get("request") or {}).get("idempotency_key"):
            hashes.append(key_hash(str(body["request"]["idempotency_key"])))
        scrubbed = scrub(body, customer_id)
        if scrubbed != body:
            rewrites["events"].append(beside.submit(events_dal.replace_body, table, tenant, str(event["id"]),
                                                    compact_json(scrubbed)))
    for record in dal.get_answers(table, tenant, hashes):
        text = dal.answer_text(record)
        answer = json.loads(text) if text else None
        scrubbed = scrub(answer, customer_id)
        if scrubbed != answer:
            rewrites["answers"].append(beside.submit(dal.replace_answer, table, record, compact_json(scrubbed)))
    deleted = dal.delete_keys(table, [*_stale_keys(tenant, customer_id, seen), *orphans])
    return {kind: sum(f.result() for f in futures) for kind, futures in rewrites.items()} | {"deleted": deleted}


# --- what the stream fan-out and an event retry leave for them -------------------------------------
def note_change(table: Table, record: dict[str, Any], event: Item | None) -> None:
    """Called by the stream fan-out for a customer change before it writes the change's event (if
    any): the event's reference in the customer's partition (one write unit), put first, so no event
    is ever kept without one (a re-delivered record puts it again, unchanged); for a keyed change that
    made no event, a reference to its stored answer. Before `customer.redacted`, the sweep runs
    again (see the module's docstring)."""
    change = record.get("dynamodb") or {}
    new = deserialize(change["NewImage"]) if change.get("NewImage") else None
    current = new or (deserialize(change["OldImage"]) if change.get("OldImage") else None)
    if current is None or current.get("entity") != "customer":
        return
    tenant, customer_id = keys.tenant(str(current["account_id"]), bool(current.get("livemode"))), str(current["id"])
    if event is not None:
        dal.put_reference(table, tenant, customer_id, keys.EVENT_REFERENCE, str(event["id"]), int(event["expires_at"]),
                          list(event.get("endpoints") or []))
        if event["type"] == "customer.redacted":
            sweep(table, tenant, customer_id)
    elif new is not None and new.get("idempotency_key"):
        dal.put_reference(table, tenant, customer_id, keys.ANSWER_REFERENCE, key_hash(str(new["idempotency_key"])),
                          int(time.time()) + ANSWER_REFERENCE_SECONDS)


def note_answer(table: Table, who: Principal, event: dict[str, Any], idempotency_key: str | None) -> None:
    """A keyed request answering an event about a customer (an event retry): its stored answer holds
    the customer, and no event names its key, so a reference in the customer's partition does."""
    obj = (event.get("data") or {}).get("object") or {}
    if idempotency_key and obj.get("object") == "customer" and not obj.keys() <= _STAND_IN_KEYS:
        dal.put_reference(table, who.tenant, str(obj["id"]), keys.ANSWER_REFERENCE, key_hash(idempotency_key),
                          int(time.time()) + ANSWER_REFERENCE_SECONDS)
