"""Webhook endpoints, signatures, the SSRF guard and the delivery decisions, over moto (DynamoDB, KMS,
SQS) with the network replaced by a recorder."""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import standardwebhooks
import stripe
from benchmarks.cost_model import item_size
from botocore.exceptions import ClientError
from customers_core import keys, netguard, secretbox, signing
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import Table, serialize
from customers_core.errors import ApiError, InvalidRequest, ResourceMissing
from customers_core.logic import delivery, fanout, webhooks
from customers_core.logic.events import event_object, list_events, retrieve_event
from customers_core.logic.fanout import record_event
from customers_core.models.listing import ListEventsParams
from customers_core.models.webhooks import ListWebhookEndpointsParams, WebhookEndpointParams
from customers_core.settings import Settings

from tests.conftest import load_event, load_function

OWNER = Principal("acct_01JSAMPLE0000000000000000A", False, frozenset({"webhooks:write"}), "key_x")
PUBLIC = {"hooks.example.com": ["93.184.215.14"], "internal.example.com": ["10.1.2.3"],
          "mixed.example.com": ["93.184.215.14", "192.168.0.7"]}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str, port: int) -> list[str]:
        if host not in PUBLIC:
            raise netguard.UnsafeUrl(f"The host '{host}' could not be resolved.")
        return PUBLIC[host]

    monkeypatch.setattr(netguard, "resolve", resolve)


