"""Every function invoked in-process with its events/ sample, as `sam local invoke -e` would, over
moto (the samples' account, key and customer are seeded first)."""

from __future__ import annotations

import importlib.util
import json
import os

import boto3
import pytest
from customers_core import keys
from customers_core.dal.table import get_table
from customers_core.logic.api_keys import hash_secret
from customers_core.settings import get_settings
from local_stack import template
from moto import mock_aws

from tests.conftest import EVENTS

SAMPLE_ACCOUNT = "acct_01JSAMPLE0000000000000000A"
SAMPLE_SECRET = "sk_test_SAMPLEsampleSAMPLEsampleSAMPLEsample0000"
SAMPLE_CUSTOMER = "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"


class _Context:
    memory_limit_in_mb = 512
    aws_request_id = "sam-local-invoke"

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TABLE_NAME", "customers-api-dev")
    get_settings.cache_clear()
    get_table.cache_clear()
    with mock_aws():
        boto3.client("dynamodb").create_table(**template.table_definition("customers-api-dev"))
        table = get_table()
        table.put({**keys.api_key_lookup(hash_secret(SAMPLE_SECRET)), "entity": "api_key",
                   "account_id": SAMPLE_ACCOUNT, "livemode": False, "scopes": ["customers:read"],
                   "key_id": "key_sample", "revoked": False})
        tenant = keys.tenant(SAMPLE_ACCOUNT, False)
        table.put({**keys.customer(tenant, SAMPLE_CUSTOMER), "entity": "customer", "id": SAMPLE_CUSTOMER,
                   "account_id": SAMPLE_ACCOUNT, "livemode": False, "metadata": {}, "created": 1795435200})
        yield table
    get_settings.cache_clear()
    get_table.cache_clear()


def _invoke(logical_id: str):
    fn = template.functions()[logical_id]
    module_name, _, handler_name = fn.handler.rpartition(".")
    spec = importlib.util.spec_from_file_location(f"_invoke_{logical_id}", fn.code_dir / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = json.loads((EVENTS / f"{fn.code_dir.name}.json").read_text())
    return getattr(module, handler_name)(event, _Context(logical_id))


EXPECTATIONS = {
    "AuthorizerFunction": lambda r: r["isAuthorized"] and r["context"]["account_id"] == SAMPLE_ACCOUNT,
    "CreateCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["object"] == "customer",
    "RetrieveCustomerFunction": lambda r: r["statusCode"] == 200 and json.loads(r["body"])["id"] == SAMPLE_CUSTOMER,
    "StreamFanoutFunction": lambda r: r == {"batchItemFailures": []},
}


def test_expectations_cover_every_function():
    assert set(EXPECTATIONS) == set(template.functions())


@pytest.mark.parametrize("logical_id", sorted(EXPECTATIONS))
def test_function_runs_with_its_sample_event(seeded, logical_id):
    assert os.environ["TABLE_NAME"] == "customers-api-dev"
    result = _invoke(logical_id)
    assert EXPECTATIONS[logical_id](result), result
