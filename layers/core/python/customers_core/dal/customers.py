"""Customer items with everything that must change with them, in one transaction: uniqueness markers
(email, external_id), index entries (status, sentiment, tags) and the account's count."""

from __future__ import annotations

from typing import Any

from customers_core import keys
from customers_core.dal.table import Item, Table, TransactionCanceled, serialize

UNIQUE_FIELDS = {"email": keys.email_marker, "external_id": keys.external_id_marker}
INDEXED_COPIES = ("status", "sentiment", "tags", "created")


class Taken(Exception):
    """Another live customer of the account+mode holds this unique value."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class Stale(Exception):
    """The customer changed since it was read (version condition or a concurrent transaction)."""


def _unique_value(field: str, item: Item | None) -> str | None:
    if not item or item.get("deleted") or not item.get(field):
        return None
    value = str(item[field])
    return value.lower() if field == "email" else value


def index_entries(tenant: str, item: Item | None) -> dict[str, Item]:
    """The index entries a live customer has, by sort key, each carrying copies of the filterable
    attributes so combined filters can be checked on the index without reading the customer."""
    if not item or item.get("deleted"):
        return {}
    copies = {k: item[k] for k in INDEXED_COPIES if k in item}
    pairs = [("status", item.get("status", "active")), ("sentiment", item.get("sentiment", "neutral"))]
    pairs += [("tag", tag) for tag in item.get("tags") or []]
    entries = {}
    for attribute, value in pairs:
        key = keys.customer_index_entry(tenant, item["id"], attribute, value)
        entries[key["sk"]] = {**key, "entity": "customer_index", "customer_id": item["id"], **copies}
    return entries


def write_customer(table: Table, tenant: str, new: Item, old: Item | None) -> None:
    """Write `new` (a create when `old` is None, else a change of `old`, possibly to a tombstone)
    and everything that must change with it, all or nothing."""
    operations: list[dict[str, Any]] = []
    labels: list[str] = []

    def add(label: str, operation: dict[str, Any]) -> None:
        labels.append(label)
        operations.append(operation)

    if old is None:
        add("customer", {"Put": {"Item": serialize(new), "ConditionExpression": "attribute_not_exists(pk)"}})
    else:
        add("customer", {"Put": {"Item": serialize(new), "ConditionExpression": "version = :v",
                                 "ExpressionAttributeValues": {":v": {"N": str(old["version"])}}}})
    for field, marker in UNIQUE_FIELDS.items():
        before, after = _unique_value(field, old), _unique_value(field, new)
        if before == after:
            continue
        if before:
            add("release", {"Delete": {"Key": serialize(marker(tenant, before)),
                                       "ConditionExpression": "customer_id = :id",
                                       "ExpressionAttributeValues": {":id": {"S": new["id"]}}}})
        if after:
            item = {**marker(tenant, after), "entity": f"{field}_marker", "customer_id": new["id"]}
            add(f"taken:{field}", {"Put": {"Item": serialize(item), "ConditionExpression": "attribute_not_exists(pk)"}})
    old_entries, new_entries = index_entries(tenant, old), index_entries(tenant, new)
    counts = _count_changes(old, new, old_entries.keys(), new_entries.keys())
    if counts:
        add("count", _count(tenant, counts))
    for sort_key in old_entries.keys() - new_entries.keys():
        add("index", {"Delete": {"Key": serialize({"pk": old_entries[sort_key]["pk"], "sk": sort_key})}})
    for sort_key, entry in new_entries.items():
        if old_entries.get(sort_key) != entry:
            add("index", {"Put": {"Item": serialize(entry)}})
    try:
        table.transact_write(operations)
    except TransactionCanceled as exc:
        for label, reason in zip(labels, exc.reasons, strict=False):
            if reason == "ConditionalCheckFailed" and label.startswith("taken:"):
                raise Taken(label.split(":", 1)[1]) from exc
        if old is not None or "TransactionConflict" in exc.reasons:
            raise Stale from exc
        raise


def _live(item: Item | None) -> bool:
    return item is not None and not item.get("deleted")


def _count_changes(old: Item | None, new: Item, before: Any, after: Any) -> dict[str, int]:
    """What the account's counter item must add: the customer count, and one count per index entry
    sort key (`IDX#tag#vip` …), so a single-filter total_count is one read."""
    changes = {"count": int(_live(new)) - int(_live(old))}
    for sort_key in set(before) ^ set(after):
        changes[sort_key] = 1 if sort_key in after else -1
    return {name: delta for name, delta in changes.items() if delta}


def _count(tenant: str, changes: dict[str, int]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(changes)}
    values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(changes.values())}
    return {"Update": {"Key": serialize(keys.customer_counter(tenant)),
                       "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes))),
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def get_customer(table: Table, tenant: str, customer_id: str) -> Item | None:
    return table.get(keys.customer(tenant, customer_id))


def get_customers(table: Table, tenant: str, customer_ids: list[str]) -> dict[str, Item]:
    """Many customers by id (BatchGetItem), keyed by id."""
    return {i["id"]: i for i in table.batch_get([keys.customer(tenant, cid) for cid in customer_ids])}


def owner_of(table: Table, tenant: str, field: str, value: str) -> str | None:
    """The id of the live customer holding a unique value (email, external_id), if any."""
    marker = UNIQUE_FIELDS[field](tenant, value.lower() if field == "email" else value)
    item = table.get(marker)
    return str(item["customer_id"]) if item else None


def count_customers(table: Table, tenant: str, attribute: str | None = None, value: str | None = None) -> int:
    """Live customers of the account, or those with one attribute value (status, sentiment, tag)."""
    item = table.get(keys.customer_counter(tenant))
    if attribute is None:
        return int(item["count"]) if item else 0
    sort_key = keys.customer_index_entry(tenant, "-", attribute, str(value))["sk"]
    return int(item.get(sort_key, 0)) if item else 0
