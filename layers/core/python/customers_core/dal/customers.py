"""Customer items, their uniqueness markers and the per-account counter."""

from __future__ import annotations

from customers_core import keys
from customers_core.dal.table import Item, Table, TransactionCanceled, serialize


class EmailTaken(Exception):
    """Another live customer of the account+mode holds this email."""


def insert_customer(table: Table, tenant: str, item: Item, email: str | None) -> None:
    """Write a new customer, its email marker and the count in one transaction, so uniqueness
    never depends on a read that a concurrent writer could overtake."""
    operations: list[dict] = [
        {"Put": {"Item": serialize(item), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {
            "Key": serialize(keys.customer_counter(tenant)),
            "UpdateExpression": "ADD #n :one",
            "ExpressionAttributeNames": {"#n": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }},
    ]
    if email:
        marker = {**keys.email_marker(tenant, email), "entity": "email_marker", "customer_id": item["id"]}
        operations.append({"Put": {"Item": serialize(marker), "ConditionExpression": "attribute_not_exists(pk)"}})
    try:
        table.transact_write(operations)
    except TransactionCanceled as exc:
        if email and exc.reasons[2] == "ConditionalCheckFailed":
            raise EmailTaken from exc
        raise


def get_customer(table: Table, tenant: str, customer_id: str) -> Item | None:
    return table.get(keys.customer(tenant, customer_id))