class Receiver:
    """Stands in for the network: records each POST and answers with the next scripted status."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []

    def __call__(self, target, body, headers, timeout):
        self.requests.append({"target": target, "body": body, "headers": headers, "timeout": timeout})
        outcome = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(outcome, Exception):
            raise outcome
        return netguard.Response(outcome, 12.5)


def _create(table, **fields):
    params = {"url": "https://hooks.example.com/in", "enabled_events": ["*"], **fields}
    return webhooks.create_endpoint(table, OWNER, WebhookEndpointParams.model_validate(params))


# --- signatures ---------------------------------------------------------------------------------
def test_both_official_libraries_verify_our_signatures():
    secret = signing.new_secret()
    body = json.dumps({"id": "evt_1", "object": "event", "type": "customer.created"}).encode()
    now = int(time.time())
    headers = signing.signature_headers(secret, "evt_1", now, body)
    assert stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], secret)["id"] == "evt_1"
    assert standardwebhooks.Webhook(secret).verify(body, headers)["id"] == "evt_1"
    tampered = body.replace(b"created", b"deleted")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered.decode(), headers["Stripe-Signature"], secret)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(tampered, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.new_secret()).verify(body, headers)


def test_secrets_are_fresh_32_random_bytes():
    a, b = signing.new_secret(), signing.new_secret()
    assert a != b and a.startswith("whsec_") and len(__import__("base64").b64decode(a[6:])) == 32


# --- the SSRF guard -----------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data", "https://127.0.0.1/", "https://[::1]/", "https://0.0.0.0/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:a9fe:a9fe]/", "https://10.0.0.1/", "https://172.16.5.4/",
    "https://192.168.1.1/", "https://100.64.0.1/", "https://198.18.0.1/", "https://240.0.0.1/",
    "https://224.0.0.1/", "https://[fe80::1]/", "https://[fc00::1]/", "https://[2002:a00:1::]/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://internal.example.com/", "https://mixed.example.com/",
    "http://hooks.example.com/", "ftp://hooks.example.com/", "https://user:pw@hooks.example.com/",
    "https://nowhere.invalid/", "https:///nohost", "https://hooks.example.com:99999/", "javascript:alert(1)",
])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(netguard.UnsafeUrl):
        netguard.check_url(url)


@pytest.mark.parametrize("url", ["https://hooks.example.com/in?x=1", "https://8.8.8.8/", "https://[2606:4700::1111]/"])
def test_public_https_urls_pass(url):
    target = netguard.check_url(url)
    assert target.scheme == "https" and target.addresses


def test_only_the_local_flag_admits_http_127_0_0_1_and_nothing_else():
    with pytest.raises(netguard.UnsafeUrl):
        netguard.check_url("http://127.0.0.1:8080/hook")
    assert netguard.check_url("http://127.0.0.1:8080/hook", allow_local_http=True).addresses == ("127.0.0.1",)
    for url in ("http://10.0.0.1/", "http://localhost:8080/", "http://hooks.example.com/", "https://[::1]/"):
        with pytest.raises(netguard.UnsafeUrl):
            netguard.check_url(url, allow_local_http=True)


# --- endpoints ----------------------------------------------------------------------------------
def test_create_shows_the_secret_once_and_stores_it_encrypted(table, webhooks_env):
    created = _create(table, description="CRM", metadata={"team": "crm"})
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["status"] == "enabled" and created["id"].startswith("we_")
    assert "secret" not in webhooks.retrieve_endpoint(table, OWNER, created["id"])
    listed = webhooks.list_endpoints(table, OWNER, ListWebhookEndpointsParams())
    assert "secret" not in json.dumps(listed)
    raw = json.dumps(boto3.client("dynamodb").scan(TableName=table.name)["Items"])
    assert secret not in raw and secret[6:] not in raw, "the secret is stored in clear"


def test_update_merges_metadata_toggles_disabled_and_rechecks_the_url(table, webhooks_env):
    created = _create(table, metadata={"a": "1", "b": "2"})
    updated = webhooks.update_endpoint(table, OWNER, created["id"], WebhookEndpointParams.model_validate(
        {"metadata": {"b": "", "c": "3"}, "enabled_events": ["customer.deleted"], "disabled": True}))
    assert updated["metadata"] == {"a": "1", "c": "3"} and updated["status"] == "disabled"
    assert updated["enabled_events"] == ["customer.deleted"] and updated["url"] == created["url"]
    again = webhooks.update_endpoint(table, OWNER, created["id"], WebhookEndpointParams(disabled=False))
    assert again["status"] == "enabled"
    with pytest.raises(InvalidRequest) as err:
        webhooks.update_endpoint(table, OWNER, created["id"], WebhookEndpointParams(url="https://internal.example.com/x"))
    assert err.value.param == "url"
    assert webhooks.retrieve_endpoint(table, OWNER, created["id"])["url"] == created["url"]


@pytest.mark.parametrize(("body", "param"), [
    ({"enabled_events": ["*"]}, "url"),
    ({"url": "https://hooks.example.com/"}, "enabled_events"),
    ({"url": "https://hooks.example.com/", "enabled_events": ["customer.exploded"]}, "enabled_events"),
    ({"url": "https://hooks.example.com/", "enabled_events": ["*", "*"]}, "enabled_events"),
    ({"url": "https://hooks.example.com/", "enabled_events": []}, "enabled_events"),
    ({"url": "http://hooks.example.com/", "enabled_events": ["*"]}, "url"),
    ({"url": "https://10.0.0.1/", "enabled_events": ["*"]}, "url"),
    ({"url": "https://hooks.example.com/", "enabled_events": ["*"], "colour": "red"}, "colour"),
    ({"url": "https://hooks.example.com/", "enabled_events": ["*"], "disabled": True}, "disabled"),
    ({"url": "https://hooks.example.com/", "enabled_events": ["*"], "metadata": {"k": 5}}, "metadata"),
])
def test_bad_endpoint_params_are_400_naming_the_param(make_api_event, lambda_context, account, body, param):
    fn = load_function("create_webhook_endpoint")
    response = fn.lambda_handler(make_api_event("POST", "/v1/webhook_endpoints", body=json.dumps(body),
                                                content_type="application/json", context=account), lambda_context)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"]["param"].startswith(param)  # Stripe names the item: x[0]


def test_endpoints_are_isolated_limited_and_listed_newest_first(table, webhooks_env):
    made = [_create(table)["id"] for _ in range(16)]
    with pytest.raises(InvalidRequest) as err:
        _create(table)
    assert err.value.code == "resource_limit_exceeded"
    page = webhooks.list_endpoints(table, OWNER, ListWebhookEndpointsParams(limit=10))
    assert [e["id"] for e in page["data"]] == made[::-1][:10] and page["has_more"]
    rest = webhooks.list_endpoints(table, OWNER, ListWebhookEndpointsParams(starting_after=page["data"][-1]["id"]))
    assert [e["id"] for e in rest["data"]] == made[::-1][10:] and not rest["has_more"]
    back = webhooks.list_endpoints(table, OWNER, ListWebhookEndpointsParams(ending_before=made[5], limit=3))
    assert [e["id"] for e in back["data"]] == made[8:5:-1]
    for who in (Principal("acct_01JSTRANGER000000000000000", False, OWNER.scopes, "k"),
                Principal(OWNER.account_id, True, OWNER.scopes, "k")):
        assert webhooks.list_endpoints(table, who, ListWebhookEndpointsParams())["data"] == []
        for action in (webhooks.retrieve_endpoint, webhooks.delete_endpoint):
            with pytest.raises(ResourceMissing):
                action(table, who, made[0])
    assert webhooks.delete_endpoint(table, OWNER, made[0]) == {"id": made[0], "object": "webhook_endpoint",
                                                                "deleted": True}
    with pytest.raises(ResourceMissing):
        webhooks.retrieve_endpoint(table, OWNER, made[0])


def test_scopes_webhooks_read_and_write(make_api_event, lambda_context, account):
    reader = {**account, "scopes": "webhooks:read"}
    create = load_function("create_webhook_endpoint").lambda_handler(make_api_event(
        "POST", "/v1/webhook_endpoints", body='{"url":"https://hooks.example.com/","enabled_events":["*"]}',
        content_type="application/json", context=reader), lambda_context)
    assert create["statusCode"] == 403 and "webhooks:write" in json.loads(create["body"])["error"]["message"]
    listing = load_function("list_webhook_endpoints").lambda_handler(
        make_api_event("GET", "/v1/webhook_endpoints", context={**account, "scopes": "customers:read"}),
        lambda_context)
    assert listing["statusCode"] == 403


# --- fan-out and delivery decisions -------------------------------------------------------------
@pytest.fixture
def routed(table, webhooks_env):
    """One endpoint for everything and one for deletions only, then the sample's created and updated
    records fanned out: the 'everything' endpoint gets both, the other none."""
    everything = _create(table)
    _create(table, enabled_events=["customer.deleted"])
    event_ids = [record_event(table, r, 30) for r in load_event("stream_fanout")["Records"]]
    return {"endpoint": everything, "events": event_ids, **webhooks_env}


def _queued(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    out: list[dict] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_fan_out_queues_one_message_per_matching_endpoint_once(table, routed):
    messages = _queued(routed["WEBHOOK_QUEUE_URL"])
    assert sorted(m["event_id"] for m in messages) == sorted(routed["events"])
    assert {m["endpoint_id"] for m in messages} == {routed["endpoint"]["id"]}
    assert all(m["attempt"] == 1 for m in messages)
    for record in load_event("stream_fanout")["Records"]:  # the stream re-delivers the batch
        record_event(table, record, 30)
    assert _queued(routed["WEBHOOK_QUEUE_URL"]) == []
    stored = events_dal.get_event(table, OWNER.tenant, routed["events"][0])
    assert stored is not None
    assert event_object(stored)["pending_webhooks"] == 1


def test_success_is_recorded_and_settles_pending_webhooks_once(table, routed, monkeypatch):
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    message = _queued(routed["WEBHOOK_QUEUE_URL"])[0]
    assert delivery.deliver(table, message).result == "delivered"
    # SQS may deliver a message twice: the duplicate sends nothing and counts nothing.
    assert delivery.deliver(table, message).result == "already_delivered" and len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert sent["target"].addresses == ("93.184.215.14",) and sent["timeout"] == 10
    payload = stripe.Webhook.construct_event(sent["body"].decode(), sent["headers"]["Stripe-Signature"],
                                             routed["endpoint"]["secret"])
    assert payload["id"] == message["event_id"]
    event = events_dal.get_event(table, OWNER.tenant, message["event_id"])
    assert event is not None
    assert event_object(event)["pending_webhooks"] == 0, "a duplicate success must not count twice"
    attempts = webhooks_dal.list_attempts(table, OWNER.tenant, message["event_id"], message["endpoint_id"])
    assert [(a["attempt"], a["status_code"], a["succeeded"]) for a in attempts] == [(1, 200, True)]
    record = webhooks_dal.get_delivery(table, OWNER.tenant, message["event_id"], message["endpoint_id"])
    assert record is not None and record["status"] == "succeeded"


def test_failures_follow_the_schedule_with_jitter_then_dead_letter(table, routed, monkeypatch):
    receiver = Receiver(500)
    monkeypatch.setattr(netguard, "post", receiver)
    schedule = Settings(table_name="xyz").webhook_retry_schedule
    assert schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    message = _queued(routed["WEBHOOK_QUEUE_URL"])[0]
    now = time.time()
    for attempt in range(1, len(schedule)):
        outcome = delivery.deliver(table, message, now=now)
        assert outcome.result == "retry" and outcome.retry is not None
        assert schedule[attempt] * 0.9 <= outcome.delay <= schedule[attempt] * 1.1
        message = json.loads(outcome.retry)
        assert message["attempt"] == attempt + 1 and message["not_before"] == pytest.approx(now + outcome.delay)
        assert delivery.deliver(table, message, now=now).wait == pytest.approx(outcome.delay)  # not due yet
        now = message["not_before"]
    last = delivery.deliver(table, message, now=now)
    assert last.result == "dead_lettered" and last.dead_letter is not None
    assert json.loads(last.dead_letter)["previous_attempts"] == len(schedule)
    assert len(receiver.requests) == len(schedule)
    record = webhooks_dal.get_delivery(table, OWNER.tenant, message["event_id"], message["endpoint_id"])
    assert record is not None
    assert (record["status"], record["attempts"], record["last_status"]) == ("dead_lettered", 8, 500)
    # Kept, and re-sendable: retry re-queues it with a fresh schedule.
    retried = fanout.retry_event(table, OWNER, message["event_id"])
    assert retried["pending_webhooks"] == 1
    assert [m["attempt"] for m in _queued(routed["WEBHOOK_QUEUE_URL"])] == [1]


def test_gone_disables_at_once_and_failing_for_days_disables(table, routed, monkeypatch):
    monkeypatch.setattr(netguard, "post", Receiver(410))
    messages = _queued(routed["WEBHOOK_QUEUE_URL"])
    assert delivery.deliver(table, messages[0]).result == "disabled_gone"
    assert webhooks.retrieve_endpoint(table, OWNER, routed["endpoint"]["id"])["status"] == "disabled"
    assert delivery.deliver(table, messages[1]).result == "endpoint_disabled"  # skipped from now on

    second = _create(table)
    record_event(table, {**load_event("stream_fanout")["Records"][0], "eventID": "another-record"}, 30)
    message = next(m for m in _queued(routed["WEBHOOK_QUEUE_URL"]) if m["endpoint_id"] == second["id"])
    monkeypatch.setattr(netguard, "post", Receiver(TimeoutError("timed out")))
    start = time.time()
    assert delivery.deliver(table, message, now=start).result == "retry"
    three_days = start + 3 * 86400
    assert delivery.deliver(table, {**message, "attempt": 2}, now=three_days).result == "disabled_failing"
    assert webhooks.retrieve_endpoint(table, OWNER, second["id"])["status"] == "disabled"


def test_a_success_ends_a_failure_streak(table, routed, monkeypatch):
    messages = _queued(routed["WEBHOOK_QUEUE_URL"])
    monkeypatch.setattr(netguard, "post", Receiver(503))
    delivery.deliver(table, messages[0])
    endpoint = webhooks_dal.get_endpoint(table, OWNER.tenant, routed["endpoint"]["id"])
    assert endpoint is not None and endpoint["failing_since"]
    monkeypatch.setattr(netguard, "post", Receiver(204))
    assert delivery.deliver(table, messages[1]).result == "delivered"
    endpoint = webhooks_dal.get_endpoint(table, OWNER.tenant, routed["endpoint"]["id"])
    assert endpoint is not None and "failing_since" not in endpoint


def test_dns_rebinding_to_a_private_address_is_refused_at_delivery(table, routed, monkeypatch):
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    PUBLIC_BEFORE = dict(PUBLIC)
    try:
        PUBLIC["hooks.example.com"] = ["169.254.169.254"]
        outcome = delivery.deliver(table, _queued(routed["WEBHOOK_QUEUE_URL"])[0])
    finally:
        PUBLIC.update(PUBLIC_BEFORE)
    assert outcome.result == "retry" and receiver.requests == []


def test_delivery_function_acts_on_sqs(table, routed, monkeypatch, lambda_context, capsys):
    """The handler sends retries and dead letters, and hides not-yet-due messages (partial failure)."""
    monkeypatch.setattr(netguard, "post", Receiver(500))
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0,30")
    from tests.conftest import clear_caches

    clear_caches()
    sqs = boto3.client("sqs")
    queue = routed["WEBHOOK_QUEUE_URL"]
    fn = load_function("webhook_delivery")

    def run_once() -> tuple[dict, list[dict]]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": m.get("Attributes", {}), "eventSource": "aws:sqs"} for m in got]}
        result = fn.lambda_handler(event, lambda_context)
        done = {m["MessageId"] for m in got} - {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for m in got:
            if m["MessageId"] in done:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return result, got

    capsys.readouterr()
    result, got = run_once()
    assert len(got) == 2 and result == {"batchItemFailures": []}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(m["WebhookDeliveryAttempts"], m["WebhookDeliveryFailures"]) for m in emf] == [([2.0], [2.0])]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CustomersApi/test"
    delayed = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert delayed["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "2"  # the two retries, due in ~30 s
    # The last attempt's failure goes to the dead-letter queue.
    for event_id in routed["events"]:
        stored = events_dal.get_event(table, OWNER.tenant, event_id)
        assert stored is not None
        sqs.send_message(QueueUrl=queue, MessageBody=fanout.delivery_message(stored, routed["endpoint"]["id"], 2))
    result, got = run_once()
    assert result == {"batchItemFailures": []}
    dead = _queued(routed["WEBHOOK_DEAD_LETTER_QUEUE_URL"])
    assert sorted(d["event_id"] for d in dead) == sorted(routed["events"]) and all(d["attempt"] == 1 for d in dead)
    # A message not due yet stays on the queue, hidden until it is.
    stored = events_dal.get_event(table, OWNER.tenant, routed["events"][0])
    assert stored is not None
    sqs.send_message(QueueUrl=queue, MessageBody=fanout.delivery_message(stored, routed["endpoint"]["id"], 2,
                                                                         time.time() + 600))
    result, got = run_once()
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [got[0]["MessageId"]]


def test_retry_schedule_setting_is_validated():
    # The setting's text form, as WEBHOOK_RETRY_SCHEDULE gives it: parsed by a before-validator.
    schedule = Settings(table_name="xyz", webhook_retry_schedule="0,1.5,2")  # type: ignore[arg-type]
    assert schedule.webhook_retry_schedule == (0, 1.5, 2)
    for bad in ("", "a,b", "-1", "50000"):
        with pytest.raises(ValueError):
            Settings(table_name="xyz", webhook_retry_schedule=bad)  # type: ignore[arg-type]


def test_api_error_for_unknown_endpoint_id_shape(table, webhooks_env):
    with pytest.raises(ApiError) as err:
        webhooks.retrieve_endpoint(table, OWNER, "not-an-id")
    assert err.value.status == 404 and err.value.param == "id"


def test_a_retry_request_sends_again_but_a_duplicate_does_not(table, routed, monkeypatch):
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    original = _queued(routed["WEBHOOK_QUEUE_URL"])[0]
    # The original attempt starts, the retry request lands, then the attempt settles (a real race).
    attempt_started = time.time()
    fanout.retry_event(table, OWNER, original["event_id"])
    assert delivery.deliver(table, original, now=attempt_started).result == "delivered"
    [resent] = [m for m in _queued(routed["WEBHOOK_QUEUE_URL"]) if m["event_id"] == original["event_id"]]
    assert delivery.deliver(table, resent).result == "delivered"
    assert delivery.deliver(table, original).result == "already_delivered"
    assert len(receiver.requests) == 2
    event = events_dal.get_event(table, OWNER.tenant, original["event_id"])
    assert event is not None
    assert event_object(event)["pending_webhooks"] == 0 and event["pending_webhooks"] == 0


# --- what an attempt costs, duplicates, caches -------------------------------------------------
WRITE_CALLS = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


class CountingClient:
    """The DynamoDB client, counting calls by operation and keeping each PutItem's item, so a test can
    count writes and the write units DynamoDB bills for them (per started KB of the item, and again in
    gsi1 when the item carries gsi1 keys)."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()
        self.puts: list[dict] = []

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(**kwargs):
            self.calls[name] += 1
            if name == "put_item":
                self.puts.append(kwargs["Item"])
            return attr(**kwargs)

        return call

    def writes(self) -> int:
        return sum(self.calls[name] for name in WRITE_CALLS)

    def put_units(self) -> int:
        return sum(units(item) for item in self.puts)

    def reset(self) -> None:
        self.calls.clear()
        self.puts.clear()


