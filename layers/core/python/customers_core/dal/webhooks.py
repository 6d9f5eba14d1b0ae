"""Webhook endpoint items and delivery records (docs/data-model.md)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from customers_core import keys
from customers_core.dal.table import Item, Table, TransactionCanceled, condition_failed, serialize


def list_endpoints(table: Table, tenant: str) -> list[Item]:
    """Oldest first (ids sort by creation time): one Query of a partition of at most 16 items."""
    return table.query_partition(keys.webhooks_partition(tenant))


def get_endpoint(table: Table, tenant: str, endpoint_id: str) -> Item | None:
    return table.get(keys.webhook_endpoint(tenant, endpoint_id))


def put_endpoint(table: Table, item: Item, *, version: int | None) -> bool:
    """Create (version None) or replace the version read; False if another write came first."""
    try:
        if version is None:
            table.put(item, condition="attribute_not_exists(pk)")
        else:
            table.put(item, condition="version = :v", values={":v": version})
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def delete_endpoint(table: Table, tenant: str, endpoint_id: str) -> Item | None:
    try:
        return table.delete(keys.webhook_endpoint(tenant, endpoint_id), condition="attribute_exists(pk)")
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise


def set_endpoint_failing(table: Table, tenant: str, endpoint_id: str, now: int) -> Item | None:
    """Note the start of a failure streak (kept if already set); the endpoint as it is now."""
    try:
        return table.update(keys.webhook_endpoint(tenant, endpoint_id),
                            "SET failing_since = if_not_exists(failing_since, :now)",
                            values={":now": now}, condition="attribute_exists(pk)")
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise


def clear_endpoint_failing(table: Table, tenant: str, endpoint_id: str) -> None:
    try:
        table.update(keys.webhook_endpoint(tenant, endpoint_id), "REMOVE failing_since",
                     condition="attribute_exists(pk)")
    except ClientError as exc:
        if not condition_failed(exc):
            raise


def disable_endpoint(table: Table, tenant: str, endpoint_id: str, reason: str) -> None:
    try:
        table.update(keys.webhook_endpoint(tenant, endpoint_id),
                     "SET #status = :disabled, disabled_reason = :reason, version = version + :one",
                     names={"#status": "status"}, values={":disabled": "disabled", ":reason": reason, ":one": 1},
                     condition="attribute_exists(pk)")
    except ClientError as exc:
        if not condition_failed(exc):
            raise


# --- deliveries -----------------------------------------------------------------------------------
def get_delivery(table: Table, tenant: str, event_id: str, endpoint_id: str) -> Item | None:
    return table.get(keys.delivery(tenant, event_id, endpoint_id))


def record_attempt(table: Table, tenant: str, item: Item) -> None:
    table.put({**keys.delivery_attempt(tenant, item["event_id"], item["endpoint_id"], item["id"]), **item})


def set_delivery(table: Table, tenant: str, event: Item, endpoint_id: str, fields: dict[str, Any]) -> bool:
    """Record a delivery's state other than success (pending, retrying, dead-lettered, skipped) —
    unless it has succeeded: only a retry request moves it out of that state (settle_delivery), so
    a late duplicate message cannot hide a success or make pending_webhooks count it twice.
    False if it had succeeded."""
    fields = {**fields, "expires_at": event["expires_at"]}
    names = {f"#{k}": k for k in fields} | {"#st": "status"}
    values = {f":{k}": v for k, v in fields.items()} | {":succeeded": "succeeded"}
    try:
        table.update(keys.delivery(tenant, event["id"], endpoint_id),
                     "SET " + ", ".join(f"#{k} = :{k}" for k in fields), names=names, values=values,
                     condition="attribute_not_exists(#st) OR #st <> :succeeded")
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def settle_delivery(table: Table, tenant: str, event: Item, endpoint_id: str, fields: dict[str, Any],
                    *, succeeded: bool) -> bool:
    """Move a delivery into (succeeded=True) or out of the succeeded state, and keep the event's
    pending_webhooks (on the event and its by-type copy) in step in the same transaction. False if
    the delivery was already in that state (a duplicate message): then nothing changes."""
    sets = {**fields, "status": "succeeded" if succeeded else "pending", "expires_at": event["expires_at"]}
    names = {f"#{k}": k for k in sets}
    values = {f":{k}": v for k, v in sets.items()}
    if succeeded:
        condition = "attribute_not_exists(#status) OR #status <> :status"
    else:
        condition, values[":was"] = "#status = :was", "succeeded"
    copy_key = keys.event_type_entry(tenant, event["id"], event["type"])
    operations: list[dict[str, Any]] = [
        {"Update": {"Key": serialize(keys.delivery(tenant, event["id"], endpoint_id)),
                    "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in sets),
                    "ConditionExpression": condition, "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": serialize(values)}},
    ]
    for key in (keys.event(tenant, event["id"]), {"pk": copy_key["pk"], "sk": copy_key["sk"]}):
        operations.append({"Update": {"Key": serialize(key), "UpdateExpression": "ADD pending_webhooks :step",
                                      "ConditionExpression": "attribute_exists(pk)",
                                      "ExpressionAttributeValues": serialize({":step": -1 if succeeded else 1})}})
    try:
        table.transact_write(operations)
    except TransactionCanceled as exc:
        if exc.reasons and exc.reasons[0] == "ConditionalCheckFailed":
            return False
        raise
    return True
