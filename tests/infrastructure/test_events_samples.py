"""Every function invoked in-process with its events/ sample, as `sam local invoke -e` would, over
moto (the samples' account, key and customer are seeded first)."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from customers_core import keys, netguard, secretbox
from customers_core.auth import SCOPES
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.customers import write_customer
from customers_core.dal.table import get_table
from customers_core.logic.api_keys import hash_secret
from customers_core.logic.fanout import record_event
from customers_core.logic.webhooks import secret_context
from local_stack import template
from local_stack.runtime import LambdaContext, handler_of, load_environment

from tests.conftest import EVENTS, clear_caches

SAMPLE_ACCOUNT = "acct_01JSAMPLE0000000000000000A"
SAMPLE_SECRET = "sk_test_SAMPLEsampleSAMPLEsampleSAMPLEsample0000"
SAMPLE_CUSTOMER = "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"
SAMPLE_ENDPOINT = "we_01JSAMP1E000000000000000WE"
SAMPLE_WALLET = "wal_01JSAMP1E000000000000000WA"
posted: list[dict] = []


def _fake_post(target, body, headers, timeout):
    """No network here: the delivery sample's POST is recorded and answered 200."""
    posted.append({"host": target.host, "headers": headers, "body": body})
    return netguard.Response(200, 1.0)


@pytest.fixture
def seeded(moto_aws: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TABLE_NAME", "customers-api-dev")
    clear_caches()
    boto3.client("dynamodb").create_table(**template.table_definition("customers-api-dev"))
    table = get_table()
    table.put({**keys.api_key_lookup(hash_secret(SAMPLE_SECRET)), "entity": "api_key",
               "account_id": SAMPLE_ACCOUNT, "livemode": False, "scopes": list(SCOPES),
               "key_id": "key_sample", "revoked": False})
    tenant = keys.tenant(SAMPLE_ACCOUNT, False)
    customer = {**keys.customer(tenant, SAMPLE_CUSTOMER), **keys.customer_list_index(tenant, SAMPLE_CUSTOMER),
                "entity": "customer", "id": SAMPLE_CUSTOMER, "account_id": SAMPLE_ACCOUNT, "livemode": False,
                "status": "active", "sentiment": "neutral", "tags": [], "custom_fields": {}, "metadata": {},
                "created": 1795435200, "updated": 1795435200, "version": 1,
                "wallets": [{"id": SAMPLE_WALLET, "network": "stellar", "created": 1795435200, "updated": 1795435200,
                             "address": "GB5QPGBUTHET6TVSK3L7NJBKZ4J66CMLEABC5ECPNSBPCOAFCZWJ6KSN",
                             "has_active_authorization": False}]}
    write_customer(table, tenant, customer, None)
    # Webhooks: a KMS key, the delivery queues, and one endpoint that the sample event goes to.
    monkeypatch.setenv("WEBHOOK_KEY_ID", boto3.client("kms").create_key()["KeyMetadata"]["KeyId"])
    for name, var in (("deliveries", "WEBHOOK_QUEUE_URL"), ("dead-letters", "WEBHOOK_DEAD_LETTER_QUEUE_URL")):
        monkeypatch.setenv(var, boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"])
    clear_caches()
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.215.14"])  # a public address
    monkeypatch.setattr(netguard, "post", _fake_post)
    posted.clear()
    endpoint = {**keys.webhook_endpoint(tenant, SAMPLE_ENDPOINT), "entity": "webhook_endpoint",
                "id": SAMPLE_ENDPOINT, "account_id": SAMPLE_ACCOUNT, "livemode": False,
                "url": "https://hooks.example.com/customers", "enabled_events": ["*"], "status": "enabled",
                "created": 1795435200, "version": 1, "metadata": {}}
    endpoint["secret_ciphertext"] = secretbox.seal("whsec_" + "A" * 43 + "=", secret_context(endpoint))
    webhooks_dal.put_endpoint(table, endpoint, version=None)
    # The event the stream sample's first record stands for (events/retrieve_event.json names it).
    record_event(table, json.loads((EVENTS / "stream_fanout.json").read_text())["Records"][0], 30)
    return table


def _invoke(logical_id: str):
    fn = template.functions()[logical_id]
    event = json.loads((EVENTS / f"{fn.code_dir.name}.json").read_text())
    return handler_of(fn, load_environment(fn))(event, LambdaContext(logical_id))


EXPECTATIONS = {
    "CreateCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["object"] == "customer",
    "RetrieveCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["id"] == SAMPLE_CUSTOMER,
    "StreamFanoutFunction": lambda r: r == {"batchItemFailures": []},
    "UpdateCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["name"] == "Ada King",
    "UpsertCustomerFunction": lambda r: r["statusCode"] == 200 and r["headers"]["Upsert-Result"] == "created"
    and json.loads(r["body"])["external_id"] == "user-42" and json.loads(r["body"])["version"] == 1,
    "DeleteCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["deleted"] is True,
    "ExportCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["object"] == "customer_export"
    and [w["id"] for w in json.loads(r["body"])["customer"]["wallets"]] == [SAMPLE_WALLET]
    and [e["type"] for e in json.loads(r["body"])["events"]] == ["customer.created"],
    "RedactCustomerFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"]) == {"id": SAMPLE_CUSTOMER, "object": "customer", "redacted": True},
    "ListCustomersFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["total_count"] == 1,
    "ListEventsFunction": lambda r: r["statusCode"] == 200
    and [e["type"] for e in json.loads(r["body"])["data"]] == ["customer.created"],
    "RetrieveEventFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["object"] == "event",
    "CreateWebhookEndpointFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["secret"].startswith("whsec_"),
    "ListWebhookEndpointsFunction": lambda r: r["statusCode"] == 200
    and [e["id"] for e in json.loads(r["body"])["data"]] == [SAMPLE_ENDPOINT],
    "RetrieveWebhookEndpointFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["id"] == SAMPLE_ENDPOINT and "secret" not in json.loads(r["body"]),
    "UpdateWebhookEndpointFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["enabled_events"] == ["*"],
    "DeleteWebhookEndpointFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["deleted"] is True,
    "RetryEventFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["pending_webhooks"] == 1,
    "ListEventDeliveriesFunction": lambda r: r["statusCode"] == 200
    and [(d["webhook_endpoint"], d["status"], d["attempts"]) for d in json.loads(r["body"])["data"]]
    == [(SAMPLE_ENDPOINT, "pending", [])],
    "RotateWebhookSecretFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["secret"].startswith("whsec_") and json.loads(r["body"])["id"] == SAMPLE_ENDPOINT,
    "ListWebhookEndpointDeliveriesFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["data"] == [] and json.loads(r["body"])["url"].endswith("/deliveries"),
    "WebhookDeliveryFunction": lambda r: r == {"batchItemFailures": []} and len(posted) == 1
    and posted[0]["headers"]["Stripe-Signature"].startswith("t=") and posted[0]["host"] == "hooks.example.com",
    "AddWalletFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["address"] == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "ListWalletsFunction": lambda r: r["statusCode"] == 200
    and [w["id"] for w in json.loads(r["body"])["data"]] == [SAMPLE_WALLET],
    "UpdateWalletFunction": lambda r: r["statusCode"] == 200
    and json.loads(r["body"])["authorization_type"] == "PERMIT",
    "DeleteWalletFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["deleted"] is True,
    "SearchCustomersFunction": lambda r: r["statusCode"] == 200
    and [c["id"] for c in json.loads(r["body"])["data"]] == [SAMPLE_CUSTOMER]
    and json.loads(r["body"])["total_count"] == 1,
    "RouteNotFoundFunction": lambda r: r["statusCode"] == 404
    and json.loads(r["body"])["error"]["code"] == "route_not_found",
}


