"""Delivering one (event, endpoint) message (api.md §9): sign, POST to the checked address, record
the attempt, and decide what happens next — done, retry later, dead-letter, or disable the endpoint.

What one attempt costs (docs/data-model.md):
- reads: one consistent Query of the event's sort-key range — the event (the payload), its deliveries
  (its pending_webhooks, and this delivery's state); the endpoint comes from a per-environment cache
  (ENDPOINT_CACHE_SECONDS: a disabled or deleted endpoint stops getting deliveries within that long, at
  once in the environment that disabled it) and the signing secret from secretbox's cache;
- writes: ONE — the delivery item put whole, the attempt appended to its log, on the condition that
  its version is the one read. The endpoint is written only when a failure streak starts or ends, or
  when it is disabled.

Duplicates (SQS delivers at least once) change nothing:
- a message queued before the delivery last succeeded sends nothing (`already_delivered`);
- a message whose attempt is already recorded (same run, attempt not beyond the recorded one) sends
  nothing (`duplicate`);
- two copies processed at once both POST (at least once), but only the one whose write lands first
  continues the schedule: the other's write finds a new version, re-reads, and only adds its attempt to
  the log (`failed`, or `delivered` if it succeeded). pending_webhooks counts deliveries that have not
  succeeded, so a second success cannot count twice.
A retry request starts a newer run; an attempt of an older run still POSTs (and its success counts)
but schedules nothing more.

The caller (the delivery function) carries out the decision on SQS with logic.fanout's transport; a
retry is a new message with the next attempt number and its due time. Nothing here touches SQS."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from customers_core import caches, keys, netguard, signing
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import Item, Table
from customers_core.logic.events import event_object
from customers_core.logic.fanout import delivery_message
from customers_core.logic.webhooks import signing_secrets
from customers_core.observability import logger
from customers_core.settings import get_settings

USER_AGENT = "customers-api-webhooks/1.0"
JITTER = 0.1  # each retry delay is scheduled ±10%, so endpoints recovering together are not stampeded
ENDPOINT_CACHE_SECONDS = 10.0
WRITE_ATTEMPTS = 16  # a delivery written concurrently (copies of a message, a retry request): re-read, re-applied;
# each round one writer wins, so this covers 16 copies at once


@dataclass(frozen=True)
class Outcome:
    """`wait`: not due yet, hide the message this long. Otherwise the message is done; `retry` is the
    next attempt's message (sent with `delay`), `dead_letter` the message for the dead-letter queue."""

    wait: float | None = None
    retry: str | None = None
    delay: float = 0.0
    dead_letter: str | None = None
    result: str = ""


# --- the endpoint, cached per execution environment -----------------------------------------------
_endpoints: dict[tuple[str, str], tuple[float, Item | None]] = {}
_endpoints_lock = threading.Lock()
_clock = time.monotonic


def _remember(tenant: str, endpoint_id: str, item: Item | None) -> Item | None:
    with _endpoints_lock:
        if len(_endpoints) >= 1000:
            _endpoints.clear()
        _endpoints[(tenant, endpoint_id)] = (_clock(), item)
    return item


def _endpoint(table: Table, tenant: str, endpoint_id: str, *, fresh: bool = False) -> Item | None:
    """The endpoint as read at most ENDPOINT_CACHE_SECONDS ago (None: it does not exist)."""
    with _endpoints_lock:
        hit = _endpoints.get((tenant, endpoint_id))
    if hit is not None and not fresh and _clock() - hit[0] < ENDPOINT_CACHE_SECONDS:
        return hit[1]
    return _remember(tenant, endpoint_id, webhooks_dal.get_endpoint(table, tenant, endpoint_id))


@caches.on_reset
def forget_endpoints() -> None:
    """Drop the cached endpoints (tests; a new execution environment starts without them)."""
    with _endpoints_lock:
        _endpoints.clear()


