"""api.md §10 through the local stack, with stripe-python as code ported from Stripe uses it (and plain
HTTP where the SDK has no call): the whole customer object, Stripe-Version and Stripe-Account, list and
search auto-paging both ways, Event.list with types / a wildcard / delivery_success, webhook endpoints
with api_version, real deliveries verified by stripe-python and replayed through the typed SDKs' checks
(tests/typed_sdk_checks.py), and a retry to an endpoint created after its event."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe
from customers_core.logic import api_versions
from customers_core.settings import API_VERSION

from tests import typed_sdk_checks as typed

WAIT = 60


class RawReceiver:
    """A webhook endpoint on 127.0.0.1 that keeps each delivery's raw body and headers, answering `status`."""

    def __init__(self, status: int = 200) -> None:
        self.deliveries: list[dict[str, Any]] = []
        received = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append({"body": body, "headers": {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.deliveries)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = RawReceiver()
    yield made
    made.close()


@pytest.fixture
def client(stack, new_account) -> stripe.StripeClient:
    key = new_account("test")
    made = stripe.StripeClient(key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    made.key = key  # type: ignore[attr-defined]
    return made


@pytest.fixture
def global_sdk(stack, client):
    """stripe-python's global style (stripe.Customer.list …), on the same fresh account."""
    stripe.api_key, stripe.api_base = client.key, stack["api_url"]
    yield stripe
    stripe.api_base, stripe.api_key = "https://api.stripe.com", None


def _eventually(read, predicate, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not predicate(value := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


# --- the customer object --------------------------------------------------------------------------
def test_the_whole_customer_object_reads_as_stripes(client):
    customer = client.v1.customers.create(params={
        "email": "py.ada@example.com", "name": "Ada Lovelace",
        "shipping": {"name": "Ada Lovelace", "phone": "+442079460000",
                     "address": {"line1": "12 St James's Sq", "city": "London", "country": "GB"}},
        "preferred_locales": ["en-GB", "fr"], "tax_exempt": "exempt", "business_name": "Analytical Engines Ltd.",
        "individual_name": "Augusta Ada King"})
    # The attributes the issue found missing: reading them raised AttributeError.
    assert customer.currency is None and customer.delinquent is False and customer.balance == 0
    assert customer.invoice_settings.default_payment_method is None and customer.invoice_settings.footer is None
    assert customer.default_source is None and customer.discount is None and customer.test_clock is None
    assert customer.shipping.address.city == "London" and customer.shipping.name == "Ada Lovelace"
    assert customer.preferred_locales == ["en-GB", "fr"] and customer.tax_exempt == "exempt"
    assert (customer.business_name, customer.individual_name) == ("Analytical Engines Ltd.", "Augusta Ada King")
    fetched = client.v1.customers.retrieve(customer.id)
    assert fetched.to_dict() == customer.to_dict()
    updated = client.v1.customers.update(customer.id, params={"shipping": "", "tax_exempt": "reverse"})
    assert updated.shipping is None and updated.tax_exempt == "reverse"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.update(customer.id, params={"invoice_settings": {"footer": "Thanks"}})
    assert (err.value.http_status, err.value.code, err.value.param) == (400, "parameter_unsupported",
                                                                         "invoice_settings")
    assert "billing" in err.value.user_message


def test_stripe_version_is_echoed_and_stripe_account_refused(stack, client, stack_table, new_account):
    customer = client.v1.customers.create(params={"name": "Versions"})
    assert customer.last_response.headers["Stripe-Version"] == stripe.api_version  # what the SDK sent
    url = f"{stack['api_url']}/v1/customers/{customer.id}"
    headers = {"Authorization": f"Bearer {client.key}"}
    assert requests.get(url, headers=headers, timeout=10).headers["Stripe-Version"] == API_VERSION
    pinned = requests.get(url, headers={**headers, "Stripe-Version": "2024-06-20"}, timeout=10)
    assert pinned.status_code == 200 and pinned.headers["Stripe-Version"] == "2024-06-20"
    bad = requests.get(url, headers={**headers, "Stripe-Version": "next-tuesday"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "Stripe-Version"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.create(params={"name": "Connected"}, options={"stripe_account": "acct_1Connected"})
    assert (err.value.http_status, err.value.code, err.value.param) == (400, "parameter_unsupported",
                                                                         "Stripe-Account")
    # An account's default version, answered when a request names none (a key made after it was set; one
    # made before follows once its lookup is no longer cached, within 30 s).
    api_versions.set_account_default(stack_table, new_account.account_id, "2025-03-31.basil")
    answer = requests.get(f"{stack['api_url']}/v1/customers", timeout=10,
                          headers={"Authorization": f"Bearer {new_account('test')}"})
    assert answer.status_code == 200 and answer.headers["Stripe-Version"] == "2025-03-31.basil"


# --- lists and search, both ways ------------------------------------------------------------------
def test_list_and_search_auto_paging_forwards_and_backwards(global_sdk):
    ids = [stripe.Customer.create(name=f"Walker {n}", email=f"walker{n}@example.com").id for n in range(23)]
    newest_first = list(reversed(ids))
    assert [c.id for c in stripe.Customer.list(limit=5).auto_paging_iter()] == newest_first
    # ending_before pages backwards: the customers newer than the oldest, oldest first.
    assert [c.id for c in stripe.Customer.list(limit=4, ending_before=ids[0]).auto_paging_iter()] == ids[1:]
    assert [c.id for c in stripe.Customer.search(query='name~"walker"', limit=6).auto_paging_iter()] == newest_first
    counted = stripe.Customer.search(query='name~"walker"', limit=1, expand=["total_count", "data.tax_ids"])
    assert counted["total_count"] == 23  # expanded: a field stripe-python's types do not declare


# --- events: filters and auto-paging --------------------------------------------------------------
def test_event_list_with_types_wildcard_and_delivery_success(global_sdk, receiver):
    endpoint = stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["*"], api_version="2024-06-20")
    made = [stripe.Customer.create(name=f"Evented {n}").id for n in range(6)]
    stripe.Customer.modify(made[0], name="Evented again")
    stripe.Customer.delete(made[1])
    events = _eventually(lambda: [e.id for e in stripe.Event.list(limit=100).auto_paging_iter()],
                         lambda found: len(found) == 8)
    assert len(events) == 8
    created = [e for e in stripe.Event.list(types=["customer.created"], limit=2).auto_paging_iter()]
    assert len(created) == 6 and {e.type for e in created} == {"customer.created"}
    both = [e.type for e in stripe.Event.list(types=["customer.updated", "customer.deleted"]).auto_paging_iter()]
    assert sorted(both) == ["customer.deleted", "customer.updated"]
    assert [e.id for e in stripe.Event.list(type="customer.*", limit=3).auto_paging_iter()] == events
    oldest = events[-1]
    assert [e.id for e in stripe.Event.list(type="customer.*", limit=3, ending_before=oldest).auto_paging_iter()] \
        == list(reversed(events[:-1]))
    delivered = _eventually(lambda: [e.id for e in stripe.Event.list(delivery_success=True).auto_paging_iter()],
                            lambda found: len(found) == 8)
    assert delivered == events and stripe.Event.list(delivery_success=False).data == []
    assert len(receiver.wait_for(8)) >= 8
    stripe.WebhookEndpoint.delete(endpoint.id)


def test_delivery_success_false_lists_the_events_an_endpoint_failed(global_sdk):
    failing = RawReceiver(status=500)
    try:
        endpoint = stripe.WebhookEndpoint.create(url=failing.url, enabled_events=["customer.created"])
        first = stripe.Customer.create(name="Refused")
        stripe.Customer.create(name="Also refused")
        failed = _eventually(lambda: [e.id for e in stripe.Event.list(delivery_success=False).auto_paging_iter()],
                             lambda found: len(found) == 2)
        assert len(failed) == 2 and len(failing.wait_for(2)) >= 2
        assert stripe.Event.list(delivery_success=True, type="customer.created").data == []
        assert [e.data.object.id for e in stripe.Event.list(delivery_success=False, limit=1,
                                                             starting_after=failed[0])] == [first.id]
        stripe.WebhookEndpoint.delete(endpoint.id)  # stops the retries; the failures stand
        assert [e.id for e in stripe.Event.list(delivery_success=False).auto_paging_iter()] == failed
    finally:
        failing.close()


# --- webhook endpoints with api_version, real deliveries, the typed SDKs' checks -------------------
def test_deliveries_carry_their_endpoints_version_and_pass_the_typed_sdks_checks(client, receiver):
    pinned = client.v1.webhook_endpoints.create(params={
        "url": receiver.url, "enabled_events": ["customer.created"], "api_version": typed.GO_AND_DOTNET_VERSION,
        "connect": False})
    assert pinned.api_version == typed.GO_AND_DOTNET_VERSION and pinned.application is None
    plain = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["customer.created"]})
    assert plain.api_version is None
    for n in range(3):
        client.v1.customers.create(params={"name": f"Delivered {n}"})
    deliveries = receiver.wait_for(6)
    assert len(deliveries) >= 6
    by_secret: dict[str, list[dict[str, Any]]] = {pinned.secret: [], plain.secret: []}
    for sent in deliveries:
        for secret, into in by_secret.items():
            try:
                constructed = stripe.Webhook.construct_event(sent["body"].decode(),
                                                             sent["headers"]["stripe-signature"], secret)
            except stripe.SignatureVerificationError:
                continue
            into.append({**constructed.to_dict(), "raw": sent})
    assert len(by_secret[pinned.secret]) >= 3 and len(by_secret[plain.secret]) >= 3
    for event in by_secret[pinned.secret]:
        assert event["api_version"] == pinned.api_version
        replayed = typed.go_or_dotnet_construct_event(event["raw"]["body"], event["raw"]["headers"]["stripe-signature"],
                                                      pinned.secret)
        assert replayed["api_version"] == pinned.api_version and typed.java_api_version_match(replayed)
    for event in by_secret[plain.secret]:
        assert event["api_version"] == API_VERSION  # the account's default
        with pytest.raises(typed.Refused):
            typed.go_or_dotnet_construct_event(event["raw"]["body"], event["raw"]["headers"]["stripe-signature"],
                                               plain.secret)


def test_retry_to_an_endpoint_created_after_the_event(stack, client, receiver):
    customer = client.v1.customers.create(params={"name": "Before any endpoint"})
    event_id = _eventually(lambda: [e.id for e in client.v1.events.list(params={"type": "customer.created"}).data
                                    if e.data.object.id == customer.id],
                           bool)[0]
    assert client.v1.events.retrieve(event_id).pending_webhooks == 0
    late = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["customer.created"],
                                                      "api_version": stripe.api_version})
    deletions = client.v1.webhook_endpoints.create(params={"url": receiver.url,
                                                           "enabled_events": ["customer.deleted"]})
    retry = f"{stack['api_url']}/v1/events/{event_id}/retry"
    auth = {"Authorization": f"Bearer {client.key}"}
    refused = requests.post(retry, data={"webhook_endpoint": deletions.id}, headers=auth, timeout=10)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "webhook_endpoint"
    answered = requests.post(retry, data={"webhook_endpoint": late.id}, headers=auth, timeout=10)
    assert answered.status_code == 200 and answered.json()["pending_webhooks"] == 1
    [sent] = receiver.wait_for(1)
    event = stripe.Webhook.construct_event(sent["body"].decode(), sent["headers"]["stripe-signature"], late.secret)
    assert event.id == event_id and event.api_version == stripe.api_version
    settled = _eventually(lambda: client.v1.events.retrieve(event_id).pending_webhooks, lambda n: n == 0)
    assert settled == 0
    assert json.loads(sent["body"])["data"]["object"]["id"] == customer.id
