"""api.md §10, events and webhooks: API versions (the account's default on events, an endpoint's own
on what is delivered to it, checked as the typed SDKs check it), the event list's `types[]`, `type`
wildcard and `delivery_success`, a retry to one endpoint (also one created after the event), and the
webhook endpoint's `api_version`, `connect` and `application`."""

from __future__ import annotations

import json

import boto3
import pytest
import stripe
from customers_core import keys, netguard
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal.table import serialize
from customers_core.errors import InvalidRequest
from customers_core.http import validation_error
from customers_core.logic import api_versions, delivery, fanout, webhooks
from customers_core.logic.events import list_events, retrieve_event
from customers_core.logic.fanout import record_event
from customers_core.models.listing import ListEventsParams
from customers_core.models.webhooks import WebhookEndpointParams
from customers_core.settings import API_VERSION
from pydantic import ValidationError

from tests import typed_sdk_checks as typed
from tests.conftest import load_function

OWNER = Principal("acct_01JSAMPLE0000000000000000A", False,
                  frozenset({"webhooks:write", "events:read", "customers:write"}), "key_x")
CUSTOMER = "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"
GO_AND_DOTNET = typed.GO_AND_DOTNET_VERSION  # what stripe-go and Stripe.net pin (tests/typed_sdk_checks.py)
NODE_AND_PYTHON = "2026-10-28.endive"


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch):
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    monkeypatch.setattr(netguard, "resolve", resolve)
    api_versions.forget()
    delivery.forget_endpoints()
    yield
    api_versions.forget()
    delivery.forget_endpoints()


