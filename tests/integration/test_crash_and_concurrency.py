"""What a write promises under crashes and concurrency, on the real engine: a retry after a crash at any
point gets the committed answer (api.md §8), and one account's concurrent creates do not serialize on
one item (issue 10)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import Table
from customers_core.logic.customers import create_customer, list_customers
from customers_core.logic.search import search_customers
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.search import SearchParams

from tests.conftest import load_function

ACCOUNT: dict[str, Any] = {
    "account_id": "acct_01JCRASH00000000000000000A", "livemode": False,
    "scopes": "customers:read customers:write customers:delete webhooks:read webhooks:write events:read"}
WHO = Principal(ACCOUNT["account_id"], False, frozenset(ACCOUNT["scopes"].split()), "key_x")


class Crash(Exception):
    """The process dying at a chosen point of the write path."""


@pytest.fixture
def post(webhook_aws, make_api_event, lambda_context):
    handlers: dict[str, object] = {}

    def call(function: str, path: str, body: dict, key: str, **path_parameters: str) -> dict:
        fn = handlers.setdefault(function, load_function(function))
        event = make_api_event("POST", path, body=json.dumps(body), content_type="application/json",
                               context=ACCOUNT, headers={"idempotency-key": key},
                               path_parameters=path_parameters or None)
        return fn.lambda_handler(event, lambda_context)  # type: ignore[attr-defined]

    return call


def _crash_after_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Table.transact_write

    def commit_then_die(self: Table, operations: list) -> None:
        original(self, operations)
        monkeypatch.setattr(Table, "transact_write", original)  # once
        raise Crash("died right after the commit")

    monkeypatch.setattr(Table, "transact_write", commit_then_die)


def _crash_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Table.transact_write

    def die(self: Table, operations: list) -> None:
        monkeypatch.setattr(Table, "transact_write", original)
        raise Crash("died before the commit")

    monkeypatch.setattr(Table, "transact_write", die)


def test_a_create_retried_after_a_crash_after_its_commit_replays_the_customer(post, table, monkeypatch):
    _crash_after_commit(monkeypatch)
    first = post("create_customer", "/v1/customers", {"email": "ada@example.com", "name": "Ada"}, "k-1")
    assert first["statusCode"] == 500  # the client never heard; the customer exists
    retry = post("create_customer", "/v1/customers", {"email": "ada@example.com", "name": "Ada"}, "k-1")
    assert retry["statusCode"] == 200, retry["body"]
    assert retry["headers"]["Idempotent-Replayed"] == "true"
    customers = list_customers(table, WHO, ListCustomersParams(limit=10))["data"]
    assert [c["id"] for c in customers] == [json.loads(retry["body"])["id"]]
    assert customers[0]["email"] == "ada@example.com"


def test_an_update_retried_after_a_crash_after_its_commit_replays_and_changes_nothing_twice(post, table,
                                                                                         monkeypatch):
    created = json.loads(post("create_customer", "/v1/customers", {"name": "Ada"}, "c-1")["body"])
    _crash_after_commit(monkeypatch)
    path = f"/v1/customers/{created['id']}"
    body = {"metadata": {"plan": "pro"}, "tags": ["vip"]}
    assert post("update_customer", path, body, "u-1", customer_id=created["id"])["statusCode"] == 500
    retry = post("update_customer", path, body, "u-1", customer_id=created["id"])
    assert retry["statusCode"] == 200 and retry["headers"]["Idempotent-Replayed"] == "true"
    stored = dal.get_customer(table, WHO.tenant, created["id"])
    assert stored is not None and stored["version"] == 2  # the change happened once
    assert json.loads(retry["body"])["metadata"] == {"plan": "pro"}


def test_a_crash_before_the_commit_leaves_nothing_that_blocks_the_retry(post, table, monkeypatch):
    _crash_before_commit(monkeypatch)
    first = post("create_customer", "/v1/customers", {"email": "grace@example.com"}, "k-2")
    assert first["statusCode"] == 500
    retry = post("create_customer", "/v1/customers", {"email": "grace@example.com"}, "k-2")
    assert retry["statusCode"] == 200 and "Idempotent-Replayed" not in retry["headers"]
    assert len(list_customers(table, WHO, ListCustomersParams(limit=10))["data"]) == 1


def test_fifty_concurrent_creates_of_one_account_all_succeed_and_the_count_stays_exact(table, record_property):
    retries_before = dal.conflict_retries

    def create(i: int) -> str:
        params = CustomerParams.model_validate({"email": f"c{i}@example.com", "name": f"Con Current {i}",
                                                "tags": ["vip"] if i % 2 else []})
        return create_customer(table, WHO, params, {})["id"]

    with ThreadPoolExecutor(max_workers=50) as pool:
        created = list(pool.map(create, range(50)))
    assert len(set(created)) == 50
    conflicts = dal.conflict_retries - retries_before
    record_property("conflict_retries", conflicts)  # DynamoDB Local runs transactions one at a time: 0 here
    assert dal.count_customers(table, WHO.tenant) == 50
    assert dal.count_customers(table, WHO.tenant, "tag", "vip") == 25
    listed = list_customers(table, WHO, ListCustomersParams(limit=100, include=["total_count"]))
    assert listed["total_count"] == 50 and len(listed["data"]) == 50
    found = search_customers(table, WHO, SearchParams(query='name~"con"', limit=100))
    assert len(found["data"]) == 50


def test_a_create_refused_as_a_duplicate_leaves_no_search_tokens(table):
    """Token puts run beside the transaction; when the transaction fails, a create's tokens (of an id
    that will never exist) are removed before the 409 is answered."""
    from customers_core import keys
    from customers_core.errors import Conflict

    create_customer(table, WHO, CustomerParams.model_validate({"email": "taken@example.com"}), {})
    with pytest.raises(Conflict):
        create_customer(table, WHO, CustomerParams.model_validate(
            {"email": "taken@example.com", "name": "Zebediah Quux", "metadata": {"plan": "zzz"}}), {})
    for field, token in (("name", "zebediah"), ("name", "quux"), ("metadata", "plan=zzz")):
        assert table.query_partition(keys.search_bucket(WHO.tenant, field, token)) == []
