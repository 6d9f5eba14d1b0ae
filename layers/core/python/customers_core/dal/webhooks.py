"""Webhook endpoint items and delivery items (docs/data-model.md).

A delivery is one item per (event, endpoint), right after its event in the account's events partition.
It holds the state (status, the current run of the retry schedule and its attempt count, a version for
optimistic writes) and the attempts log, so that an attempt is recorded with ONE write: the delivery
item put whole, on the condition that its version is the one read. The log is stored with short field
names (each attempt ~50 bytes, a whole schedule of 8 within one write unit) and read back with the
names an attempt had when it was an item of its own (attempt, attempted_at, status_code, error,
duration_ms, next_attempt_at, succeeded)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from customers_core import keys
from customers_core.dal.table import Item, Table, condition_failed

# The log keeps the latest attempts; more than this only happens after several retry requests.
MAX_LOG = 16
ERROR_MAX = 120  # characters of an error kept per attempt
_PACKED = {"attempt": "n", "attempted_at": "at", "status_code": "code", "error": "err", "duration_ms": "ms",
           "next_attempt_at": "next", "succeeded": "ok"}
_UNPACKED = {short: name for name, short in _PACKED.items()}
# Delivery fields stored as they are (besides the keys, the version and the log).
_STATE = ("status", "run", "attempts", "expires_at", "delivered_at", "requeued_at", "reason", "next_attempt_at")


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


def _update_endpoint(table: Table, tenant: str, endpoint_id: str, expression: str, **kwargs: Any) -> Item | None:
    """UpdateItem of an existing endpoint; the endpoint as it is now, or None if it is gone."""
    try:
        return table.update(keys.webhook_endpoint(tenant, endpoint_id), expression,
                            condition="attribute_exists(pk)", **kwargs)
    except ClientError as exc:
        if condition_failed(exc):
            return None
        raise


def set_endpoint_failing(table: Table, tenant: str, endpoint_id: str, now: int) -> Item | None:
    """Note the start of a failure streak (kept if already set); the endpoint as it is now."""
    return _update_endpoint(table, tenant, endpoint_id, "SET failing_since = if_not_exists(failing_since, :now)",
                            values={":now": now})


def clear_endpoint_failing(table: Table, tenant: str, endpoint_id: str) -> Item | None:
    return _update_endpoint(table, tenant, endpoint_id, "REMOVE failing_since")


def disable_endpoint(table: Table, tenant: str, endpoint_id: str, reason: str) -> Item | None:
    return _update_endpoint(table, tenant, endpoint_id,
                            "SET #status = :disabled, disabled_reason = :reason, version = version + :one",
                            names={"#status": "status"},
                            values={":disabled": "disabled", ":reason": reason, ":one": 1})


# --- deliveries -----------------------------------------------------------------------------------
def _pack_attempt(entry: dict[str, Any]) -> dict[str, Any]:
    packed = {_PACKED[k]: v for k, v in entry.items() if k in _PACKED and v is not None}
    if isinstance(packed.get("err"), str):
        packed["err"] = packed["err"][:ERROR_MAX]
    return packed


def _unpack_attempt(packed: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = dict.fromkeys(_PACKED)
    entry.update({_UNPACKED[k]: v for k, v in packed.items() if k in _UNPACKED})
    entry["succeeded"] = bool(entry["succeeded"])
    return entry


def delivery_view(raw: Item) -> Item:
    """A stored delivery as the code reads it: its ids, state, version, and the attempts log with the
    last attempt's status, error and time beside it."""
    log = [_unpack_attempt(p) for p in raw.get("log") or []]
    event_id = keys.event_id_of(str(raw["sk"]))
    view: Item = {"event_id": event_id, "endpoint_id": keys.endpoint_id_of_delivery(str(raw["sk"])),
                  **{k: raw[k] for k in _STATE if raw.get(k) is not None},
                  "run": int(raw.get("run") or 0), "attempts": int(raw.get("attempts") or 0),
                  "ver": int(raw.get("ver") or 0), "attempts_log": log}
    if log:
        view.update(last_status=log[-1]["status_code"], last_error=log[-1]["error"],
                    last_attempt_at=int(log[-1]["attempted_at"]))
    return view


def get_delivery(table: Table, tenant: str, event_id: str, endpoint_id: str) -> Item | None:
    raw = table.get(keys.delivery(tenant, event_id, endpoint_id))
    return delivery_view(raw) if raw else None


def list_attempts(table: Table, tenant: str, event_id: str, endpoint_id: str) -> list[Item]:
    """The delivery's attempts, oldest first (the latest MAX_LOG)."""
    found = get_delivery(table, tenant, event_id, endpoint_id)
    return list(found["attempts_log"]) if found else []


def put_delivery(table: Table, tenant: str, event_id: str, endpoint_id: str, state: Item, *,
                 expected_ver: int | None) -> bool:
    """Write the delivery whole (ONE write: state and attempts log) if its version is still the one
    read (`expected_ver`; None: there was none). False if another write came in between."""
    item: Item = {**keys.delivery(tenant, event_id, endpoint_id),
                  **{k: state[k] for k in _STATE if state.get(k) is not None},
                  "ver": (expected_ver or 0) + 1}
    log = [_pack_attempt(e) for e in (state.get("attempts_log") or [])[-MAX_LOG:]]
    if log:
        item["log"] = log
    try:
        if expected_ver is None:
            table.put(item, condition="attribute_not_exists(pk)")
        else:
            table.put(item, condition="ver = :v", values={":v": expected_ver})
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def requeue_delivery(table: Table, tenant: str, event_id: str, endpoint_id: str, *, run: int, now: int,
                     expires_at: int) -> None:
    """A retry request: the delivery starts a new run of the schedule (pending again, so it counts in
    pending_webhooks until it succeeds). One UpdateItem; the version moves, so an attempt that read
    the delivery before it writes again from what it is now."""
    table.update(keys.delivery(tenant, event_id, endpoint_id),
                 "SET #status = :pending, #run = :run, attempts = :zero, requeued_at = :now, expires_at = :exp "
                 "REMOVE next_attempt_at, reason ADD ver :one",
                 names={"#status": "status", "#run": "run"},
                 values={":pending": "pending", ":run": run, ":zero": 0, ":now": now, ":exp": expires_at, ":one": 1})
