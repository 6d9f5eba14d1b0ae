"""After a start: queue again the webhook deliveries the table records as not finished whose SQS
messages are gone. moto's SQS lives in memory, so whatever was queued when the last run ended (a
crash, or a stop with retries scheduled minutes ahead) is lost, while DynamoDB Local kept the events
and their deliveries. Deployed, SQS keeps its messages and nothing like this is needed.

A fresh moto holds no message, so every unfinished delivery of a recent event is a lost one:
- an endpoint of the event with no delivery item yet (the fan-out queued it; no attempt recorded),
- a delivery `retrying` (its next attempt was queued, due at `next_attempt_at`),
- a delivery `pending` (a retry request started a new run; its first attempt was queued).
Each gets the message the code would have sent (logic.fanout.delivery_message), so the delivery
function treats it as it would have treated the lost one; a copy that is a duplicate after all
changes nothing (logic.delivery).

The table is read through the DAL only (dal.events, and a Scan for the accounts: the local table
is small, and this runs in the background once per start)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from customers_core import ids, keys
from customers_core.dal import events as events_dal
from customers_core.dal.table import Table
from customers_core.logic import fanout

# Events older than this have no retry left to lose (the contract's schedule spans about 33 hours).
WINDOW_SECONDS = 3 * 86400
UNFINISHED = frozenset({"retrying", "pending"})


@dataclass
class Result:
    accounts: int = 0
    events_read: int = 0
    requeued: int = 0
    seconds: float = 0.0
    deliveries: list[str] = field(default_factory=list)  # "evt_…→we_…", the first 20


def account_ids(table: Table) -> list[str]:
    """Every account of the local table (a Scan; entity = account)."""
    found: list[str] = []
    kwargs: dict[str, Any] = {"TableName": table.name, "FilterExpression": "#entity = :account",
                              "ExpressionAttributeValues": {":account": {"S": "account"}},
                              "ExpressionAttributeNames": {"#entity": "entity", "#id": "id"},
                              "ProjectionExpression": "#id"}
    while True:
        page = table.client.scan(**kwargs)
        found += [item["id"]["S"] for item in page.get("Items", []) if "id" in item]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def lost_messages(table: Table, tenant: str, since: int, result: Result) -> list[str]:
    """The messages to send again for one account+mode's events created since `since` (seconds)."""
    lower = ids.id_bound(ids.EVENT, since, upper=False)
    bodies = []
    for event in events_dal.page_events(table, tenant, lower=lower, forward=True, want=100_000):
        result.events_read += 1
        if not event.get("endpoints") or not event.get("pending_webhooks"):
            continue
        full, deliveries = events_dal.get_event_and_deliveries(table, tenant, str(event["id"]))
        if full is None:
            continue
        for endpoint_id in full["endpoints"]:
            delivery = deliveries.get(endpoint_id)
            if delivery is None:
                body = fanout.delivery_message(full, endpoint_id)
            elif delivery.get("status") in UNFINISHED:
                body = fanout.delivery_message(full, endpoint_id, attempt=int(delivery.get("attempts") or 0) + 1,
                                               not_before=float(delivery.get("next_attempt_at") or 0),
                                               run=int(delivery.get("run") or 0))
            else:
                continue
            bodies.append(body)
            if len(result.deliveries) < 20:
                result.deliveries.append(f"{full['id']}→{endpoint_id}")
    return bodies


def requeue_lost_deliveries(table: Table, queue_url: str | None = None, *, now: float | None = None) -> Result:
    """Send again every lost delivery message (see the module's doc); what was found and sent."""
    started = time.monotonic()
    result = Result()
    since = int((time.time() if now is None else now) - WINDOW_SECONDS)
    for account_id in account_ids(table):
        result.accounts += 1
        for livemode in (False, True):
            bodies = lost_messages(table, keys.tenant(account_id, livemode), since, result)
            if bodies:
                fanout.send_messages(bodies, queue_url)
                result.requeued += len(bodies)
    result.seconds = round(time.monotonic() - started, 2)
    return result
