"""Secret rotation and the delivery log end to end (api.md §11, issue 15): through the local stack's
API, stream, fan-out, SQS and delivery function to receivers on 127.0.0.1 that verify with Stripe's and
Standard Webhooks' libraries, each holding one secret only."""

from __future__ import annotations

import threading
import time

import requests
from local_stack.receiver import Receiver

from tests.e2e import test_webhooks_http as webhooks_http
from tests.e2e.test_webhooks_http import WAIT, _eventually, _ok, _register

account, receivers = webhooks_http.account, webhooks_http.receivers  # its fixtures, used here too

OVERLAP_S = 15  # long enough for a delivery to arrive within it on a loaded machine, short for the test


class Recording(Receiver):
    """The endpoint: answers as told and keeps each request's raw body and headers, so every
    delivery can be handed to receivers that each hold one secret."""

    def __init__(self, answer=None) -> None:
        super().__init__(answer)
        self.raw: list[tuple[bytes, dict[str, str]]] = []

    def _receive(self, raw: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
        with self._lock:
            self.raw.append((raw, headers))
        return super()._receive(raw, headers)


def _passes(receiver: Receiver, raw: bytes, headers: dict[str, str]) -> bool:
    """A delivery replayed to a receiver that refuses what it cannot verify with its one secret."""
    forwarded = {k: v for k, v in headers.items() if k in ("content-type", "stripe-signature", "webhook-id",
                                                             "webhook-timestamp", "webhook-signature")}
    return requests.post(receiver.url, data=raw, headers=forwarded, timeout=10).status_code == 200


def test_receivers_holding_the_old_or_the_new_secret_both_pass_during_the_overlap_and_only_new_after(account):
    endpoint_receiver = Recording()
    try:
        endpoint = _register(account, endpoint_receiver)
        status, rotated = account("POST", f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret",
                                  json={"expires_in": OVERLAP_S})
        assert status == 200 and rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
        expires_at = time.time() + OVERLAP_S
        assert "secret" not in account("GET", f"/v1/webhook_endpoints/{endpoint['id']}")[1]
        old_only = Receiver(secret=endpoint["secret"], reject_unverified=True)
        new_only = Receiver(secret=rotated["secret"], reject_unverified=True)

        _, customer = account("POST", "/v1/customers", json={"name": "Rotating"})
        endpoint_receiver.wait_for(bool, WAIT)
        raw, headers = endpoint_receiver.raw[0]
        assert int(headers["webhook-timestamp"]) < expires_at - 1, "the delivery came too late to test the overlap"
        assert headers["stripe-signature"].count(",v1=") == 2 and len(headers["webhook-signature"].split()) == 2
        assert _passes(old_only, raw, headers), "a receiver holding only the old secret refused a delivery"
        assert _passes(new_only, raw, headers), "a receiver holding only the new secret refused a delivery"

        time.sleep(max(expires_at - time.time() + 1, 0))
        account("POST", f"/v1/customers/{customer['id']}", json={"name": "Rotated"})
        got = endpoint_receiver.wait_for(lambda d: len(d) >= 2, WAIT)
        assert got[1].event_type == "customer.updated"
        raw, headers = endpoint_receiver.raw[1]
        assert headers["stripe-signature"].count("v1=") == 1 and " " not in headers["webhook-signature"]
        assert _passes(new_only, raw, headers), "the new secret does not verify after the overlap"
        assert not _passes(old_only, raw, headers), "the old secret still verifies after it expired"
        assert [d.status for d in new_only.deliveries] == [200, 200]
        assert [d.status for d in old_only.deliveries] == [200, 400]
        old_only.close()
        new_only.close()
    finally:
        endpoint_receiver.close()


def test_a_failed_delivery_is_in_the_log_with_its_attempts_and_is_re_sent(stack, account, new_account, receivers):
    healthy = threading.Event()
    receiver = receivers(lambda _event_id, _nth: 200 if healthy.is_set() else 500)
    endpoint = _register(account, receiver)
    account("POST", "/v1/customers", json={"name": "Unlucky"})
    log_path = f"/v1/webhook_endpoints/{endpoint['id']}/deliveries"

    # Failing: in the endpoint's log as failed, then dead-lettered once the (short) schedule is spent.
    failed = _eventually(lambda: account("GET", log_path, params={"status": "failed"})[1]["data"], bool)
    assert failed and failed[0]["attempts"][0]["status_code"] == 500, failed
    dead = _eventually(lambda: account("GET", log_path, params={"status": "dead_lettered"})[1]["data"], bool)
    assert len(dead) == 1, "the delivery was never dead-lettered"
    [delivery] = dead
    assert delivery["object"] == "webhook_delivery" and delivery["webhook_endpoint"] == endpoint["id"]
    attempts = delivery["attempts"]
    assert len(attempts) == 12 and {a["status_code"] for a in attempts} == {500}
    assert all(a["error"] is None and a["duration_ms"] >= 0 and a["attempted_at"] for a in attempts)
    assert all(a["next_attempt_at"] for a in attempts[:-1]) and attempts[-1]["next_attempt_at"] is None
    assert [d.status for d in receiver.deliveries] == [500] * 12
    # The event's own log says the same.
    status, by_event = account("GET", f"/v1/events/{delivery['event']}/deliveries")
    assert status == 200 and by_event["data"] == [delivery]

    # Re-sent once the endpoint is fixed: succeeded, the earlier attempts kept.
    healthy.set()
    status, event = account("POST", f"/v1/events/{delivery['event']}/retry",
                            json={"webhook_endpoint": endpoint["id"]})
    assert status == 200 and event["pending_webhooks"] == 1
    receiver.wait_for(lambda d: bool(_ok(d)), WAIT)
    done = _eventually(lambda: account("GET", log_path, params={"status": "succeeded"})[1]["data"], bool)
    assert [d["id"] for d in done] == [delivery["id"]]
    assert [a["status_code"] for a in done[0]["attempts"]] == [500] * 12 + [200]
    assert account("GET", log_path, params={"status": "dead_lettered"})[1]["data"] == []
    assert account("GET", f"/v1/events/{delivery['event']}/deliveries")[1]["data"][0]["status"] == "succeeded"

    # Scopes and isolation.
    reader = requests.get(f"{stack['api_url']}{log_path}", headers={"x-api-key": new_account("test", "webhooks:read")},
                          timeout=10)
    assert reader.status_code == 200 and [d["id"] for d in reader.json()["data"]] == [delivery["id"]]
    no_scope = requests.get(f"{stack['api_url']}{log_path}",
                            headers={"x-api-key": new_account("test", "customers:read")}, timeout=10)
    assert no_scope.status_code == 403
    for key in (stack["secret_key"], new_account("live")):  # another account; the same account's live mode
        for path in (log_path, f"/v1/events/{delivery['event']}/deliveries"):
            other = requests.get(f"{stack['api_url']}{path}", headers={"x-api-key": key}, timeout=10)
            assert other.status_code == 404 and other.json()["error"]["code"] == "resource_missing", path
