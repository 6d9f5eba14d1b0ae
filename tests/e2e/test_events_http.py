"""The events API over HTTP: a customer's create, update and delete arrive as events, readable with
events:read and with nothing else."""

from __future__ import annotations

import time
from typing import Any

import requests
from local_stack.receiver import Receiver


def _get(stack, key, path, **params):
    response = requests.get(f"{stack['api_url']}{path}", headers={"x-api-key": key}, params=params, timeout=10)
    return response.status_code, response.json()


def test_customer_changes_are_listed_as_events(stack, new_account):
    key = new_account("test")
    url = f"{stack['api_url']}/v1/customers"
    created = requests.post(url, headers={"x-api-key": key}, json={"name": "Ev"}, timeout=10)
    customer_id = created.json()["id"]
    updated = requests.post(f"{url}/{customer_id}", headers={"x-api-key": key, "Idempotency-Key": "k-1"},
                            json={"name": "Ev2"}, timeout=10)
    requests.delete(f"{url}/{customer_id}", headers={"x-api-key": key}, timeout=10)

    deadline = time.monotonic() + 5
    events: list[dict[str, Any]] = []
    while len(events) < 3 and time.monotonic() < deadline:
        events = _get(stack, key, "/v1/events", limit=10)[1]["data"]
        time.sleep(0.1)
    assert [e["type"] for e in events] == ["customer.deleted", "customer.updated", "customer.created"]
    assert events[1]["data"]["previous_attributes"] == {"name": "Ev"}
    assert events[1]["request"] == {"id": updated.headers["Request-Id"], "idempotency_key": "k-1"}
    assert events[2]["request"]["id"] == created.headers["Request-Id"]
    assert _get(stack, key, f"/v1/events/{events[0]['id']}") == (200, events[0])
    only_updates = _get(stack, key, "/v1/events", type="customer.updated")[1]["data"]
    assert [e["id"] for e in only_updates] == [events[1]["id"]]


def test_events_need_the_events_read_scope_and_stay_in_their_account(stack, new_account):
    key = new_account("test")
    requests.post(f"{stack['api_url']}/v1/customers", headers={"x-api-key": key}, json={}, timeout=10)
    status, body = _get(stack, new_account("test", "customers:read"), "/v1/events")
    assert status == 403 and "events:read" in body["error"]["message"]
    time.sleep(1)
    mine = _get(stack, key, "/v1/events")[1]["data"]
    assert mine
    status, body = _get(stack, stack["secret_key"], f"/v1/events/{mine[0]['id']}")
    assert status == 404 and body["error"]["code"] == "resource_missing"


def test_pending_webhooks_is_exact_on_every_read_path(stack, new_account):
    """Two endpoints, one answering 200 and one always 500: once the first has the event, the event
    says pending_webhooks 1 when listed, listed by type, paged, and retrieved — computed from its
    deliveries, which a success updates with one write."""
    key = new_account("test")
    ok, failing = Receiver(), Receiver(lambda _event_id, _nth: 500)
    try:
        for receiver in (ok, failing):
            response = requests.post(f"{stack['api_url']}/v1/webhook_endpoints", headers={"x-api-key": key},
                                     json={"url": receiver.url, "enabled_events": ["*"]}, timeout=10)
            assert response.status_code == 200, response.text
            receiver.secret = response.json()["secret"]
        for n in range(3):
            requests.post(f"{stack['api_url']}/v1/customers", headers={"x-api-key": key}, json={"name": f"P{n}"},
                          timeout=10)
        delivered = {d.event_id for d in ok.wait_for(lambda d: len({x.event_id for x in d}) >= 3, 60)}
        assert len(delivered) == 3

        def pending() -> dict[str, int]:
            return {e["id"]: e["pending_webhooks"] for e in _get(stack, key, "/v1/events", limit=10)[1]["data"]}

        deadline = time.monotonic() + 30
        while set(pending().values()) != {1} and time.monotonic() < deadline:
            time.sleep(0.1)  # the delivery is recorded just after the receiver answers
        assert pending() == dict.fromkeys(delivered, 1)
        of_type = _get(stack, key, "/v1/events", type="customer.created")[1]["data"]
        assert {e["id"]: e["pending_webhooks"] for e in of_type} == dict.fromkeys(delivered, 1)
        paged, after = [], None
        while True:
            page = _get(stack, key, "/v1/events", limit=1, **({"starting_after": after} if after else {}))[1]
            paged += [(e["id"], e["pending_webhooks"]) for e in page["data"]]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        assert sorted(paged) == sorted((event_id, 1) for event_id in delivered)
        for event_id in delivered:
            assert _get(stack, key, f"/v1/events/{event_id}")[1]["pending_webhooks"] == 1
    finally:
        ok.close()
        failing.close()
