"""The fan-out: a customer change on the table's stream → one event item → one delivery message per
matching enabled endpoint (api.md §9). Also re-sending an event (POST /v1/events/{id}/retry), and the
delivery queues themselves: the message format and every SQS call on them (the fan-out's sends, the
delivery function's retries, dead letters and re-timing), so the transport is in one place.

Per event (docs/data-model.md): the endpoints are read once per account+mode and stream batch (one
Query); the event is put once, with `attribute_not_exists` (its id derives from the stream record);
its messages are sent; then a small `sent` marker is put. Nothing is updated afterwards. A
re-delivered record finds the event: with the marker, it sends nothing; without it (the last try died
between the put and the marker), it sends again to the event's endpoints that have no delivery item
yet — a message that was sent after all is then a duplicate, which changes nothing (logic.delivery)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from customers_core import ids, keys
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import Item, Table, deserialize
from customers_core.errors import InvalidRequest, ResourceMissing
from customers_core.logic import api_versions, data_rights
from customers_core.logic.events import event_object
from customers_core.models.customer import customer_object
from customers_core.queues import sqs
from customers_core.settings import API_VERSION, get_settings

# Fields whose change alone is bookkeeping, not a change a subscriber cares about (`version` moves with
# every write; it orders the events, it is not a change of its own).
_IGNORED = frozenset({"updated", "version"})
MAX_SQS_DELAY = 900  # SendMessage's DelaySeconds limit; longer waits continue by visibility
MAX_VISIBILITY = 43200


def event_for_record(record: dict[str, Any], retention_days: int,
                     version_of: Callable[[str], str] | None = None) -> Item | None:
    """The event a stream record stands for (id, type, owner, created, expires_at and the body as JSON
    text), or None when it is not a customer change. `version_of(account_id)` is the account's
    default API version, the event's `api_version` (the service's default without it)."""
    change = record.get("dynamodb") or {}
    new = deserialize(change["NewImage"]) if change.get("NewImage") else None
    old = deserialize(change["OldImage"]) if change.get("OldImage") else None
    current = new or old
    if current is None or current.get("entity") != "customer":
        return None
    name = record.get("eventName")
    previous: dict[str, Any] | None = None
    if name == "INSERT" and new is not None:
        event_type, obj = "customer.created", customer_object(new)
    elif name == "MODIFY" and new is not None and old is not None:
        if new.get("redacted") and not old.get("redacted"):  # nothing of the customer but its ids (§11)
            event_type, obj = "customer.redacted", data_rights.redacted_object(new)
        elif new.get("deleted") and not old.get("deleted"):
            # The object as it was, numbered as the delete: the tombstone's version (the old one + 1).
            event_type = "customer.deleted"
            obj = {**customer_object(old), "version": int(new.get("version") or int(old.get("version") or 1) + 1)}
        elif new.get("deleted"):
            return None
        else:
            obj, before = customer_object(new), customer_object(old)
            previous = {k: before[k] for k in obj if k not in _IGNORED and before.get(k) != obj[k]}
            if not previous:
                return None
            event_type = "customer.updated"
    else:
        return None  # REMOVE (TTL or clean-up of a tombstone) is not a customer change
    # The write's own millisecond stamp orders events; the stream's time is whole seconds only.
    written_ms = (new or {}).get("written_ms")
    created_ms = int(written_ms) if written_ms else \
        int(float(change.get("ApproximateCreationDateTime") or current.get("updated") or 0) * 1000)
    event_id = ids.derived_id(ids.EVENT, created_ms, str(record.get("eventID", "")))
    body: dict[str, Any] = {
        "id": event_id, "object": "event", "type": event_type, "livemode": bool(current.get("livemode")),
        "created": created_ms // 1000,
        "api_version": version_of(str(current["account_id"])) if version_of else API_VERSION,
        "data": {"object": obj, **({"previous_attributes": previous} if previous is not None else {})},
        "request": {"id": (new or {}).get("request_id"), "idempotency_key": (new or {}).get("idempotency_key")},
        "pending_webhooks": 0,
    }
    return {"id": event_id, "type": event_type, "account_id": current["account_id"], "livemode": body["livemode"],
            "created": body["created"], "expires_at": body["created"] + retention_days * 86400,
            "body": json.dumps(body, separators=(",", ":"))}


def matching_endpoints(endpoints: list[Item], event_type: str) -> list[str]:
    """The ids of the enabled endpoints subscribed to the type."""
    return [str(e["id"]) for e in endpoints
            if e.get("status") == "enabled" and ("*" in e["enabled_events"] or event_type in e["enabled_events"])]


def record_event(table: Table, record: dict[str, Any], retention_days: int,
                 endpoints_by_tenant: dict[str, list[Item]] | None = None) -> str | None:
    """Write the record's event once and queue one delivery per matching enabled endpoint; the event
    id, if the record makes one. `endpoints_by_tenant` (the stream function's, one per batch) saves
    reading an account's endpoints again for each of its records in the batch."""
    event = event_for_record(record, retention_days, lambda account: api_versions.account_default(table, account))
    if event is None:
        data_rights.note_change(table, record, None)  # a keyed change without event: its stored answer
        return None
    tenant = keys.tenant(str(event["account_id"]), bool(event["livemode"]))
    endpoints = endpoints_by_tenant.get(tenant) if endpoints_by_tenant is not None else None
    if endpoints is None:
        endpoints = webhooks_dal.list_endpoints(table, tenant)
        if endpoints_by_tenant is not None:
            endpoints_by_tenant[tenant] = endpoints
    event["endpoints"] = matching_endpoints(endpoints, str(event["type"]))
    data_rights.note_change(table, record, event)  # the customer's reference to it, before it exists
    if events_dal.put_event(table, tenant, event):
        unsent = list(event["endpoints"])
    elif events_dal.was_sent(table, tenant, str(event["id"])):
        return str(event["id"])
    else:  # written by an earlier try that did not finish sending
        existing, deliveries = events_dal.get_event_and_deliveries(table, tenant, str(event["id"]))
        if existing is None:
            raise RuntimeError(f"Event {event['id']} was neither written nor found; the record is retried.")
        event = existing
        unsent = [e for e in existing["endpoints"] if e not in deliveries]
    if unsent:
        send_messages([delivery_message(event, endpoint_id) for endpoint_id in unsent])
        events_dal.mark_sent(table, tenant, str(event["id"]), int(event["expires_at"]))
    return str(event["id"])


def retry_event(table: Table, who: Principal, raw_id: str, webhook_endpoint: str | None = None,
                idempotency_key: str | None = None) -> dict[str, Any]:
    """POST /v1/events/{id}/retry: send the event again to each of the endpoints it was sent to that
    still exists and is enabled — also those that succeeded or were dead-lettered; with
    `webhook_endpoint`, to that one alone, which may be one created after the event (api.md §10), if
    it is enabled and subscribed to the event's type. Each delivery starts a new run of the schedule
    (pending again until it succeeds); answers the event. Under `idempotency_key` the stored answer
    holds the event's customer: the customer's partition refers to it (logic.data_rights)."""
    event_id = ids.parse_id(ids.EVENT, raw_id)
    event, deliveries = events_dal.get_event_and_deliveries(table, who.tenant, event_id) if event_id else (None, {})
    if event is None:
        raise ResourceMissing(f"No such event: '{raw_id[:100]}'", param="id")
    endpoints = webhooks_dal.list_endpoints(table, who.tenant)
    if webhook_endpoint is not None:
        target = _retry_target(endpoints, webhook_endpoint, str(json.loads(event["body"])["type"]))
        if target not in event["endpoints"]:  # created after the event: counted in its pending_webhooks
            events_dal.add_endpoint(table, who.tenant, event["id"], target)
            event = {**event, "endpoints": [*event["endpoints"], target]}
        targets = [target]
    else:
        enabled = {e["id"] for e in endpoints if e.get("status") == "enabled"}
        targets = [endpoint_id for endpoint_id in event["endpoints"] if endpoint_id in enabled]
    now = time.time()
    # A run newer than any before it, so the messages of earlier runs stop scheduling retries.
    run = max([int(now * 1000)] + [int(d.get("run") or 0) + 1 for d in deliveries.values()])
    for endpoint_id in targets:
        webhooks_dal.requeue_delivery(table, who.tenant, event["id"], endpoint_id, run=run, now=int(now),
                                      expires_at=int(event["expires_at"]))
    if targets:
        send_messages([delivery_message(event, endpoint_id, run=run) for endpoint_id in targets])
    pending = sum(1 for e in event["endpoints"]
                  if e in targets or (deliveries.get(e) or {}).get("status") != "succeeded")
    answer = event_object({**event, "pending_webhooks": pending})
    data_rights.note_answer(table, who, answer, idempotency_key)
    return answer


def _retry_target(endpoints: list[Item], raw_id: str, event_type: str) -> str:
    """The endpoint a retry request names, if the event can be sent to it (else a 400 naming it)."""
    endpoint_id = ids.parse_id(ids.WEBHOOK_ENDPOINT, raw_id)
    found = next((e for e in endpoints if e["id"] == endpoint_id), None)
    if found is None:
        raise InvalidRequest(f"No such webhook endpoint: '{raw_id[:100]}'", param="webhook_endpoint",
                             code="resource_missing")
    if found.get("status") != "enabled":
        raise InvalidRequest(f"Webhook endpoint {found['id']} is disabled: enable it before sending events to it.",
                             param="webhook_endpoint")
    if not matching_endpoints([found], event_type):
        raise InvalidRequest(f"Webhook endpoint {found['id']} is not subscribed to {event_type} (its enabled_events "
                             f"are {', '.join(found['enabled_events'])}).", param="webhook_endpoint")
    return str(found["id"])


# --- the delivery queues (SQS) --------------------------------------------------------------------
def delivery_message(event: Item, endpoint_id: str, attempt: int = 1, not_before: float = 0.0, run: int = 0) -> str:
    """One message per (event, endpoint) and attempt. `run` names the run of the retry schedule (0: the
    fan-out's; a retry request starts a newer one), `attempt` the attempt within it."""
    return json.dumps({"event_id": event["id"], "account_id": event["account_id"],
                       "livemode": bool(event.get("livemode")), "endpoint_id": endpoint_id,
                       "attempt": attempt, "not_before": not_before, "run": run, "queued_at": time.time()},
                      separators=(",", ":"))


def send_messages(bodies: list[str], queue_url: str | None = None) -> None:
    """SendMessageBatch in tens; any entry SQS refused raises, so the caller retries the record."""
    url = queue_url or get_settings().webhook_queue_url
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        response = sqs().send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(chunk)])
        if response.get("Failed"):
            raise RuntimeError(f"SQS refused {len(response['Failed'])} of {len(chunk)} messages")


def send_later(body: str, delay: float) -> None:
    """A retry: due after `delay` seconds; beyond SQS's 15 minutes the delivery function hides it again."""
    sqs().send_message(QueueUrl=get_settings().webhook_queue_url, MessageBody=body,
                       DelaySeconds=min(math.ceil(delay), MAX_SQS_DELAY))


def dead_letter(body: str) -> None:
    sqs().send_message(QueueUrl=get_settings().webhook_dead_letter_queue_url, MessageBody=body)


def hide(receipt_handle: str, seconds: float) -> None:
    """A message received before it is due: invisible until then (at most 12 h at a time)."""
    sqs().change_message_visibility(QueueUrl=get_settings().webhook_queue_url, ReceiptHandle=receipt_handle,
                                    VisibilityTimeout=min(math.ceil(seconds), MAX_VISIBILITY))
