"""Event items, written by the stream fan-out only, read by the events API."""

from __future__ import annotations

from customers_core import keys
from customers_core.dal.table import Item, Table, TransactionCanceled, serialize


def put_event_once(table: Table, item: Item, tenant: str) -> bool:
    """Write an event and its by-type copy unless the event exists (ids derive from the stream
    record, so a re-delivered record finds it). True if written."""
    copy = {**item, **keys.event_type_entry(tenant, item["id"], item["type"])}
    try:
        table.transact_write([
            {"Put": {"Item": serialize(item), "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"Item": serialize(copy), "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    except TransactionCanceled as exc:
        if "ConditionalCheckFailed" in exc.reasons:
            return False
        raise
    return True


def get_event(table: Table, tenant: str, event_id: str) -> Item | None:
    return table.get(keys.event(tenant, event_id))


def list_events(table: Table, tenant: str, limit: int = 100) -> list[Item]:
    return table.query_index("gsi1", "gsi1pk", keys.events_partition(tenant), forward=False, limit=limit)


def mark_fanned_out(table: Table, tenant: str, event_id: str) -> None:
    """Every delivery message of the event was sent: a re-delivered stream record sends none."""
    table.update(keys.event(tenant, event_id), "SET fanned_out = :t", values={":t": True})
