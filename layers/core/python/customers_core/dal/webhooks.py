"""Webhook endpoint items and delivery items (docs/data-model.md).

A delivery is one item per (event, endpoint), right after its event in the account's events partition.
It holds the state (status, the current run of the retry schedule and its attempt count, a version for
optimistic writes) and the attempts log, so that an attempt is recorded with ONE write: the delivery
item put whole, on the condition that its version is the one read. The log is stored with short field
names (each attempt ~50 bytes, a whole schedule of 8 within one write unit) and read back with the
names an attempt had when it was an item of its own (attempt, attempted_at, status_code, error,
duration_ms, next_attempt_at, succeeded).

A delivery item also carries gsi1 keys that list it in its endpoint's delivery log
(`T#WHD#<we_id>` / `<log status>#<whd_id>`): the log status (pending, succeeded, failed,
dead_lettered) first, so one status is one sort-key range, and the delivery's id, derived from its
event's time and its own sort key (`delivery_id`), so the log sorts by time. The index copy costs one
write unit per write of the item, and two when the log status changes (its index entry moves)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from customers_core import ids, keys
from customers_core.dal.table import Item, Table, condition_failed

# The log keeps the latest attempts; more than this only happens after several retry requests.
MAX_LOG = 16
ERROR_MAX = 120  # characters of an error kept per attempt
_PACKED = {"attempt": "n", "attempted_at": "at", "status_code": "code", "error": "err", "duration_ms": "ms",
           "next_attempt_at": "next", "succeeded": "ok"}
_UNPACKED = {short: name for name, short in _PACKED.items()}
# Delivery fields stored as they are (besides the keys, the version and the log).
_STATE = ("status", "run", "attempts", "expires_at", "delivered_at", "requeued_at", "reason", "next_attempt_at")
# The delivery log's status of each stored status (api.md §11): `failed` is a delivery whose last
# attempt failed (retrying, or its endpoint disabled) or that was skipped (its endpoint disabled or
# deleted before the attempt); `pending` one that waits for its first attempt of a run.
LOG_STATUSES = ("pending", "succeeded", "failed", "dead_lettered")
_LOG_STATUS = {"pending": "pending", "succeeded": "succeeded", "dead_lettered": "dead_lettered",
               "retrying": "failed", "endpoint_disabled": "failed", "skipped": "failed"}


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


def log_status(status: str | None) -> str:
    """The delivery log's status of a stored one (a delivery not written yet is pending)."""
    return _LOG_STATUS.get(status or "pending", "failed")


def delivery_id(event_id: str, endpoint_id: str) -> str:
    """The delivery's id (`whd_…`): stable, derived from its event and endpoint, with its event's time,
    so it needs no write of its own and the log sorts by time."""
    return ids.derived_id(ids.DELIVERY, ids.timestamp_ms(event_id), f"{event_id}{keys.DELIVERY_INFIX}{endpoint_id}")


def delivery_view(raw: Item) -> Item:
    """A stored delivery as the code reads it: its ids, state, version, and the attempts log with the
    last attempt's status, error and time beside it."""
    log = [_unpack_attempt(p) for p in raw.get("log") or []]
    event_id = keys.event_id_of(str(raw["sk"]))
    endpoint_id = str(keys.endpoint_id_of_delivery(str(raw["sk"])))
    view: Item = {"id": delivery_id(event_id, endpoint_id), "event_id": event_id, "endpoint_id": endpoint_id,
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
                  **keys.delivery_log_index(tenant, endpoint_id, log_status(state.get("status")),
                                            delivery_id(event_id, endpoint_id)),
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
    log_keys = keys.delivery_log_index(tenant, endpoint_id, "pending", delivery_id(event_id, endpoint_id))
    table.update(keys.delivery(tenant, event_id, endpoint_id),
                 "SET #status = :pending, #run = :run, attempts = :zero, requeued_at = :now, expires_at = :exp, "
                 "gsi1pk = :gpk, gsi1sk = :gsk REMOVE next_attempt_at, reason ADD ver :one",
                 names={"#status": "status", "#run": "run"},
                 values={":pending": "pending", ":run": run, ":zero": 0, ":now": now, ":exp": expires_at, ":one": 1,
                         ":gpk": log_keys["gsi1pk"], ":gsk": log_keys["gsi1sk"]})


def page_endpoint_deliveries(table: Table, tenant: str, endpoint_id: str, status: str, *, lower: str | None,
                             upper: str | None, forward: bool, want: int) -> list[Item]:
    """Up to `want` of the endpoint's deliveries with one log status and ids in [lower, upper] (either
    open), newest first unless `forward`: one Query of its gsi1 partition's sort-key range for that
    status (whole items, eventually consistent), `Limit` = want."""
    found, _ = table.query_range(index="gsi1", partition=keys.endpoint_deliveries_partition(tenant, endpoint_id),
                                 lower=keys.delivery_log_bound(status, lower or ""),
                                 upper=keys.delivery_log_bound(status, upper or "~"), forward=forward, want=want)
    return [delivery_view(raw) for raw in found]
