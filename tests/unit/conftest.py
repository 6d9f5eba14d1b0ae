"""Unit tier: no network at all (sockets blocked); DynamoDB is moto's, in-process."""

from __future__ import annotations

import itertools

import boto3
import pytest
from customers_core.dal.table import Table, get_table
from customers_core.logic import api_keys
from customers_core.settings import get_settings
from local_stack import template

TABLE = "customers-unit"
_n = itertools.count()


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """pytest-socket: any real connection attempt in a unit test fails it."""


@pytest.fixture
def aws(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    get_settings.cache_clear()


@pytest.fixture
def table(aws: None) -> Table:
    client = boto3.client("dynamodb")
    client.create_table(**template.table_definition(TABLE))
    return get_table()


@pytest.fixture
def account(table: Table) -> dict:
    """A fresh account with a test-mode secret key; returns the authorizer context for it."""
    acct = api_keys.create_account(table, "unit")
    key = api_keys.create_key(table, acct["id"], "test")
    return {"account_id": acct["id"], "livemode": False, "scopes": " ".join(api_keys.SCOPES),
            "key_id": key["id"], "secret": key["secret"]}


@pytest.fixture
def webhooks_env(table: Table, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A KMS key and the delivery queues in moto, named by the functions' environment variables."""
    from tests.conftest import clear_caches

    sqs = boto3.client("sqs")
    env = {"WEBHOOK_KEY_ID": boto3.client("kms").create_key()["KeyMetadata"]["KeyId"],
           "WEBHOOK_QUEUE_URL": sqs.create_queue(QueueName="deliveries")["QueueUrl"],
           "WEBHOOK_DEAD_LETTER_QUEUE_URL": sqs.create_queue(QueueName="dead-letters")["QueueUrl"]}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_caches()
    return env
