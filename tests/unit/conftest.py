"""Unit tier: no network at all (sockets blocked); DynamoDB is moto's, in-process."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from customers_core.dal.table import Table, get_table
from customers_core.logic import api_keys
from customers_core.settings import get_settings
from local_stack import template
from moto import mock_aws

from tests.conftest import ROOT

TABLE = "customers-unit"
_n = itertools.count()


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """pytest-socket: any real connection attempt in a unit test fails it."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TABLE_NAME", TABLE)
    get_settings.cache_clear()
    get_table.cache_clear()
    with mock_aws():
        yield
    get_settings.cache_clear()
    get_table.cache_clear()


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


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py, freshly imported (as a new Lambda execution environment would)."""
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"_unit_{name}_{next(_n)}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    function_name = "unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:unit"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> FakeContext:
    return FakeContext()
