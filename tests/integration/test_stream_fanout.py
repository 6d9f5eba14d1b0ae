"""The fan-out against DynamoDB Local's real stream: a customer written through the logic shows up
as exactly one event, also when the same stream batch is processed twice."""

from __future__ import annotations

import json

from customers_core.auth import Principal
from customers_core.dal import events as events_dal
from customers_core.dal.table import get_table
from customers_core.logic import delivery, webhooks
from customers_core.logic.customers import create_customer
from customers_core.logic.events import event_object
from customers_core.models.customer import CustomerCreate
from customers_core.models.webhooks import WebhookEndpointParams
from customers_core.settings import get_settings
from local_stack.runtime import LambdaContext
from local_stack.stack import aws_client
from local_stack.stream_poller import get_records_raw, lambda_record

from tests.conftest import load_function

WHO = Principal("acct_01JINTEGRATION00000000000B", False, frozenset(), "key_x")


def _stream_batch(streams, ddb_client, table_name: str) -> list[dict]:
    arn = ddb_client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += [lambda_record(r, arn) for r in get_records_raw(streams, ShardIterator=iterator)["Records"]]
    return records


def test_stream_record_of_a_create_becomes_one_event_even_when_reprocessed(table, streams_client, ddb_client,
                                                                          monkeypatch):
    get_settings.cache_clear()
    get_table.cache_clear()
    monkeypatch.setattr("customers_core.dal.table.get_table", lambda: table)
    fanout = load_function("stream_fanout")
    monkeypatch.setattr(fanout, "get_table", lambda: table)
    created = create_customer(table, WHO, CustomerCreate(email="s@example.com", name="S"), {"request_id": "req_it"})

    batch = _stream_batch(streams_client, ddb_client, table.name)
    # The batch holds the customer, its email marker, the counter, its two index entries (status,
    # sentiment) and its search tokens: only the customer makes an event.
    customer_records = [r for r in batch if r["dynamodb"]["Keys"]["sk"]["S"] == "CUS"]
    assert len(customer_records) == 1 and len(batch) > 5
    for _ in range(2):
        assert fanout.lambda_handler({"Records": batch}, LambdaContext("fanout")) == {"batchItemFailures": []}

    events = [event_object(i) for i in events_dal.list_events(table, WHO.tenant)]
    assert len(events) == 1
    assert events[0]["type"] == "customer.created"
    assert events[0]["data"]["object"] == created
    assert events[0]["request"]["id"] == "req_it"


def _drain(webhook_aws) -> list[dict]:
    sqs = aws_client("sqs", webhook_aws["AWS_ENDPOINT_URL_SQS"])
    out = []
    while got := sqs.receive_message(QueueUrl=webhook_aws["WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10).get(
            "Messages", []):
        out += [json.loads(m["Body"]) for m in got]
        sqs.delete_message_batch(QueueUrl=webhook_aws["WEBHOOK_QUEUE_URL"], Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)])
    return out


def test_a_try_that_died_before_its_marker_is_redone_for_the_endpoints_without_a_delivery(
        table, streams_client, ddb_client, webhook_aws, monkeypatch):
    """The real stream, processed three times: the first try dies after sending (before the `sent`
    marker); meanwhile endpoint A's message is delivered; the second try writes no second event and
    sends only B's message again; the third sends nothing."""
    fanout = load_function("stream_fanout")
    monkeypatch.setattr(fanout, "get_table", lambda: table)
    endpoints = [webhooks.create_endpoint(table, WHO, WebhookEndpointParams(url=f"http://127.0.0.1:9/{name}",
                                                                             enabled_events=["*"]))["id"]
                 for name in ("a", "b")]
    create_customer(table, WHO, CustomerCreate(email="m@example.com"), {})
    batch = {"Records": _stream_batch(streams_client, ddb_client, table.name)}
    real_mark = events_dal.mark_sent

    def dies(*_args, **_kwargs):
        raise RuntimeError("the environment died here")

    monkeypatch.setattr(events_dal, "mark_sent", dies)
    failed = fanout.lambda_handler(batch, LambdaContext("fanout"))["batchItemFailures"]
    monkeypatch.setattr(events_dal, "mark_sent", real_mark)
    assert len(failed) == 1
    first = {m["endpoint_id"]: m for m in _drain(webhook_aws)}
    assert sorted(first) == sorted(endpoints)
    assert delivery.deliver(table, first[endpoints[0]]).result == "retry"  # port 9 refuses: a delivery exists

    assert fanout.lambda_handler(batch, LambdaContext("fanout")) == {"batchItemFailures": []}
    [again] = _drain(webhook_aws)
    assert again["endpoint_id"] == endpoints[1] and again["event_id"] == first[endpoints[1]]["event_id"]
    assert fanout.lambda_handler(batch, LambdaContext("fanout")) == {"batchItemFailures": []}
    assert _drain(webhook_aws) == []
    assert len(events_dal.list_events(table, WHO.tenant)) == 1