def test_expectations_cover_every_function():
    assert set(EXPECTATIONS) == set(template.functions())


# SAM's policy templates, as the actions they grant (https://docs.aws.amazon.com/serverless-application-
# model/latest/developerguide/serverless-policy-template-list.html).
POLICY_TEMPLATES = {"SQSSendMessagePolicy": {"sqs:SendMessage", "sqs:SendMessageBatch"}}
# A transaction is authorised action by action (IAM has no TransactWriteItems action).
_TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                        "ConditionCheck": "ConditionCheckItem"}


def _granted(logical_id: str) -> set[str]:
    """The actions the template's policies give a function (ApiEdgePolicy and templates included)."""
    resources = template.load()["Resources"]
    granted: set[str] = set()
    for stated in resources[logical_id]["Properties"].get("Policies") or []:
        policy = resources[stated["Ref"]]["Properties"]["PolicyDocument"] if "Ref" in stated else stated
        if isinstance(policy, dict) and set(policy) & set(POLICY_TEMPLATES):
            granted |= POLICY_TEMPLATES[next(iter(set(policy) & set(POLICY_TEMPLATES)))]
            continue
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"]
            granted |= set(actions if isinstance(actions, list) else [actions])
    return granted


def _record_calls(calls: set[str]) -> None:
    """Every AWS call the function makes from now on, as the IAM actions it needs."""
    def record(model, params, **_):
        service = model.service_model.endpoint_prefix
        if model.name == "TransactWriteItems":
            calls.update(f"dynamodb:{_TRANSACTION_ACTIONS[kind]}" for op in params["TransactItems"] for kind in op)
        else:
            calls.add(f"{service}:{model.name}")

    boto3._get_default_session().events.register("provide-client-params.*.*", record, unique_id="iam-calls")


@pytest.mark.parametrize("logical_id", sorted(EXPECTATIONS))
def test_function_runs_with_its_sample_event_with_only_the_permissions_its_policies_grant(seeded, logical_id):
    assert os.environ["TABLE_NAME"] == "customers-api-dev"
    calls: set[str] = set()
    _record_calls(calls)
    clear_caches()  # clients made from now on carry the hook
    try:
        result = _invoke(logical_id)
    finally:
        boto3._get_default_session().events.unregister("provide-client-params.*.*", unique_id="iam-calls")
    assert EXPECTATIONS[logical_id](result), result
    # The local stack and moto do not enforce IAM; a call the template does not allow fails in AWS.
    assert calls, "no AWS call recorded"
    assert calls <= _granted(logical_id), f"{logical_id} calls {sorted(calls - _granted(logical_id))}, which its " \
                                          f"policies do not allow"
