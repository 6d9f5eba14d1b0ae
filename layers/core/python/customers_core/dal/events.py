"""Event items, written by the stream fan-out only."""

from __future__ import annotations

from customers_core import keys
from customers_core.dal.table import Item, Table


def put_event_once(table: Table, item: Item) -> bool:
    """Write an event unless it exists (ids derive from the stream record). True if written."""
    client = table.client
    try:
        table.put(item, condition="attribute_not_exists(pk)")
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def list_events(table: Table, tenant: str, limit: int = 100) -> list[Item]:
    return table.query_index("gsi1", "gsi1pk", keys.events_partition(tenant), forward=False, limit=limit)
