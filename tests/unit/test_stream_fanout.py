"""The fan-out: customer changes on the stream become events, once each; other items make none."""

from __future__ import annotations

import copy
import json

import pytest
from customers_core import keys
from customers_core.dal import events as events_dal
from customers_core.logic.events import event_for_record, event_object

from tests.conftest import load_event, load_function

TENANT = keys.tenant("acct_01JSAMPLE0000000000000000A", False)


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