def units(item: dict) -> int:
    """Write units of putting a (serialized) item: per started KB, doubled by its gsi1 copy."""
    return -(-item_size(item) // 1024) * (2 if "gsi1pk" in item else 1)


def counting(table: Table) -> tuple[Table, CountingClient]:
    client = CountingClient(table.client)
    return Table(table.name, client), client


@pytest.fixture(autouse=True)
def _fresh_endpoint_cache():
    delivery.forget_endpoints()
    yield
    delivery.forget_endpoints()


def test_an_attempt_is_one_query_and_one_write_of_under_a_kilobyte(table, routed, monkeypatch):
    monkeypatch.setattr(netguard, "post", Receiver(200))
    counted, client = counting(table)
    first, second = _queued(routed["WEBHOOK_QUEUE_URL"])
    assert delivery.deliver(counted, first).result == "delivered"
    # A cold environment reads the endpoint once (then caches it); the success is one write.
    assert client.calls == Counter({"query": 1, "get_item": 1, "put_item": 1})
    client.reset()
    assert delivery.deliver(counted, second).result == "delivered"
    assert client.calls == Counter({"query": 1, "put_item": 1}), "a success: one read, one write"
    [written] = client.puts
    # One write unit in the table and one in gsi1 (the endpoint's delivery log): the item is under 1 KB.
    assert written["sk"]["S"].endswith(f"#DLV#{second['endpoint_id']}") and units(written) == 2
    # The read: the event and its deliveries in one Query, well under 4 KB (one read unit).
    collection = table.query_page(keys.events_partition(OWNER.tenant), lower=second["event_id"],
                                  upper=keys.event_collection_end(second["event_id"]))[0]
    assert len(collection) == 2 and sum(item_size(serialize(i)) for i in collection) < 4096


def test_a_whole_failing_schedule_is_one_write_per_attempt_and_its_log_fits_one_unit(table, routed, monkeypatch):
    monkeypatch.setattr(netguard, "post", Receiver(TimeoutError("timed out")))
    counted, client = counting(table)
    message = _queued(routed["WEBHOOK_QUEUE_URL"])[0]
    now = time.time()
    per_attempt = []
    for _ in range(8):
        client.reset()
        outcome = delivery.deliver(counted, message, now=now)
        per_attempt.append((client.writes(), [units(i) for i in client.puts]))
        if outcome.retry is None:
            break
        message, now = json.loads(outcome.retry), json.loads(outcome.retry)["not_before"]
    assert outcome.result == "dead_lettered"
    # The first failure also starts the endpoint's failure streak (one UpdateItem); then one write each.
    # Each put is under 1 KB: a unit in the table and one in gsi1 (the endpoint's delivery log).
    assert per_attempt == [(2, [2])] + [(1, [2])] * 7
    record = webhooks_dal.get_delivery(table, OWNER.tenant, message["event_id"], message["endpoint_id"])
    assert record is not None
    assert [a["attempt"] for a in record["attempts_log"]] == list(range(1, 9))
    assert all(a["error"] == "timeout" and a["duration_ms"] >= 0 for a in record["attempts_log"])
    assert record["attempts_log"][0]["next_attempt_at"] and record["attempts_log"][-1]["next_attempt_at"] is None


def test_a_duplicate_message_changes_nothing_even_when_both_copies_post(table, webhooks_env, monkeypatch):
    """Two endpoints; endpoint A's message arrives twice one after the other, endpoint B's twice at
    once (both copies read the delivery before either writes): pending_webhooks goes 2 → 1 → 0, never
    below, on every path of the events API, and a failing duplicate schedules no second retry."""
    a, b = _create(table), _create(table)
    [event_id] = [record_event(table, load_event("stream_fanout")["Records"][0], 30)]
    assert event_id is not None
    messages = {m["endpoint_id"]: m for m in _queued(webhooks_env["WEBHOOK_QUEUE_URL"])}
    reader = Principal(OWNER.account_id, False, frozenset({"events:read"}), "k")

    def pending() -> set[int]:
        listed = list_events(table, reader, ListEventsParams())["data"]
        of_type = list_events(table, reader, ListEventsParams(type="customer.created"))["data"]
        return {retrieve_event(table, reader, event_id)["pending_webhooks"],
                *(e["pending_webhooks"] for e in listed + of_type if e["id"] == event_id)}

    assert pending() == {2}
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    assert delivery.deliver(table, messages[a["id"]]).result == "delivered"
    assert delivery.deliver(table, messages[a["id"]]).result == "already_delivered"
    assert pending() == {1} and len(receiver.requests) == 1

    # B: a failing attempt and its concurrent copy. The copy read the delivery before the first wrote.
    monkeypatch.setattr(netguard, "post", Receiver(500))
    stale = events_dal.get_event_and_deliveries(table, OWNER.tenant, event_id)
    first = delivery.deliver(table, messages[b["id"]])
    real_read = events_dal.get_event_and_deliveries
    monkeypatch.setattr(events_dal, "get_event_and_deliveries", lambda *_args: stale)
    copy = delivery.deliver(table, dict(messages[b["id"]]))
    monkeypatch.setattr(events_dal, "get_event_and_deliveries", real_read)
    assert (first.result, copy.result) == ("retry", "failed") and copy.retry is None
    assert delivery.deliver(table, messages[b["id"]]).result == "duplicate"  # a later copy sends nothing
    record = webhooks_dal.get_delivery(table, OWNER.tenant, event_id, b["id"])
    assert record is not None
    assert (record["status"], record["attempts"], len(record["attempts_log"])) == ("retrying", 1, 2)

    # B's retry succeeds, twice at once: one success, counted once.
    monkeypatch.setattr(netguard, "post", Receiver(200))
    assert first.retry is not None
    retry = json.loads(first.retry)
    stale = events_dal.get_event_and_deliveries(table, OWNER.tenant, event_id)
    assert delivery.deliver(table, retry, now=retry["not_before"]).result == "delivered"
    monkeypatch.setattr(events_dal, "get_event_and_deliveries", lambda *_args: stale)
    assert delivery.deliver(table, dict(retry), now=retry["not_before"]).result == "delivered"
    monkeypatch.setattr(events_dal, "get_event_and_deliveries", real_read)
    assert delivery.deliver(table, retry, now=retry["not_before"]).result == "already_delivered"
    assert pending() == {0}
    record = webhooks_dal.get_delivery(table, OWNER.tenant, event_id, b["id"])
    assert record is not None
    assert (record["status"], record["attempts"]) == ("succeeded", 2)
    assert [(x["attempt"], x["succeeded"]) for x in record["attempts_log"]] == [(1, False), (1, False), (2, True),
                                                                                (2, True)]
    # A retry request counts both again until they succeed again.
    assert fanout.retry_event(table, OWNER, event_id)["pending_webhooks"] == 2 and pending() == {2}


def test_a_redelivered_record_makes_no_second_event_and_resends_only_what_was_not_sent(table, webhooks_env,
                                                                                       monkeypatch):
    a, b = _create(table), _create(table)
    counted, client = counting(table)
    record = load_event("stream_fanout")["Records"][0]
    queue = webhooks_env["WEBHOOK_QUEUE_URL"]
    real_send, real_mark = fanout.send_messages, events_dal.mark_sent

    def fails(*_args, **_kwargs):
        raise RuntimeError("SQS is down")

    # 1. The event is written, then sending fails: the record fails (the stream retries it).
    monkeypatch.setattr(fanout, "send_messages", fails)
    with pytest.raises(RuntimeError):
        record_event(counted, record, 30)
    assert _queued(queue) == [] and len(events_dal.list_events(table, OWNER.tenant)) == 1
    # 2. Retried: no second event (the conditional put fails), both messages sent, then the marker.
    monkeypatch.setattr(fanout, "send_messages", real_send)
    client.reset()
    event_id = record_event(counted, record, 30)
    assert sorted(m["endpoint_id"] for m in _queued(queue)) == sorted([a["id"], b["id"]])
    # The customer's reference to the event (put again, unchanged), the failed put, the marker.
    assert client.writes() == 3 and len(events_dal.list_events(table, OWNER.tenant)) == 1
    # 3. Retried again: the marker says all was sent — nothing is written or sent.
    client.reset()
    assert record_event(counted, record, 30) == event_id
    assert _queued(queue) == [] and client.calls["put_item"] == 2 and client.writes() == 2  # reference, failed put

    # 4. Another record: sent, then the try dies before the marker; A's message was delivered meanwhile.
    other = {**record, "eventID": "another-try"}
    monkeypatch.setattr(events_dal, "mark_sent", fails)
    with pytest.raises(RuntimeError):
        record_event(table, other, 30)
    monkeypatch.setattr(events_dal, "mark_sent", real_mark)
    first_sent = {m["endpoint_id"]: m for m in _queued(queue)}
    monkeypatch.setattr(netguard, "post", Receiver(200))
    assert delivery.deliver(table, first_sent[a["id"]]).result == "delivered"
    second_id = record_event(table, other, 30)
    assert second_id is not None
    [again] = _queued(queue)  # only B, which has no delivery yet, is sent again
    assert again["endpoint_id"] == b["id"] and again["event_id"] == second_id
    # Both of B's messages arrive: the second one is a duplicate and changes nothing.
    assert delivery.deliver(table, first_sent[b["id"]]).result == "delivered"
    assert delivery.deliver(table, again).result == "already_delivered"
    stored = events_dal.get_event(table, OWNER.tenant, second_id)
    assert stored is not None and stored["pending_webhooks"] == 0
    assert record_event(table, other, 30) == second_id and _queued(queue) == []


def test_an_event_is_one_put_of_under_a_kilobyte_plus_its_gsi_copy_and_a_marker(table, webhooks_env):
    _create(table)
    counted, client = counting(table)
    for record in load_event("stream_fanout")["Records"]:
        client.reset()
        record_event(counted, record, 30)
        assert "transact_write_items" not in client.calls and "update_item" not in client.calls
        reference, event_item, marker = client.puts  # the customer's reference first (logic.data_rights)
        assert "gsi1pk" in event_item and item_size(event_item) <= 1024, item_size(event_item)
        # 1 in the table + 1 in gsi1, the marker, and the reference
        assert [units(event_item), units(marker), units(reference)] == [2, 1, 1]
    # Without a matching endpoint there is nothing to send and no marker: 3 units with the reference.
    webhooks_dal.disable_endpoint(table, OWNER.tenant, webhooks_dal.list_endpoints(table, OWNER.tenant)[0]["id"],
                                  "test")
    client.reset()
    record_event(counted, {**load_event("stream_fanout")["Records"][0], "eventID": "no-endpoint"}, 30)
    assert [units(i) for i in client.puts] == [1, 2] and "endpoints" not in client.puts[1]


class CountingKms:
    def __init__(self, kms, delay: float = 0.0) -> None:
        self._kms, self.decrypts, self.delay = kms, 0, delay

    def __getattr__(self, name: str):
        return getattr(self._kms, name)

    def decrypt(self, **kwargs):
        self.decrypts += 1
        time.sleep(self.delay)
        return self._kms.decrypt(**kwargs)


def test_a_secret_is_decrypted_once_per_environment_for_five_minutes(table, webhooks_env, monkeypatch):
    created = _create(table)
    endpoint = webhooks_dal.get_endpoint(table, OWNER.tenant, created["id"])
    assert endpoint is not None
    kms = CountingKms(boto3.client("kms"), delay=0.05)
    monkeypatch.setattr(secretbox, "_kms", functools.cache(lambda: kms))
    clock = [1000.0]
    monkeypatch.setattr(secretbox, "_clock", lambda: clock[0])
    secretbox._cache.clear()
    ciphertext, context = str(endpoint["secret_ciphertext"]), webhooks.secret_context(endpoint)

    # Eight concurrent deliveries to one endpoint: one Decrypt.
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: secretbox.unseal(ciphertext, context), range(8)))
    assert secrets == {created["secret"]} and kms.decrypts == 1
    clock[0] += secretbox.CACHE_SECONDS - 1
    assert secretbox.unseal(ciphertext, context) == created["secret"] and kms.decrypts == 1
    clock[0] += 1  # five minutes after the Decrypt, the plain secret is dropped
    assert secretbox.unseal(ciphertext, context) == created["secret"] and kms.decrypts == 2
    # The cache holds neither the ciphertext nor anything but the secret it decrypted; keyed by a hash.
    assert all(len(k) == 64 and ciphertext not in k for k in secretbox._cache)
    # A ciphertext under another endpoint's context does not decrypt, and the failure is not cached.
    with pytest.raises(ClientError):
        secretbox.unseal(ciphertext, {**context, "endpoint": "we_other"})
    with pytest.raises(ClientError):
        secretbox.unseal(ciphertext, {**context, "endpoint": "we_other"})
    assert kms.decrypts == 4
    # Bounded: the least recently used secret goes first.
    monkeypatch.setattr(secretbox, "CACHE_ENTRIES", 1)
    other = webhooks_dal.get_endpoint(table, OWNER.tenant, _create(table)["id"])
    assert other is not None
    secretbox.unseal(str(other["secret_ciphertext"]), webhooks.secret_context(other))
    assert len(secretbox._cache) == 1
    secretbox.unseal(ciphertext, context)
    assert kms.decrypts == 6