# --- one attempt ----------------------------------------------------------------------------------
def deliver(table: Table, message: dict[str, Any], now: float | None = None) -> Outcome:
    settings = get_settings()
    now = time.time() if now is None else now
    due = float(message.get("not_before") or 0)
    if due > now + 0.5:
        return Outcome(wait=due - now, result="not_due")
    tenant = keys.tenant(str(message["account_id"]), bool(message["livemode"]))
    endpoint_id, attempt = str(message["endpoint_id"]), int(message.get("attempt", 1))
    run, queued_at = int(message.get("run") or 0), float(message.get("queued_at") or 0)
    event, deliveries = events_dal.get_event_and_deliveries(table, tenant, str(message["event_id"]))
    if event is None:  # expired (30 days) before delivery
        return Outcome(result="event_gone")
    current = deliveries.get(endpoint_id)
    if current is not None:
        # A message queued before the delivery last succeeded is a duplicate: it sends nothing. One
        # queued after it (a retry request) sends again.
        if current.get("status") == "succeeded" and float(current.get("delivered_at") or 0) >= queued_at:
            return Outcome(result="already_delivered")
        if current["run"] == run and current["attempts"] >= attempt:
            return Outcome(result="duplicate")
    endpoint = _endpoint(table, tenant, endpoint_id)
    if endpoint is None or endpoint.get("status") != "enabled":
        reason = "endpoint_deleted" if endpoint is None else "endpoint_disabled"
        _write(table, tenant, event, endpoint_id, current, lambda state: (_skipped(state, reason, event), None))
        return Outcome(result=reason)

    status, error, duration_ms = _post(event, endpoint, settings.webhook_timeout_seconds,
                                       settings.webhook_allow_local_http, now)
    ok = status is not None and 200 <= status < 300
    schedule = settings.webhook_retry_schedule
    delay: float | None = None
    disabled_reason: str | None = None
    if not ok:
        if status == 410:
            disabled_reason = "gone"
        elif _failing_for(table, tenant, endpoint_id, endpoint, now) >= settings.webhook_disable_after_seconds:
            disabled_reason = "failing"
        elif attempt < len(schedule):
            delay = schedule[attempt] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 — jitter, not secrecy
    next_at = now + delay if delay is not None else None
    entry = {"attempt": attempt, "attempted_at": round(now, 3), "status_code": status, "error": error,
             "duration_ms": round(duration_ms, 1), "next_attempt_at": round(next_at, 3) if next_at else None,
             "succeeded": ok}
    kind = "succeeded" if ok else "endpoint_disabled" if disabled_reason else \
        "retrying" if delay is not None else "dead_lettered"
    continues = _write(table, tenant, event, endpoint_id, current,
                       lambda state: _after_attempt(state, run, attempt, entry, kind, next_at, now, event))
    log = {"event_id": event["id"], "endpoint_id": endpoint_id, "attempt": attempt, "status_code": status,
           "error": error, "duration_ms": round(duration_ms, 1)}
    if ok:
        if endpoint.get("failing_since") is not None:  # the streak is over
            _remember(tenant, endpoint_id, webhooks_dal.clear_endpoint_failing(table, tenant, endpoint_id))
        logger.info("webhook delivered", extra=log)
        return Outcome(result="delivered")
    if disabled_reason:
        _remember(tenant, endpoint_id, webhooks_dal.disable_endpoint(table, tenant, endpoint_id, disabled_reason))
        logger.warning("webhook endpoint disabled", extra={**log, "reason": disabled_reason})
        return Outcome(result=f"disabled_{disabled_reason}")
    if not continues:  # a duplicate of this attempt, a newer run, or a success got there first
        logger.info("webhook attempt failed; the delivery is settled elsewhere", extra=log)
        return Outcome(result="failed")
    if delay is not None and next_at is not None:
        logger.info("webhook attempt failed; retrying", extra={**log, "retry_in_s": round(delay, 1)})
        return Outcome(retry=delivery_message(event, endpoint_id, attempt + 1, next_at, run), delay=delay,
                       result="retry")
    logger.warning("webhook retries exhausted; dead-lettered", extra=log)
    # Re-driven from the dead-letter queue, the message starts the schedule again, as a newer run.
    dead = {**json.loads(delivery_message(event, endpoint_id, run=max(int(now * 1000), run + 1))),
            "previous_attempts": attempt, "dead_lettered_at": int(now), "last_status": status, "last_error": error}
    return Outcome(dead_letter=json.dumps(dead, separators=(",", ":")), result="dead_lettered")


