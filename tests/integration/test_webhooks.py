"""Webhooks on the real engines: DynamoDB Local's stream read by the stream poller with the event
source mapping's semantics, moto's SQS and KMS over HTTP, and real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from customers_core import keys, netguard
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import get_table, serialize
from customers_core.errors import InvalidRequest
from customers_core.logic import delivery, fanout, webhooks
from customers_core.logic.customers import create_customer
from customers_core.logic.events import list_events
from customers_core.models.customer import CustomerCreate
from customers_core.models.listing import ListEventsParams
from customers_core.models.webhooks import WebhookEndpointParams
from local_stack import template
from local_stack.receiver import Receiver
from local_stack.runtime import FunctionPool
from local_stack.sqs_poller import QueuePoller
from local_stack.stack import aws_client
from local_stack.stream_poller import StreamPoller

WHO = Principal("acct_01JINTEGRATIONWEBHOOKS0000", False, frozenset(), "key_x")


def _endpoint(table, url: str) -> dict:
    return webhooks.create_endpoint(table, WHO, WebhookEndpointParams(url=url, enabled_events=["*"]))


def _drain_stream(webhook_aws, tmp_path) -> StreamPoller:
    functions = template.functions()
    fanout = functions["StreamFanoutFunction"]
    poller = StreamPoller(streams=aws_client("dynamodbstreams", webhook_aws["AWS_ENDPOINT_URL_DYNAMODB"]),
                          dynamodb=aws_client("dynamodb", webhook_aws["AWS_ENDPOINT_URL_DYNAMODB"]),
                          sqs=aws_client("sqs", webhook_aws["AWS_ENDPOINT_URL_SQS"]), table_name=get_table().name,
                          pool=FunctionPool(fanout), mapping=fanout.stream or {},
                          failure_queue_url=webhook_aws["STREAM_FAILURE_QUEUE_URL"],
                          checkpoint_path=tmp_path / "checkpoint.json")
    while poller.poll_once():
        pass
    return poller


def _drain_deliveries(webhook_aws) -> None:
    fn = template.functions()["WebhookDeliveryFunction"]
    poller = QueuePoller(sqs=aws_client("sqs", webhook_aws["AWS_ENDPOINT_URL_SQS"]),
                         queue_url=webhook_aws["WEBHOOK_QUEUE_URL"], pool=FunctionPool(fn), mapping=fn.queue or {})
    while poller.poll_once():
        pass


def _messages(webhook_aws, queue: str) -> list[dict]:
    sqs = aws_client("sqs", webhook_aws["AWS_ENDPOINT_URL_SQS"])
    out = []
    while got := sqs.receive_message(QueueUrl=webhook_aws[queue], MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in got]
        sqs.delete_message_batch(QueueUrl=webhook_aws[queue], Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)])
    return out


def test_poison_record_is_set_aside_and_its_neighbours_deliver_exactly_once(table, webhook_aws, tmp_path):
    receiver = Receiver()
    receiver.secret = _endpoint(table, receiver.url)["secret"]
    first = create_customer(table, WHO, CustomerCreate(email="first@example.com"), {})
    # A customer item the fan-out cannot read (no `created`): it fails on every try.
    poison_id = "cus_01JP01S0N000000000000000PX"
    table.put({**keys.customer(WHO.tenant, poison_id), "entity": "customer", "id": poison_id,
               "account_id": WHO.account_id, "livemode": False})
    last = create_customer(table, WHO, CustomerCreate(email="last@example.com"), {})

    _drain_stream(webhook_aws, tmp_path)
    events = list_events(table, WHO, ListEventsParams(limit=100))["data"]
    assert sorted(e["data"]["object"]["id"] for e in events) == sorted([first["id"], last["id"]])
    failures = _messages(webhook_aws, "STREAM_FAILURE_QUEUE_URL")
    assert len(failures) == 1 and failures[0]["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failures[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"

    _drain_deliveries(webhook_aws)
    received = receiver.wait_for(lambda d: len(d) >= 2, 10)
    assert Counter(d.event_id for d in received) == Counter({e["id"]: 1 for e in events})
    assert all(d.stripe_verified and d.standard_verified for d in received)
    receiver.close()


def test_reprocessing_a_stream_batch_sends_no_second_message(table, webhook_aws, tmp_path):
    _endpoint(table, Receiver().url)
    create_customer(table, WHO, CustomerCreate(name="Once"), {})
    _drain_stream(webhook_aws, tmp_path)
    (tmp_path / "checkpoint.json").unlink()  # forget the position: the whole stream comes again
    _drain_stream(webhook_aws, tmp_path)
    messages = _messages(webhook_aws, "WEBHOOK_QUEUE_URL")
    assert len(messages) == 1 and len(list_events(table, WHO, ListEventsParams())["data"]) == 1


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/", "https://[::ffff:127.0.0.1]/",
    "https://10.0.0.1/", "https://localhost/", "https://2130706433/", "https://0x7f.1/",
    "https://internal.example.com/", "http://127.0.0.2/",
])
def test_unsafe_urls_are_refused_at_registration(table, webhook_aws, monkeypatch, url):
    real = netguard.resolve  # the system resolver: numeric forms and /etc/hosts need no network

    monkeypatch.setattr(netguard, "resolve",
                        lambda host, port: ["10.0.0.5"] if host == "internal.example.com" else real(host, port))
    with pytest.raises(InvalidRequest) as err:
        _endpoint(table, url)
    assert err.value.param == "url"


class _Redirector(BaseHTTPRequestHandler):
    location = ""
    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(302)
        self.send_header("Location", self.location)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("target", ["internal", "metadata"])
def test_a_redirect_is_not_followed(table, webhook_aws, tmp_path, target):
    inner = Receiver()  # would accept anything; must never be reached
    _Redirector.location = inner.url if target == "internal" else "http://169.254.169.254/latest/meta-data/"
    _Redirector.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _endpoint(table, f"http://127.0.0.1:{server.server_address[1]}/hook")
    create_customer(table, WHO, CustomerCreate(name="Redirected"), {})
    _drain_stream(webhook_aws, tmp_path)
    [message] = _messages(webhook_aws, "WEBHOOK_QUEUE_URL")
    outcome = delivery.deliver(table, message)
    assert outcome.result == "retry" and _Redirector.hits == 1 and inner.deliveries == []
    [attempt] = webhooks_dal.list_attempts(table, WHO.tenant, message["event_id"], message["endpoint_id"])
    assert attempt["status_code"] == 302 and attempt["succeeded"] is False
    server.shutdown()
    inner.close()


def _one_message(table, webhook_aws, tmp_path, receiver: Receiver) -> dict:
    receiver.secret = _endpoint(table, receiver.url)["secret"]
    create_customer(table, WHO, CustomerCreate(name="Copies"), {})
    _drain_stream(webhook_aws, tmp_path)
    [message] = _messages(webhook_aws, "WEBHOOK_QUEUE_URL")
    return message


def test_copies_of_a_message_processed_at_once_continue_the_schedule_once_and_count_once(table, webhook_aws,
                                                                                         tmp_path):
    """Six copies of one message at once (SQS delivers at least once) against DynamoDB Local's
    conditional writes: whatever interleaving, one retry is scheduled, and of the successes that
    follow the event's pending_webhooks counts one."""
    delivery.forget_endpoints()
    failing = {"on": True}
    receiver = Receiver(lambda _event_id, _nth: 500 if failing["on"] else 200)
    message = _one_message(table, webhook_aws, tmp_path, receiver)
    with ThreadPoolExecutor(6) as pool:
        results = Counter(pool.map(lambda m: delivery.deliver(table, m).result, [dict(message) for _ in range(6)]))
    posted_failing = results["retry"] + results["failed"]
    assert results["retry"] == 1 and set(results) <= {"retry", "failed", "duplicate"}, results
    record = webhooks_dal.get_delivery(table, WHO.tenant, message["event_id"], message["endpoint_id"])
    assert record is not None
    assert (record["status"], record["attempts"]) == ("retrying", 1)
    assert len(record["attempts_log"]) == results["retry"] + results["failed"]  # each POST is in the log

    failing["on"] = False
    retry = {**message, "attempt": 2, "not_before": 0}
    with ThreadPoolExecutor(6) as pool:
        results = Counter(pool.map(lambda m: delivery.deliver(table, m).result, [dict(retry) for _ in range(6)]))
    assert results["delivered"] >= 1 and set(results) <= {"delivered", "already_delivered", "duplicate"}, results
    record = webhooks_dal.get_delivery(table, WHO.tenant, message["event_id"], message["endpoint_id"])
    assert record is not None and (record["status"], record["attempts"]) == ("succeeded", 2)
    [event] = list_events(table, WHO, ListEventsParams())["data"]
    assert event["pending_webhooks"] == 0
    assert len(receiver.wait_for(lambda d: len(d) >= posted_failing + results["delivered"], 10)) == \
        posted_failing + results["delivered"]
    receiver.close()