def test_deliveries_decrypt_once_and_never_log_the_secret(table, routed, monkeypatch, capsys, caplog):
    kms = CountingKms(boto3.client("kms"))
    monkeypatch.setattr(secretbox, "_kms", functools.cache(lambda: kms))
    secretbox._cache.clear()
    monkeypatch.setattr(netguard, "post", Receiver(500, 200))
    for message in _queued(routed["WEBHOOK_QUEUE_URL"]):
        delivery.deliver(table, message)
    assert kms.decrypts == 1
    secret = routed["endpoint"]["secret"]
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert secret not in logged and secret[6:] not in logged


def test_a_disabled_or_deleted_endpoint_stops_getting_deliveries_within_the_cache_window(table, webhooks_env,
                                                                                        monkeypatch):
    assert delivery.ENDPOINT_CACHE_SECONDS <= 30
    clock = [5000.0]
    monkeypatch.setattr(delivery, "_clock", lambda: clock[0])
    receiver = Receiver(200)
    monkeypatch.setattr(netguard, "post", receiver)
    endpoint = _create(table)
    records = [{**load_event("stream_fanout")["Records"][0], "eventID": f"r{n}"} for n in range(4)]
    messages = []
    for record in records:
        record_event(table, record, 30)
        messages += _queued(webhooks_env["WEBHOOK_QUEUE_URL"])
    assert delivery.deliver(table, messages[0]).result == "delivered"  # the endpoint is cached now
    webhooks.update_endpoint(table, OWNER, endpoint["id"], WebhookEndpointParams(disabled=True))
    clock[0] += delivery.ENDPOINT_CACHE_SECONDS  # no later than this, the change is seen
    assert delivery.deliver(table, messages[1]).result == "endpoint_disabled"
    webhooks.update_endpoint(table, OWNER, endpoint["id"], WebhookEndpointParams(disabled=False))
    clock[0] += delivery.ENDPOINT_CACHE_SECONDS
    assert delivery.deliver(table, messages[2]).result == "delivered"
    webhooks.delete_endpoint(table, OWNER, endpoint["id"])
    clock[0] += delivery.ENDPOINT_CACHE_SECONDS
    assert delivery.deliver(table, messages[3]).result == "endpoint_deleted"
    assert len(receiver.requests) == 2
    skipped = webhooks_dal.get_delivery(table, OWNER.tenant, messages[3]["event_id"], endpoint["id"])
    assert skipped is not None
    assert (skipped["status"], skipped["reason"]) == ("skipped", "endpoint_deleted")