def _failing_for(table: Table, tenant: str, endpoint_id: str, endpoint: Item, now: float) -> float:
    """Seconds the endpoint has failed every attempt (this failure included). The streak's start is
    written only when it begins; a streak long enough to disable the endpoint is read again fresh, so a
    stale cached copy cannot disable it."""
    since = endpoint.get("failing_since")
    if since is None:
        current = _remember(tenant, endpoint_id, webhooks_dal.set_endpoint_failing(table, tenant, endpoint_id,
                                                                                   int(now)))
        since = (current or {}).get("failing_since")
    elif now - float(since) >= get_settings().webhook_disable_after_seconds:
        since = (_endpoint(table, tenant, endpoint_id, fresh=True) or {}).get("failing_since")
    return now - float(since) if since is not None else 0.0


def _write(table: Table, tenant: str, event: Item, endpoint_id: str, current: Item | None,
           change: Callable[[Item | None], tuple[Item | None, Any]]) -> Any:
    """Apply `change` to the delivery as read and put it (one write), if it is still that version;
    otherwise read it again and re-apply. `change` gives the new state (None: nothing to write) and a
    result, which is returned."""
    for _ in range(WRITE_ATTEMPTS):
        state, result = change(current)
        if state is None or webhooks_dal.put_delivery(table, tenant, event["id"], endpoint_id, state,
                                                      expected_ver=current["ver"] if current else None):
            return result
        current = webhooks_dal.get_delivery(table, tenant, event["id"], endpoint_id)
    raise RuntimeError("The delivery kept changing while its attempt was recorded; the message is retried.")


def _after_attempt(current: Item | None, run: int, attempt: int, entry: dict[str, Any], kind: str,
                   next_at: float | None, now: float, event: Item) -> tuple[Item, bool]:
    """The delivery after this attempt, and whether this attempt continues its schedule: it does if it
    is the newest step (a newer run, or a later attempt of the current one) and no success came first."""
    state: Item = dict(current) if current else {"run": 0, "attempts": 0}
    state["attempts_log"] = [*(state.get("attempts_log") or []), entry]
    state["expires_at"] = event["expires_at"]
    succeeded_before = state.get("status") == "succeeded"
    newest = run > int(state["run"]) or (run == int(state["run"]) and attempt > int(state["attempts"]))
    if newest:
        state["run"], state["attempts"] = run, attempt
    if kind == "succeeded":  # a success counts whichever run it belongs to
        state.update(status="succeeded", delivered_at=now)
        state.pop("next_attempt_at", None)
        state.pop("reason", None)
        return state, True
    if succeeded_before or not newest:
        return state, False
    state["status"] = kind
    state.pop("reason", None)
    state.pop("next_attempt_at", None)
    if next_at is not None:
        state["next_attempt_at"] = int(next_at)
    return state, True


def _skipped(current: Item | None, reason: str, event: Item) -> Item | None:
    """The delivery of a message to a deleted or disabled endpoint: skipped (a success stands)."""
    if current and (current.get("status") == "succeeded"
                    or (current.get("status") == "skipped" and current.get("reason") == reason)):
        return None
    state: Item = dict(current) if current else {"run": 0, "attempts": 0}
    state.update(status="skipped", reason=reason, expires_at=event["expires_at"])
    state.pop("next_attempt_at", None)
    return state


def delivered_object(event: Item, endpoint: Item) -> dict[str, Any]:
    """The event as POSTed to `endpoint`: labelled with the endpoint's API version, else with the
    event's own (its account's default when it was made; api.md §10). The shape is the same in every
    version: the label is what the typed SDKs check."""
    body = event_object(event)
    return {**body, "api_version": endpoint.get("api_version") or body["api_version"]}


def _post(event: Item, endpoint: Item, timeout: float, allow_local_http: bool,
          now: float) -> tuple[int | None, str | None, float]:
    """(status, error, duration in ms). The URL is checked again here: DNS may have changed since
    registration, and the connection goes to the address just checked."""
    started = time.monotonic()
    payload = json.dumps(delivered_object(event, endpoint), separators=(",", ":")).encode()
    try:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   **signing.signature_headers(signing_secrets(endpoint, now), str(event["id"]), int(now), payload)}
        target = netguard.check_url(str(endpoint["url"]), allow_local_http=allow_local_http)
        response = netguard.post(target, payload, headers, timeout)
        return response.status, None, response.duration_ms
    except netguard.UnsafeUrl as exc:
        return None, f"url_refused: {exc}"[:300], (time.monotonic() - started) * 1000
    except TimeoutError:
        return None, "timeout", (time.monotonic() - started) * 1000
    except (OSError, http.client.HTTPException) as exc:
        return None, type(exc).__name__, (time.monotonic() - started) * 1000
