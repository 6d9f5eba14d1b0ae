"""Per-account rate limiting (api.md §3: 429 rate_limited with Retry-After) through the real handlers."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from tests.conftest import clear_caches, load_function

LIMIT = 3


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, held still so a test's requests share one second until it moves it."""
    from customers_core import ratelimit

    now = SimpleNamespace(value=1_800_000_000.2)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now.value))
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", str(LIMIT))
    clear_caches()
    return now


@pytest.fixture
def call(make_api_event, lambda_context):
    handlers = {"list": load_function("list_customers"), "create": load_function("create_customer")}

    def run(kind: str, context: dict, *, key: str | None = None, email: str = "x@example.com") -> dict:
        headers = {"idempotency-key": key} if key else {}
        if kind == "list":
            event = make_api_event("GET", "/v1/customers", context=context, headers=headers)
        else:
            event = make_api_event("POST", "/v1/customers", body=json.dumps({"email": email}),
                                   content_type="application/json", context=context, headers=headers)
        return handlers[kind].lambda_handler(event, lambda_context)

    return run


def _count(table, context) -> int:
    from customers_core.auth import principal_from_context
    from customers_core.dal.customers import count_customers

    return count_customers(table, principal_from_context(context).tenant)


def test_the_request_over_the_limit_is_a_429_in_the_contracts_shape(table, account, clock, call, caplog):
    from customers_core.observability import logger

    assert [call("list", account)["statusCode"] for _ in range(LIMIT)] == [200] * LIMIT
    with caplog.at_level(logging.INFO):
        refused = call("list", account)
    # As the function's log line reads (the Powertools formatter adds the appended keys).
    logged = [json.loads(logger.registered_formatter.format(r)) for r in caplog.records
              if r.getMessage() == "request rejected"]
    assert logged and logged[-1]["status"] == 429 and logged[-1]["account"] == account["account_id"]
    assert refused["statusCode"] == 429
    assert json.loads(refused["body"]) == {"error": {
        "type": "rate_limit_error", "code": "rate_limited",
        "message": f"Too many read requests for this account: at most {LIMIT} per second. Retry after the time "
                   "in Retry-After."}}
    assert refused["headers"]["Retry-After"] == "1" and refused["headers"]["Stripe-Should-Retry"] == "true"
    assert refused["headers"]["Request-Id"].startswith("req_")
    clock.value += 1  # the next second has a fresh share
    assert call("list", account)["statusCode"] == 200


def test_reads_and_writes_have_their_own_share_and_a_refused_write_does_nothing(table, account, clock, call):
    for _ in range(LIMIT):
        call("list", account)
    assert call("list", account)["statusCode"] == 429
    made = [call("create", account, email=f"w{n}@example.com")["statusCode"] for n in range(LIMIT + 1)]
    assert made == [200] * LIMIT + [429]
    assert _count(table, account) == LIMIT  # the refused create wrote nothing


def test_each_account_and_mode_has_its_own_share(table, account, clock, call):
    from customers_core.logic import api_keys

    for _ in range(LIMIT):
        call("list", account)
    assert call("list", account)["statusCode"] == 429
    live = api_keys.create_key(table, account["account_id"], "live")
    live_context = {**account, "livemode": True, "key_id": live["id"]}
    other = api_keys.create_account(table, "other")
    other_key = api_keys.create_key(table, other["id"], "test")
    other_context = {**account, "account_id": other["id"], "key_id": other_key["id"]}
    assert call("list", live_context)["statusCode"] == 200
    assert call("list", other_context)["statusCode"] == 200


def test_a_refused_keyed_request_is_not_stored_so_its_retry_runs(table, account, clock, call):
    for n in range(LIMIT):
        call("create", account, email=f"fill{n}@example.com")
    refused = call("create", account, key="retry-me", email="later@example.com")
    assert refused["statusCode"] == 429
    clock.value += 1
    retried = call("create", account, key="retry-me", email="later@example.com")
    assert retried["statusCode"] == 200 and "Idempotent-Replayed" not in retried["headers"]
    assert json.loads(retried["body"])["email"] == "later@example.com"


def test_zero_turns_the_limit_off(table, account, clock, call, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "0")
    clear_caches()
    assert {call("list", account)["statusCode"] for _ in range(LIMIT * 3)} == {200}


def test_a_limiter_that_cannot_reach_the_table_admits_the_request(table, account, clock, call, monkeypatch, caplog):
    from customers_core.dal.table import Table

    real_update = Table.update

    def throttled(self, key, *args, **kwargs):
        if key["pk"].endswith("#RATE"):
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")
        return real_update(self, key, *args, **kwargs)

    monkeypatch.setattr(Table, "update", throttled)
    with caplog.at_level(logging.WARNING):
        assert {call("list", account)["statusCode"] for _ in range(LIMIT + 2)} == {200}
    warnings = [r for r in caplog.records if r.getMessage() == "rate limiter unavailable; request admitted"]
    assert warnings and warnings[0].error == "ThrottlingException"


def _waited(pending) -> None:
    """A reservation runs beside the request; the request's writes (and its answer) wait for it."""
    if pending is not None:
        pending.result()


def _writes_counting(table):
    from customers_core import keys

    writes: list[str] = []
    original = table.update

    def counting(key, *args, **kwargs):
        if key["pk"].endswith("#RATE"):
            writes.append(key["sk"])
        return original(key, *args, **kwargs)

    table.update = counting
    return writes, keys


def test_a_few_requests_a_second_write_nothing_and_a_busy_container_reserves_in_chunks(table):
    from customers_core import keys as key_shapes
    from customers_core.ratelimit import Limiter

    writes, _ = _writes_counting(table)
    tenant, second = key_shapes.tenant("acct_01JLIMITER0000000000000000", False), 1_800_000_000
    limiter = Limiter()
    for _ in range(5):  # the allowance: 100 // 20 per second, no write
        assert limiter.admit(table, tenant, "GET", 100, now=second + 0.5) is None  # admitted on the spot
    assert writes == [] and table.get(key_shapes.rate_window(tenant, "read", second)) is None
    for _ in range(25):  # 30 in all: the allowance accounted, then chunks of 100 // 10
        _waited(limiter.admit(table, tenant, "GET", 100, now=second + 0.5))
    assert len(writes) == 3
    assert table.get(key_shapes.rate_window(tenant, "read", second))["n"] == 35  # 30 used, 5 reserved


def test_a_burst_over_several_containers_is_refused_beyond_the_limit_within_its_second(table, caplog):
    from customers_core import keys as key_shapes
    from customers_core.errors import RateLimited
    from customers_core.ratelimit import Limiter

    tenant, second = key_shapes.tenant("acct_01JLIMITER0000000000000000", False), 1_800_000_000
    containers = [Limiter() for _ in range(3)]
    admitted = refused = 0
    for i in range(300):
        try:
            _waited(containers[i % 3].admit(table, tenant, "POST", 100, now=second + 0.3))
            admitted += 1
        except RateLimited:
            refused += 1
    assert 80 <= admitted <= 100 and refused == 300 - admitted
    # Each environment says so once, not once per refused request.
    assert sum(r.getMessage() == "rate limit reached" for r in caplog.records) == 3
    assert table.get(key_shapes.rate_window(tenant, "write", second))["n"] <= 100
    _waited(containers[0].admit(table, tenant, "POST", 100, now=second + 1.3))  # the next second starts afresh