def test_event_pages_with_deliveries_between_them_on_the_real_engine(table, webhook_aws):
    """The events partition holds each event and, right after it, its deliveries: DynamoDB Local's
    key ordering of `<evt_id>`, `<evt_id>#DLV#…` and the `~` bound, paged both ways and by type."""
    delivery.forget_endpoints()
    made = []
    for n in range(9):
        record: dict[str, Any] = {"eventID": f"real-{n}", "eventName": "INSERT" if n % 2 == 0 else "MODIFY",
                                  "dynamodb": {}}
        at = 1795435200 + n
        customer = {"entity": "customer", "id": f"cus_{n:026d}", "account_id": WHO.account_id, "livemode": False,
                    "name": f"N{n}", "created": 1795435200, "updated": at, "written_ms": at * 1000}
        record["dynamodb"]["NewImage"] = serialize(customer)
        if n % 2:
            record["dynamodb"]["OldImage"] = serialize({**customer, "name": "before"})
        event = fanout.event_for_record(record, 30)
        assert event is not None
        endpoints = ["we_A", "we_B", "we_C"][: n % 4]
        events_dal.put_event(table, WHO.tenant, {**event, "endpoints": endpoints})
        done = endpoints[: n % 3]
        for endpoint_id in done:
            state = {"status": "succeeded", "run": 0, "attempts": 1, "expires_at": event["expires_at"]}
            webhooks_dal.put_delivery(table, WHO.tenant, event["id"], endpoint_id, state, expected_ver=None)
        made.append((event["id"], event["type"], len(endpoints) - len(done)))
    newest_first = [(i, p) for i, _t, p in reversed(made)]
    for limit in (1, 2, 4):
        seen, after = [], None
        while True:
            page = list_events(table, WHO, ListEventsParams(limit=limit, starting_after=after))
            seen += [(e["id"], e["pending_webhooks"]) for e in page["data"]]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        assert seen == newest_first
        back = list_events(table, WHO, ListEventsParams(limit=limit, ending_before=newest_first[-1][0]))
        assert [(e["id"], e["pending_webhooks"]) for e in back["data"]] == newest_first[-1 - limit:-1]
    updated = list_events(table, WHO, ListEventsParams(limit=100, type="customer.updated"))["data"]
    assert [(e["id"], e["pending_webhooks"]) for e in updated] == \
        [(i, p) for i, t, p in reversed(made) if t == "customer.updated"]
