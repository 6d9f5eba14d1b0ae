"""Webhooks end to end: endpoints registered over HTTP (and with stripe-python), customer changes
through the API, the stream, the fan-out, SQS and the delivery function of the local stack, and real
receivers on 127.0.0.1 verifying every delivery with Stripe's and Standard Webhooks' libraries."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import stripe
from customers_core import keys
from customers_core.dal import webhooks as webhooks_dal
from customers_core.logic import delivery, fanout
from local_stack.receiver import Receiver
from local_stack.stack import aws_client

WAIT = 60  # seconds a test waits for something to arrive before failing (never a timing assertion)


@pytest.fixture
def account(stack, new_account):
    key = new_account("test")
    session = requests.Session()
    session.headers["x-api-key"] = key

    def call(method: str, path: str, **kwargs):
        response = session.request(method, f"{stack['api_url']}{path}", timeout=30, **kwargs)
        return response.status_code, response.json()

    call.key = key  # type: ignore[attr-defined]
    call.account_id = new_account.account_id  # type: ignore[attr-defined]
    return call


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(answer=None) -> Receiver:
        made.append(Receiver(answer))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def _register(account, receiver: Receiver, events=("*",)) -> dict:
    status, endpoint = account("POST", "/v1/webhook_endpoints", json={"url": receiver.url,
                                                                     "enabled_events": list(events)})
    assert status == 200, endpoint
    receiver.secret = endpoint["secret"]
    return endpoint


def _eventually(read, predicate, timeout: float = WAIT):
    """read() until predicate(value) holds (the sender records an attempt after the receiver answers)."""
    deadline = time.monotonic() + timeout
    while not predicate(value := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def _ok(deliveries, event_id=None):
    return [d for d in deliveries if 200 <= d.status < 300 and (event_id is None or d.event_id == event_id)]


def test_created_updated_deleted_arrive_signed_for_both_libraries(stack, account, receivers):
    receiver = receivers()
    client = stripe.StripeClient(account.key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    endpoint = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"],
                                                          "description": "all of it"})
    assert endpoint.secret is not None and endpoint.secret.startswith("whsec_") and endpoint.status == "enabled"
    receiver.secret = endpoint.secret
    _, customer = account("POST", "/v1/customers", json={"name": "Ada", "email": "ada@example.com"})
    account("POST", f"/v1/customers/{customer['id']}", json={"name": "Ada King", "metadata": {"x": "1"}})
    account("DELETE", f"/v1/customers/{customer['id']}")

    got = receiver.wait_for(lambda d: len(_ok(d)) >= 3, WAIT)
    by_type = {d.event_type: d for d in _ok(got)}
    assert set(by_type) == {"customer.created", "customer.updated", "customer.deleted"}
    assert all(d.stripe_verified and d.standard_verified for d in got)
    assert by_type["customer.updated"].body["data"]["previous_attributes"] == {"name": "Ada", "metadata": {}}
    assert by_type["customer.updated"].body["data"]["object"]["name"] == "Ada King"
    assert by_type["customer.deleted"].body["data"]["object"]["email"] == "ada@example.com"
    # Deliveries are the events the API lists; once delivered, nothing is pending.
    _, events = account("GET", "/v1/events", params={"limit": 3})
    assert {e["id"] for e in events["data"]} == {d.event_id for d in by_type.values()}
    assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id).to_dict()


def test_an_endpoint_failing_three_times_gets_the_event_on_the_fourth_attempt(stack, stack_table, account,
                                                                               receivers):
    receiver = receivers(lambda _event_id, nth: 500 if nth <= 3 else 200)
    endpoint = _register(account, receiver)
    account("POST", "/v1/customers", json={"name": "Flaky"})
    got = receiver.wait_for(lambda d: bool(_ok(d)), WAIT)
    [success] = _ok(got)
    assert [d.status for d in got if d.event_id == success.event_id] == [500, 500, 500, 200]
    assert success.nth == 4 and success.stripe_verified and success.standard_verified
    tenant = keys.tenant(account.account_id, False)
    record = _eventually(lambda: webhooks_dal.get_delivery(stack_table, tenant, success.event_id, endpoint["id"]),
                         lambda r: r.get("status") == "succeeded")
    assert (record["status"], record["attempts"], record["last_status"]) == ("succeeded", 4, 200)
    attempts = webhooks_dal.list_attempts(stack_table, tenant, success.event_id, endpoint["id"])
    assert [a["status_code"] for a in sorted(attempts, key=lambda a: a["attempt"])] == [500, 500, 500, 200]
    assert all(a["duration_ms"] >= 0 for a in attempts) and attempts[0]["next_attempt_at"]


def test_gone_disables_the_endpoint_and_it_gets_nothing_more(account, receivers):
    gone, control = receivers(lambda _e, _n: 410), receivers()
    endpoint = _register(account, gone)
    _register(account, control)
    account("POST", "/v1/customers", json={"name": "First"})
    gone.wait_for(bool, WAIT)
    status = _eventually(lambda: account("GET", f"/v1/webhook_endpoints/{endpoint['id']}")[1]["status"],
                         lambda s: s == "disabled")
    assert status == "disabled", "the endpoint was not disabled"
    _, second = account("POST", "/v1/customers", json={"name": "Second"})
    control.wait_for(lambda d: any(x.body["data"]["object"]["id"] == second["id"] for x in d), WAIT)
    assert len(gone.deliveries) == 1, "a disabled endpoint must not be called"
    # Re-enabled by its owner, it receives again.
    assert account("POST", f"/v1/webhook_endpoints/{endpoint['id']}", json={"disabled": False})[1]["status"] \
        == "enabled"


def test_an_endpoint_down_or_hung_never_delays_another(account, receivers):
    release, started = threading.Event(), threading.Event()

    def hang(_event_id, _nth):
        started.set()
        release.wait(30)
        return 200

    hung, healthy = receivers(hang), receivers()
    _register(account, hung)
    _register(account, healthy)
    status, _ = account("POST", "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/refused",
                                                              "enabled_events": ["*"]})
    assert status == 200
    account("POST", "/v1/customers", json={"name": "Busy"})
    try:
        assert started.wait(WAIT), "the hung endpoint was never called"
        got = healthy.wait_for(lambda d: bool(_ok(d)), WAIT)
        assert _ok(got), "the healthy endpoint waited for the hung one"
        assert hung.deliveries == [], "the hung endpoint answered: the ordering proves nothing"
    finally:
        release.set()


def test_retry_resends_an_event_to_its_endpoints(account, receivers):
    receiver = receivers()
    _register(account, receiver)
    account("POST", "/v1/customers", json={"name": "Again"})
    [first] = _ok(receiver.wait_for(lambda d: bool(_ok(d)), WAIT))
    status, event = account("POST", f"/v1/events/{first.event_id}/retry")
    assert status == 200 and event["id"] == first.event_id
    again = receiver.wait_for(lambda d: len(_ok(d, first.event_id)) >= 2, WAIT)
    assert [d.nth for d in _ok(again, first.event_id)] == [1, 2]
    settled = _eventually(lambda: account("GET", f"/v1/events/{first.event_id}")[1],
                          lambda e: not e["pending_webhooks"])
    assert settled["pending_webhooks"] == 0
    assert account("POST", "/v1/events/evt_01M82TFDQKSYY3P8T4H76ZJPKZ/retry")[0] == 404


def test_webhook_endpoints_over_http_scopes_isolation_and_ssrf(stack, account, new_account, receivers):
    receiver = receivers()
    endpoint = _register(account, receiver)
    status, listed = account("GET", "/v1/webhook_endpoints")
    assert status == 200 and [e["id"] for e in listed["data"]] == [endpoint["id"]] and "secret" not in listed["data"][0]
    form = requests.post(f"{stack['api_url']}/v1/webhook_endpoints/{endpoint['id']}",
                         headers={"x-api-key": account.key}, data={"metadata[team]": "crm", "description": "d"},
                         timeout=10).json()
    assert form["metadata"] == {"team": "crm"} and form["description"] == "d"
    for url in ("https://169.254.169.254/", "http://10.0.0.1/", "https://[::ffff:127.0.0.1]/", "https://127.0.0.1/"):
        status, body = account("POST", "/v1/webhook_endpoints", json={"url": url, "enabled_events": ["*"]})
        assert (status, body["error"]["param"]) == (400, "url"), url
    stranger = requests.get(f"{stack['api_url']}/v1/webhook_endpoints/{endpoint['id']}",
                            headers={"x-api-key": stack["secret_key"]}, timeout=10)  # another account
    assert stranger.status_code == 404
    reader = requests.delete(f"{stack['api_url']}/v1/webhook_endpoints/{endpoint['id']}",
                             headers={"x-api-key": new_account("test", "webhooks:read")}, timeout=10)
    assert reader.status_code == 403
    assert account("DELETE", f"/v1/webhook_endpoints/{endpoint['id']}") == \
        (200, {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True})


def test_nothing_is_lost_with_an_endpoint_failing_30_percent_of_the_time(stack, account, receivers):
    """1,000 customer changes (500 creates, 500 updates); the endpoint fails at random 30% of the time;
    every event is delivered at least once and none is dead-lettered, counted by the receiver."""
    rng, lock = random.Random(20261122), threading.Lock()

    def flaky(_event_id, _nth):
        with lock:
            return 500 if rng.random() < 0.3 else 200

    receiver = receivers(flaky)
    endpoint = _register(account, receiver)
    created: list[str] = []
    for batch in range(10):
        status, body = account("POST", "/v1/customers", json=[{"name": f"Bulk {batch}-{n}"} for n in range(50)])
        assert status == 200, body
        created += [c["id"] for c in body["data"]]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda cid: account("POST", f"/v1/customers/{cid}", json={"name": "Renamed"})[0],
                                 created))
    assert statuses == [200] * 500

    got = receiver.wait_for(lambda d: len({x.event_id for x in _ok(d)}) >= 1000, 600)
    delivered = {d.event_id for d in _ok(got)}
    kinds = Counter(d.event_type for d in _ok(got) if d.nth == min(x.nth for x in _ok(got, d.event_id)))
    failures = sum(1 for d in got if d.status >= 300)
    assert len(delivered) == 1000, f"{len(delivered)} of 1000 events delivered"
    assert kinds == Counter({"customer.created": 500, "customer.updated": 500})
    assert failures > 0, "the endpoint never failed: the test proved nothing"
    assert all(d.stripe_verified and d.standard_verified for d in got)
    sqs = aws_client("sqs", stack["sqs_endpoint"])
    dead_queue = stack["queues"]["WebhookDeadLetterQueue"]
    dead = sqs.receive_message(QueueUrl=dead_queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert not [m for m in dead if json.loads(m["Body"])["endpoint_id"] == endpoint["id"]]
    print(f"\n1,000 events: {len(got)} deliveries, {failures} answered 500, all delivered")


def _queue_empty(stack) -> bool:
    sqs = aws_client("sqs", stack["sqs_endpoint"])
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack["queues"]["WebhookDeliveryQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return all(value == "0" for value in attributes.values())


def test_a_duplicate_message_on_the_queue_sends_and_changes_nothing(stack, stack_table, account, receivers):
    receiver = receivers()
    endpoint = _register(account, receiver)
    account("POST", "/v1/customers", json={"name": "Twice"})
    [first] = _ok(receiver.wait_for(lambda d: bool(_ok(d)), WAIT))
    tenant = keys.tenant(account.account_id, False)
    settled = _eventually(lambda: webhooks_dal.get_delivery(stack_table, tenant, first.event_id, endpoint["id"]),
                          lambda r: bool(r) and r.get("status") == "succeeded")
    # SQS delivers at least once: the fan-out's message again, as its copy would arrive.
    duplicate = fanout.delivery_message({"id": first.event_id, "account_id": account.account_id, "livemode": False},
                                        endpoint["id"])
    aws_client("sqs", stack["sqs_endpoint"]).send_message(QueueUrl=stack["queues"]["WebhookDeliveryQueue"],
                                                          MessageBody=duplicate)
    assert _eventually(lambda: _queue_empty(stack), bool), "the duplicate was never taken off the queue"
    after = webhooks_dal.get_delivery(stack_table, tenant, first.event_id, endpoint["id"])
    assert after is not None
    assert len(receiver.deliveries) == 1 and after["attempts_log"] == settled["attempts_log"]
    assert account("GET", f"/v1/events/{first.event_id}")[1]["pending_webhooks"] == 0


def test_an_endpoint_disabled_over_the_api_stops_getting_retries_within_the_cache_window(stack, stack_table,
                                                                                        account, receivers):
    """Retries already queued for an endpoint that is then disabled: the delivery function sees the
    change within its endpoint cache's lifetime and skips the rest."""
    receiver = receivers(lambda _e, _n: 500)
    endpoint = _register(account, receiver)
    account("POST", "/v1/customers", json={"name": "Disabled mid-schedule"})
    [first] = receiver.wait_for(bool, WAIT)[:1]
    assert account("POST", f"/v1/webhook_endpoints/{endpoint['id']}", json={"disabled": True})[1]["status"] == \
        "disabled"
    disabled_at = time.time()
    tenant = keys.tenant(account.account_id, False)
    record = _eventually(lambda: webhooks_dal.get_delivery(stack_table, tenant, first.event_id, endpoint["id"]),
                         lambda r: bool(r) and r.get("status") in ("skipped", "dead_lettered"), WAIT)
    late = [d for d in receiver.deliveries if d.received_at > disabled_at + delivery.ENDPOINT_CACHE_SECONDS + 2]
    assert late == [], f"{len(late)} attempts reached the endpoint after it was disabled"
    if record["status"] == "skipped":
        assert record["reason"] == "endpoint_disabled"