class Receiver:
    """Stands in for the network: records each POST and answers with the next scripted status."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []

    def __call__(self, target, body, headers, timeout):
        self.requests.append({"body": body, "headers": headers})
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return netguard.Response(status, 1.0)


def _endpoint(table, **fields):
    params = {"url": "https://hooks.example.com/in", "enabled_events": ["*"], **fields}
    return webhooks.create_endpoint(table, OWNER, WebhookEndpointParams.model_validate(params))


def _customer_item(n: int, **fields) -> dict:
    return {**keys.customer(OWNER.tenant, CUSTOMER), "entity": "customer", "id": CUSTOMER,
            "account_id": OWNER.account_id, "livemode": False, "created": 1795435200, "updated": 1795435200,
            "version": n, "written_ms": 1795435200000 + n, "name": f"Ada {n}", **fields}


def _record(table, n: int, kind: str) -> str:
    """customer.created / .updated / .deleted through the fan-out; the event id."""
    if kind == "created":
        record = {"eventName": "INSERT", "dynamodb": {"NewImage": serialize(_customer_item(n))}}
    elif kind == "updated":
        record = {"eventName": "MODIFY", "dynamodb": {"NewImage": serialize(_customer_item(n)),
                                                      "OldImage": serialize(_customer_item(n - 1))}}
    else:
        record = {"eventName": "MODIFY", "dynamodb": {"NewImage": serialize(_customer_item(n, deleted=True)),
                                                      "OldImage": serialize(_customer_item(n - 1))}}
    event_id = record_event(table, {**record, "eventID": f"e-{n}"}, 30)
    assert event_id is not None
    return event_id


def _queued(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    out = []
    while got := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _list(table, **query):
    return list_events(table, OWNER, ListEventsParams.model_validate(query))


def _ids(page) -> list[str]:
    return [e["id"] for e in page["data"]]


# --- webhook endpoints: api_version, connect, application ---------------------------------------
def test_an_endpoint_keeps_its_api_version_and_answers_application_null(table, webhooks_env):
    pinned = _endpoint(table, api_version=GO_AND_DOTNET, connect=False)
    assert (pinned["api_version"], pinned["application"]) == (GO_AND_DOTNET, None)
    assert webhooks.retrieve_endpoint(table, OWNER, pinned["id"])["api_version"] == GO_AND_DOTNET
    unpinned = _endpoint(table)
    assert unpinned["api_version"] is None and unpinned["application"] is None  # Stripe's null: the account's
    changed = webhooks.update_endpoint(table, OWNER, unpinned["id"],
                                       WebhookEndpointParams.model_validate({"api_version": "2024-06-20"}))
    assert changed["api_version"] == "2024-06-20"
    cleared = webhooks.update_endpoint(table, OWNER, unpinned["id"],
                                       WebhookEndpointParams.model_validate({"api_version": ""}))
    assert cleared["api_version"] is None


@pytest.mark.parametrize(("fields", "param", "code"), [
    ({"connect": True}, "connect", "parameter_unsupported"),
    ({"connect": "true"}, "connect", "parameter_unsupported"),
    ({"api_version": "latest"}, "api_version", "parameter_invalid"),
    ({"api_version": "2024-02-30x"}, "api_version", "parameter_invalid"),
])
def test_endpoint_parameters_refused(fields, param, code):
    try:
        WebhookEndpointParams.model_validate({"url": "https://hooks.example.com/in", "enabled_events": ["*"], **fields})
    except ValidationError as exc:
        error = validation_error(exc)
    except InvalidRequest as exc:
        error = exc
    else:
        raise AssertionError("accepted")
    assert (error.param, error.code) == (param, code)


# --- versions on events and deliveries ------------------------------------------------------------
def test_events_carry_the_accounts_default_and_deliveries_the_endpoints_version(table, webhooks_env, monkeypatch):
    table.put({**keys.account(OWNER.account_id), "entity": "account", "id": OWNER.account_id, "name": "x",
               "created": 1, "api_version": "2025-03-31.basil"})
    go = _endpoint(table, api_version=GO_AND_DOTNET)
    node = _endpoint(table, api_version=NODE_AND_PYTHON)
    plain = _endpoint(table)
    event_id = _record(table, 1, "created")
    assert retrieve_event(table, OWNER, event_id)["api_version"] == "2025-03-31.basil"
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    for message in _queued(webhooks_env["WEBHOOK_QUEUE_URL"]):
        assert delivery.deliver(table, message).result == "delivered"
    by_endpoint = {}
    for sent in receiver.requests:
        payload = json.loads(sent["body"])
        by_endpoint[next(e["id"] for e in (go, node, plain) if _verifies(sent, e["secret"]))] = payload
    assert by_endpoint[go["id"]]["api_version"] == GO_AND_DOTNET
    assert by_endpoint[node["id"]]["api_version"] == NODE_AND_PYTHON
    assert by_endpoint[plain["id"]]["api_version"] == "2025-03-31.basil"
    # Only the label differs (and pending_webhooks, counted as each is sent): the object is the same.
    assert len({json.dumps({**p, "api_version": None, "pending_webhooks": None}, sort_keys=True)
                for p in by_endpoint.values()}) == 1


def _verifies(sent: dict, secret: str) -> bool:
    try:
        stripe.Webhook.construct_event(sent["body"].decode(), sent["headers"]["Stripe-Signature"], secret)
    except stripe.SignatureVerificationError:
        return False
    return True


def test_a_delivery_passes_the_typed_sdks_checks_only_when_its_endpoint_pins_their_version(table, webhooks_env,
                                                                                          monkeypatch):
    pinned = _endpoint(table, api_version=GO_AND_DOTNET, enabled_events=["customer.created"])
    unpinned = _endpoint(table, enabled_events=["customer.created"])
    _record(table, 1, "created")
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    for message in _queued(webhooks_env["WEBHOOK_QUEUE_URL"]):
        delivery.deliver(table, message)
    [to_pinned] = [r for r in receiver.requests if _verifies(r, pinned["secret"])]
    [to_unpinned] = [r for r in receiver.requests if _verifies(r, unpinned["secret"])]
    event = typed.go_or_dotnet_construct_event(to_pinned["body"], to_pinned["headers"]["Stripe-Signature"],
                                               pinned["secret"])
    assert event["api_version"] == GO_AND_DOTNET == pinned["api_version"]
    assert typed.java_api_version_match(event)
    # The service's default (no release train) is refused by them, as the issue reported.
    with pytest.raises(typed.Refused, match="API version 2026-11-01"):
        typed.go_or_dotnet_construct_event(to_unpinned["body"], to_unpinned["headers"]["Stripe-Signature"],
                                           unpinned["secret"])
    assert not typed.java_api_version_match(json.loads(to_unpinned["body"]))
    with pytest.raises(typed.Refused, match="no valid signature"):
        typed.go_or_dotnet_construct_event(to_pinned["body"], to_pinned["headers"]["Stripe-Signature"],
                                           unpinned["secret"])
    assert API_VERSION == "2026-11-01"


# --- the event list's filters -------------------------------------------------------------------
@pytest.fixture
def six(table) -> dict[str, list[str]]:
    """Two of each type, oldest first: created, updated, updated, deleted, created, deleted."""
    kinds = ["created", "updated", "updated", "deleted", "created", "deleted"]
    out: dict[str, list[str]] = {"all": []}
    for n, kind in enumerate(kinds, start=1):
        event_id = _record(table, n, kind)
        out["all"].append(event_id)
        out.setdefault(kind, []).append(event_id)
    return out


def test_types_and_the_wildcard(table, six):
    newest = list(reversed(six["all"]))
    assert _ids(_list(table, types=["customer.created", "customer.deleted"])) == \
        [e for e in newest if e in six["created"] + six["deleted"]]
    assert _ids(_list(table, type="customer.*")) == newest
    assert _ids(_list(table, type="*")) == newest
    assert _ids(_list(table, types=["customer.updated"])) == list(reversed(six["updated"]))
    assert _ids(_list(table, types="customer.updated")) == list(reversed(six["updated"]))  # `types=` once
    assert _list(table, type="invoice.*")["data"] == [] and _list(table, types=["invoice.paid"])["data"] == []
    assert _ids(_list(table, types=["customer.created", "invoice.paid"])) == list(reversed(six["created"]))


def test_typed_lists_page_both_ways_like_the_whole_list(table, six):
    wanted = [e for e in reversed(six["all"]) if e not in six["updated"]]
    forwards, after = [], None
    while True:
        page = _list(table, types=["customer.created", "customer.deleted"], limit=1,
                     **({"starting_after": after} if after else {}))
        forwards += _ids(page)
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert forwards == wanted
    backwards: list[str] = []
    before = wanted[-1]
    while True:
        page = _list(table, types=["customer.created", "customer.deleted"], limit=1, ending_before=before)
        backwards = _ids(page) + backwards
        if not page["has_more"]:
            break
        before = page["data"][0]["id"]
    assert backwards == wanted[:-1]


@pytest.mark.parametrize(("query", "param"), [
    ({"type": "customer.created", "types": ["customer.updated"]}, "types"),
    ({"types": [f"customer.t{n}" for n in range(21)]}, "types"),
    ({"types": ["customer.*"]}, "types"),
    ({"type": "customer*"}, "type"),
    ({"type": "cust*mer.created"}, "type"),
    ({"delivery_success": "maybe"}, "delivery_success"),
])
def test_filters_refused(query, param):
    try:
        ListEventsParams.model_validate(query)
    except ValidationError as exc:
        error = validation_error(exc)
    except InvalidRequest as exc:
        error = exc
    else:
        raise AssertionError("accepted")
    assert error.param == param and error.status == 400


def test_delivery_success(table, webhooks_env, monkeypatch):
    endpoint = _endpoint(table)
    delivered, failing, pending = (_record(table, n, kind) for n, kind in ((1, "created"), (2, "updated"),
                                                                            (3, "updated")))
    messages = {m["event_id"]: m for m in _queued(webhooks_env["WEBHOOK_QUEUE_URL"])}
    monkeypatch.setattr(netguard, "post", Receiver(200))
    assert delivery.deliver(table, messages[delivered]).result == "delivered"
    monkeypatch.setattr(netguard, "post", Receiver(500))
    assert delivery.deliver(table, messages[failing]).result == "retry"
    # The third is still queued: neither delivered nor failed. Events without endpoints: all (none) delivered.
    webhooks.delete_endpoint(table, OWNER, endpoint["id"])
    quiet = _record(table, 4, "deleted")
    assert _ids(_list(table, delivery_success=True)) == [quiet, delivered]
    assert _ids(_list(table, delivery_success="false")) == [failing]
    assert _ids(_list(table, delivery_success=True, type="customer.updated")) == []
    assert _ids(_list(table, delivery_success=False, types=["customer.updated", "customer.created"])) == [failing]
    assert pending not in _ids(_list(table, delivery_success=True)) + _ids(_list(table, delivery_success=False))
    # Paging through the filtered list: each page full, has_more while more match.
    first = _list(table, delivery_success=True, limit=1)
    assert _ids(first) == [quiet] and first["has_more"] is True
    assert _ids(_list(table, delivery_success=True, limit=1, starting_after=quiet)) == [delivered]


def test_events_list_through_the_function(table, account, lambda_context, make_api_event):
    fn = load_function("list_events")
    event = make_api_event("GET", "/v1/events", context=account)
    event["rawQueryString"] = "types[0]=customer.created&types[1]=customer.deleted&delivery_success=true&limit=3"
    response = fn.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200, response["body"]
    event["rawQueryString"] = "type=customer.created&types[]=customer.updated"
    response = fn.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400 and json.loads(response["body"])["error"]["param"] == "types"


# --- retry to one endpoint ------------------------------------------------------------------------
def test_retry_to_an_endpoint_created_after_the_event(table, webhooks_env, monkeypatch):
    event_id = _record(table, 1, "created")  # no endpoint yet: sent nowhere
    assert retrieve_event(table, OWNER, event_id)["pending_webhooks"] == 0
    late = _endpoint(table, enabled_events=["customer.created"], api_version=NODE_AND_PYTHON)
    other = _endpoint(table, enabled_events=["customer.created"])
    answered = fanout.retry_event(table, OWNER, event_id, late["id"])
    assert answered["pending_webhooks"] == 1
    [message] = _queued(webhooks_env["WEBHOOK_QUEUE_URL"])  # to that endpoint alone
    assert message["endpoint_id"] == late["id"]
    assert retrieve_event(table, OWNER, event_id)["pending_webhooks"] == 1
    assert _ids(_list(table, delivery_success=True)) == []
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    assert delivery.deliver(table, message).result == "delivered"
    [sent] = receiver.requests
    assert _verifies(sent, late["secret"]) and json.loads(sent["body"])["api_version"] == NODE_AND_PYTHON
    assert retrieve_event(table, OWNER, event_id)["pending_webhooks"] == 0
    assert _ids(_list(table, delivery_success=True)) == [event_id]
    # Again, to the same endpoint: no second entry on the event; the other endpoint gets nothing.
    assert fanout.retry_event(table, OWNER, event_id, late["id"])["pending_webhooks"] == 1
    stored = events_dal.get_event(table, OWNER.tenant, event_id)
    assert stored is not None and stored["endpoints"] == [late["id"]]
    assert {m["endpoint_id"] for m in _queued(webhooks_env["WEBHOOK_QUEUE_URL"])} == {late["id"]}
    stored = events_dal.get_event(table, OWNER.tenant, event_id)
    assert stored is not None and other["id"] not in stored["endpoints"]


def test_retry_refuses_an_endpoint_it_cannot_send_to(table, webhooks_env):
    event_id = _record(table, 1, "created")
    deletions = _endpoint(table, enabled_events=["customer.deleted"])
    disabled = _endpoint(table)
    webhooks.update_endpoint(table, OWNER, disabled["id"], WebhookEndpointParams(disabled=True))
    stranger = Principal("acct_01JSTRANGER000000000000000", False, OWNER.scopes, "key_y")
    foreign = webhooks.create_endpoint(table, stranger, WebhookEndpointParams(url="https://hooks.example.com/x",
                                                                              enabled_events=["*"]))
    cases = [(deletions["id"], "parameter_invalid", "not subscribed to customer.created"),
             (disabled["id"], "parameter_invalid", "is disabled"),
             (foreign["id"], "resource_missing", "No such webhook endpoint"),
             ("we_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "resource_missing", "No such webhook endpoint")]
    for endpoint_id, code, words in cases:
        with pytest.raises(InvalidRequest) as err:
            fanout.retry_event(table, OWNER, event_id, endpoint_id)
        assert (err.value.param, err.value.code) == ("webhook_endpoint", code) and words in err.value.message
    assert _queued(webhooks_env["WEBHOOK_QUEUE_URL"]) == []


def test_retry_through_the_function_validates_its_body(table, account, lambda_context, make_api_event):
    fn = load_function("retry_event")
    path = "/v1/events/evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY/retry"
    for body, param in (('{"webhook_endpoint":"nope"}', "webhook_endpoint"), ('{"endpoint":"we_1"}', "endpoint")):
        event = make_api_event("POST", path, body=body, content_type="application/json", context=account,
                               path_parameters={"id": "evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY"})
        response = fn.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 400 and json.loads(response["body"])["error"]["param"] == param
