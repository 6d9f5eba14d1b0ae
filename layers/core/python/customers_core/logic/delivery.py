"""Delivering one (event, endpoint) message (api.md §9): sign, POST to the checked address, record
the attempt, and decide what happens next — done, retry later, dead-letter, or disable the endpoint.

The caller (the delivery function) carries out the decision on SQS: a retry is a new message with
the next attempt number and its due time; a wait longer than SQS's 15-minute delay continues by
message visibility. Nothing here touches SQS, so the decision is testable without a queue."""

from __future__ import annotations

import http.client
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from customers_core import ids, keys, netguard, secretbox, signing
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as dal
from customers_core.dal.table import Item, Table
from customers_core.logic.events import event_object
from customers_core.logic.webhooks import delivery_message, secret_context
from customers_core.observability import logger
from customers_core.settings import get_settings

USER_AGENT = "customers-api-webhooks/1.0"
JITTER = 0.1  # each retry delay is scheduled ±10%, so endpoints recovering together are not stampeded


@dataclass(frozen=True)
class Outcome:
    """`wait`: not due yet, hide the message this long. Otherwise the message is done; `retry` is the
    next attempt's message (sent with `delay`), `dead_letter` the message for the dead-letter queue."""

    wait: float | None = None
    retry: str | None = None
    delay: float = 0.0
    dead_letter: str | None = None
    result: str = ""


def deliver(table: Table, message: dict[str, Any], now: float | None = None) -> Outcome:
    settings = get_settings()
    now = time.time() if now is None else now
    due = float(message.get("not_before") or 0)
    if due > now + 0.5:
        return Outcome(wait=due - now, result="not_due")
    tenant = keys.tenant(str(message["account_id"]), bool(message["livemode"]))
    endpoint_id, attempt = str(message["endpoint_id"]), int(message.get("attempt", 1))
    event = events_dal.get_event(table, tenant, str(message["event_id"]))
    if event is None:  # expired (30 days) before delivery
        return Outcome(result="event_gone")
    endpoint = dal.get_endpoint(table, tenant, endpoint_id)
    if endpoint is None or endpoint.get("status") != "enabled":
        reason = "endpoint_deleted" if endpoint is None else "endpoint_disabled"
        dal.set_delivery(table, tenant, event, endpoint_id, {"status": "skipped", "reason": reason})
        return Outcome(result=reason)
    # A message queued before the delivery last succeeded is a duplicate (SQS delivers at least
    # once): it sends nothing. One queued after it (a retry request) sends again.
    done = dal.get_delivery(table, tenant, event["id"], endpoint_id)
    if done and done.get("status") == "succeeded" and \
            float(done.get("delivered_at") or 0) >= float(message.get("queued_at") or 0):
        return Outcome(result="already_delivered")

    status, error, duration_ms = _post(event, endpoint, settings.webhook_timeout_seconds,
                                       settings.webhook_allow_local_http, now)
    ok = status is not None and 200 <= status < 300
    schedule = settings.webhook_retry_schedule
    delay: float | None = None
    disabled_reason: str | None = None
    if not ok:
        if status == 410:
            disabled_reason = "gone"
        else:
            current = dal.set_endpoint_failing(table, tenant, endpoint_id, int(now)) or {}
            since = current.get("failing_since")
            if since is not None and now - float(since) >= settings.webhook_disable_after_seconds:
                disabled_reason = "failing"
            elif attempt < len(schedule):
                delay = schedule[attempt] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 — jitter, not secrecy
    next_at = now + delay if delay is not None else None
    dal.record_attempt(table, tenant, {
        "id": ids.new_id(ids.ATTEMPT), "entity": "delivery_attempt", "event_id": event["id"],
        "endpoint_id": endpoint_id, "attempt": attempt, "status_code": status, "error": error,
        "duration_ms": round(duration_ms, 1), "attempted_at": round(now, 3), "succeeded": ok,
        "next_attempt_at": round(next_at, 3) if next_at is not None else None, "expires_at": event["expires_at"],
    })
    summary: dict[str, Any] = {"attempts": attempt, "last_status": status, "last_error": error,
                               "last_attempt_at": int(now)}
    if ok:
        summary["delivered_at"] = now
    log = {"event_id": event["id"], "endpoint_id": endpoint_id, "attempt": attempt, "status_code": status,
           "error": error, "duration_ms": round(duration_ms, 1)}
    if ok:
        dal.settle_delivery(table, tenant, event, endpoint_id, summary, succeeded=True)
        if endpoint.get("failing_since") is not None:
            dal.clear_endpoint_failing(table, tenant, endpoint_id)
        logger.info("webhook delivered", extra=log)
        return Outcome(result="delivered")
    if disabled_reason:
        dal.disable_endpoint(table, tenant, endpoint_id, disabled_reason)
        dal.set_delivery(table, tenant, event, endpoint_id, {**summary, "status": "endpoint_disabled"})
        logger.warning("webhook endpoint disabled", extra={**log, "reason": disabled_reason})
        return Outcome(result=f"disabled_{disabled_reason}")
    if delay is not None and next_at is not None:
        if not dal.set_delivery(table, tenant, event, endpoint_id,
                                {**summary, "status": "retrying", "next_attempt_at": int(next_at)}):
            return Outcome(result="already_delivered")  # a duplicate of this message got through
        logger.info("webhook attempt failed; retrying", extra={**log, "retry_in_s": round(delay, 1)})
        return Outcome(retry=delivery_message(event, endpoint_id, attempt + 1, next_at), delay=delay,
                       result="retry")
    dal.set_delivery(table, tenant, event, endpoint_id, {**summary, "status": "dead_lettered"})
    logger.warning("webhook retries exhausted; dead-lettered", extra=log)
    # Re-driven from the dead-letter queue, the message starts the schedule again.
    dead = {**json.loads(delivery_message(event, endpoint_id)), "previous_attempts": attempt,
            "dead_lettered_at": int(now), "last_status": status, "last_error": error}
    return Outcome(dead_letter=json.dumps(dead, separators=(",", ":")), result="dead_lettered")


def _post(event: Item, endpoint: Item, timeout: float, allow_local_http: bool,
          now: float) -> tuple[int | None, str | None, float]:
    """(status, error, duration in ms). The URL is checked again here: DNS may have changed since
    registration, and the connection goes to the address just checked."""
    started = time.monotonic()
    payload = json.dumps(event_object(event), separators=(",", ":")).encode()
    try:
        secret = secretbox.unseal(str(endpoint["secret_ciphertext"]), secret_context(endpoint))
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   **signing.signature_headers(secret, str(event["id"]), int(now), payload)}
        target = netguard.check_url(str(endpoint["url"]), allow_local_http=allow_local_http)
        response = netguard.post(target, payload, headers, timeout)
        return response.status, None, response.duration_ms
    except netguard.UnsafeUrl as exc:
        return None, f"url_refused: {exc}"[:300], (time.monotonic() - started) * 1000
    except TimeoutError:
        return None, "timeout", (time.monotonic() - started) * 1000
    except (OSError, http.client.HTTPException) as exc:
        return None, type(exc).__name__, (time.monotonic() - started) * 1000