def test_an_endpoint_disabled_by_this_environment_is_skipped_at_once(table, routed, monkeypatch):
    monkeypatch.setattr(netguard, "post", Receiver(410))
    first, second = _queued(routed["WEBHOOK_QUEUE_URL"])
    assert delivery.deliver(table, first).result == "disabled_gone"
    assert delivery.deliver(table, second).result == "endpoint_disabled"


def test_the_transport_lives_in_fanout_and_the_import_graph_is_one_way():
    """logic.events (read API) and logic.webhooks (endpoint CRUD) import no other logic module;
    fanout imports events only; delivery imports fanout, events and webhooks; no function-level
    imports among them."""
    import ast
    import inspect

    from customers_core.logic import events as events_logic

    modules = {"events": events_logic, "webhooks": webhooks, "fanout": fanout, "delivery": delivery}
    imports: dict[str, set[str]] = {}
    for name, module in modules.items():
        tree = ast.parse(inspect.getsource(module))
        found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imports[name] = {m.rsplit(".", 1)[1] for m in found if m.startswith("customers_core.logic.")} - {"paging"}
        nested = [n for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)
                  if isinstance(n, ast.Import | ast.ImportFrom)]
        assert not nested, f"logic.{name} imports inside a function"
    assert imports == {"events": set(), "webhooks": set(), "fanout": {"events"},
                       "delivery": {"events", "fanout", "webhooks"}}
