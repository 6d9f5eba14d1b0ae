"""After a start, the local stack queues again the deliveries the table records as unfinished (moto's
SQS lost their messages): no delivery yet, `retrying`, or `pending` after a retry request; never a
succeeded, dead-lettered or skipped one, nor one of an event older than any retry could be."""

from __future__ import annotations

import copy
import json

import boto3
from customers_core import keys
from customers_core.dal import events as events_dal
from customers_core.dal import webhooks as webhooks_dal
from customers_core.logic import api_keys
from customers_core.logic.fanout import event_for_record
from local_stack import recovery

from tests.conftest import load_event


def _event(table, tenant: str, n: int, endpoints: list[str], deliveries: dict[str, dict], shift: int = 0) -> dict:
    record = copy.deepcopy(load_event("stream_fanout")["Records"][0])
    record["eventID"] = f"recovery-{n}"
    record["dynamodb"]["ApproximateCreationDateTime"] += shift
    record["dynamodb"].get("NewImage", {}).pop("written_ms", None)
    event = event_for_record(record, 30)
    assert event is not None
    events_dal.put_event(table, tenant, {**event, "endpoints": endpoints})
    for endpoint_id, state in deliveries.items():
        webhooks_dal.put_delivery(table, tenant, event["id"], endpoint_id, {"expires_at": event["expires_at"], **state},
                                  expected_ver=None)
    return event


def _messages(queue_url: str) -> list[dict]:
    sqs, found = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                               for i, m in enumerate(batch)])
    return found


def test_unfinished_deliveries_of_recent_events_are_queued_again(table, webhooks_env):
    account = api_keys.create_account(table, "recovery")["id"]
    test, live = keys.tenant(account, False), keys.tenant(account, True)
    event = _event(table, test, 1, ["we_new", "we_retry", "we_pending", "we_done", "we_dead", "we_skip"], {
        "we_retry": {"status": "retrying", "run": 0, "attempts": 2, "next_attempt_at": 1_900_000_000},
        "we_pending": {"status": "pending", "run": 1_800_000_000_000, "attempts": 0},
        "we_done": {"status": "succeeded", "run": 0, "attempts": 1, "delivered_at": 1.0},
        "we_dead": {"status": "dead_lettered", "run": 0, "attempts": 8},
        "we_skip": {"status": "skipped", "run": 0, "attempts": 0, "reason": "endpoint_deleted"}})
    in_live = _event(table, live, 2, ["we_live"], {})
    old = _event(table, test, 3, ["we_old"], {}, shift=-10 * 86400)  # older than any retry

    result = recovery.requeue_lost_deliveries(table, webhooks_env["WEBHOOK_QUEUE_URL"], now=event["created"] + 60)

    sent = {(m["event_id"], m["endpoint_id"]): m for m in _messages(webhooks_env["WEBHOOK_QUEUE_URL"])}
    assert set(sent) == {(event["id"], "we_new"), (event["id"], "we_retry"), (event["id"], "we_pending"),
                         (in_live["id"], "we_live")}
    assert (old["id"], "we_old") not in sent
    assert result.requeued == 4 and result.accounts >= 1
    new, retry, pending = (sent[(event["id"], e)] for e in ("we_new", "we_retry", "we_pending"))
    assert (new["attempt"], new["run"], new["not_before"]) == (1, 0, 0)
    assert (retry["attempt"], retry["run"], retry["not_before"]) == (3, 0, 1_900_000_000)  # when it was due
    assert (pending["attempt"], pending["run"]) == (1, 1_800_000_000_000)
    assert sent[(in_live["id"], "we_live")]["livemode"] is True and new["account_id"] == account


def test_nothing_to_do_sends_nothing(table, webhooks_env):
    api_keys.create_account(table, "quiet")
    result = recovery.requeue_lost_deliveries(table, webhooks_env["WEBHOOK_QUEUE_URL"])
    assert result.requeued == 0 and _messages(webhooks_env["WEBHOOK_QUEUE_URL"]) == []
