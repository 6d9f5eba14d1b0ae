"""The fan-out: customer changes on the stream become events, once each; other items make none."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest
from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.logic import webhooks
from customers_core.logic.events import event_object
from customers_core.logic.fanout import event_for_record
from customers_core.models.webhooks import WebhookEndpointParams

from tests.conftest import load_event, load_function
from tests.unit.test_webhooks import _queued, counting, units

TENANT = keys.tenant("acct_01JSAMPLE0000000000000000A", False)
OWNER = Principal("acct_01JSAMPLE0000000000000000A", False, frozenset({"webhooks:write"}), "key_x")


@pytest.fixture
def fanout(table):
    return load_function("stream_fanout")


def test_sample_batch_records_created_and_updated_events(fanout, table, lambda_context):
    result = fanout.lambda_handler(load_event("stream_fanout"), lambda_context)
    assert result == {"batchItemFailures": []}
    stored = [event_object(i) for i in events_dal.list_events(table, TENANT)]
    assert sorted(e["type"] for e in stored) == ["customer.created", "customer.updated"]
    updated = next(e for e in stored if e["type"] == "customer.updated")
    assert updated["data"]["previous_attributes"] == {"name": "Ada"}
    assert updated["data"]["object"]["name"] == "Ada Lovelace"
    assert updated["request"]["id"] == "req_01JSAMPLEREQUEST000000000R"


def test_redelivered_batch_makes_no_second_event(fanout, table, lambda_context):
    fanout.lambda_handler(load_event("stream_fanout"), lambda_context)
    fanout.lambda_handler(load_event("stream_fanout"), lambda_context)
    assert len(events_dal.list_events(table, TENANT)) == 2


def test_tombstone_makes_customer_deleted_with_the_object_as_it_was():
    record = copy.deepcopy(load_event("stream_fanout")["Records"][1])
    change = record["dynamodb"]
    change["OldImage"] = change["NewImage"]
    change["NewImage"] = {**change["NewImage"], "deleted": {"BOOL": True}}
    item = event_for_record(record, 30)
    assert item is not None
    body = json.loads(item["body"])
    assert body["type"] == "customer.deleted"
    assert body["data"]["object"]["name"] == "Ada Lovelace"
    assert item["expires_at"] == item["created"] + 30 * 86400


@pytest.mark.parametrize("entity", ["email_marker", "event", None])
def test_non_customer_items_make_no_event(entity):
    record = copy.deepcopy(load_event("stream_fanout")["Records"][0])
    if entity:
        record["dynamodb"]["NewImage"]["entity"] = {"S": entity}
    else:
        del record["dynamodb"]["NewImage"]["entity"]
    assert event_for_record(record, 30) is None


def test_update_changing_only_bookkeeping_makes_no_event():
    record = copy.deepcopy(load_event("stream_fanout")["Records"][1])
    record["dynamodb"]["NewImage"]["name"] = record["dynamodb"]["OldImage"]["name"]
    assert event_for_record(record, 30) is None


def test_a_bad_record_fails_alone(fanout, table, lambda_context):
    batch = load_event("stream_fanout")
    poison = copy.deepcopy(batch["Records"][0])
    poison["dynamodb"]["SequenceNumber"] = "111100000000000000000009"
    poison["dynamodb"]["NewImage"]["account_id"] = {"N": "1"}  # not a string: the key builder fails
    del poison["dynamodb"]["NewImage"]["created"]
    batch["Records"].insert(1, poison)
    result = fanout.lambda_handler(batch, lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "111100000000000000000009"}]}
    assert len(events_dal.list_events(table, TENANT)) == 2


def test_a_batch_reads_each_accounts_endpoints_once_and_writes_each_event_once(fanout, table, webhooks_env,
                                                                               lambda_context, monkeypatch):
    """The sample batch (two changes of one account) with one endpoint: one Query of the endpoints,
    per event the customer's reference to it (one unit: logic.data_rights), one PutItem (one unit, and one
    in gsi1) and a one-unit marker after its message — no transaction, no update. Processed again (the
    stream re-delivers), it sends and marks nothing."""
    endpoint = webhooks.create_endpoint(table, OWNER, WebhookEndpointParams(url="https://8.8.8.8/hook",
                                                                            enabled_events=["*"]))
    counted, client = counting(table)
    monkeypatch.setattr(fanout, "get_table", lambda: counted)
    assert fanout.lambda_handler(load_event("stream_fanout"), lambda_context) == {"batchItemFailures": []}
    # Besides the events: the create's index entries are checked (one BatchGet); the sample's customer
    # was never written by a request here, so they are missing and put (one BatchWrite). A fresh
    # environment reads the account's default API version once (one GetItem), then keeps it.
    assert client.calls == Counter({"query": 1, "put_item": 6, "batch_get_item": 1, "batch_write_item": 1,
                                 "get_item": 1}), \
        client.calls
    assert [units(item) for item in client.puts] == [1, 2, 1, 1, 2, 1]
    assert sorted(m["endpoint_id"] for m in _queued(webhooks_env["WEBHOOK_QUEUE_URL"])) == [endpoint["id"]] * 2

    client.reset()
    assert fanout.lambda_handler(load_event("stream_fanout"), lambda_context) == {"batchItemFailures": []}
    # Per record: the reference put again (unchanged), the refused conditional put, and the marker read
    # that says all was sent (and the create's entries, there now, read again).
    assert client.calls == Counter({"query": 1, "put_item": 4, "get_item": 2, "batch_get_item": 1}), client.calls
    assert _queued(webhooks_env["WEBHOOK_QUEUE_URL"]) == []
    assert [e["pending_webhooks"] for e in events_dal.list_events(table, TENANT)] == [1, 1]


def test_the_stored_body_is_compressed_and_reads_back_exactly(table):
    record = load_event("stream_fanout")["Records"][1]
    event = event_for_record(record, 30)
    assert event is not None
    events_dal.put_event(table, TENANT, {**event, "endpoints": []})
    raw = table.get(keys.event(TENANT, event["id"]))
    assert raw is not None and len(bytes(raw["body"])) < len(event["body"]) * 0.7
    stored = events_dal.get_event(table, TENANT, event["id"])
    assert stored is not None and stored["body"] == event["body"]
    assert event_object(stored) == {**json.loads(event["body"]), "pending_webhooks": 0}
