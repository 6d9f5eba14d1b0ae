"""Authentication in the route's function (api.md §2): key → account, mode, scopes; missing, unknown,
revoked keys get the contract's 401; the lookup is reused for key_cache_seconds."""

from __future__ import annotations

import json

import pytest
from customers_core.logic import api_keys

from tests.conftest import load_function


@pytest.fixture
def retrieve(make_api_event, lambda_context, table):
    fn = load_function("list_customers")

    def call(headers: dict[str, str]) -> tuple[int, dict]:
        event = make_api_event("GET", "/v1/customers", headers=headers)
        result = fn.lambda_handler(event, lambda_context)
        return result["statusCode"], json.loads(result["body"])

    return call


def test_bearer_and_x_api_key_both_authenticate(retrieve, account):
    for headers in ({"authorization": f"Bearer {account['secret']}"}, {"x-api-key": account["secret"]}):
        status, body = retrieve(headers)
        assert status == 200 and body["object"] == "list"


def test_a_missing_key_is_401_api_key_missing(retrieve):
    status, body = retrieve({})
    assert status == 401 and body["error"]["code"] == "api_key_missing"


@pytest.mark.parametrize("secret", ["sk_test_unknown", "pk_test_abc", "Bearer", "sk_live_" + "x" * 300])
def test_an_unknown_or_malformed_key_is_401_api_key_invalid(retrieve, secret):
    status, body = retrieve({"authorization": f"Bearer {secret}"})
    assert status == 401 and body["error"]["code"] == "api_key_invalid"


def test_a_revoked_key_stops_working(retrieve, table, account):
    api_keys.revoke_key(table, account["key_id"])
    api_keys._cache.clear()  # the in-process cache lasts at most key_cache_seconds (30 s)
    status, body = retrieve({"x-api-key": account["secret"]})
    assert status == 401 and body["error"]["code"] == "api_key_invalid"


def test_a_restricted_key_carries_only_its_scopes_and_mode(make_api_event, lambda_context, table, account):
    key = api_keys.create_key(table, account["account_id"], "live", ["customers:read"])
    assert key["secret"].startswith("rk_live_")
    headers = {"authorization": f"Bearer {key['secret']}"}
    listed = load_function("list_customers").lambda_handler(
        make_api_event("GET", "/v1/customers", headers=headers), lambda_context)
    assert listed["statusCode"] == 200 and json.loads(listed["body"])["data"] == []
    created = load_function("create_customer").lambda_handler(
        make_api_event("POST", "/v1/customers", body="{}", content_type="application/json", headers=headers),
        lambda_context)
    assert created["statusCode"] == 403 and "customers:write" in json.loads(created["body"])["error"]["message"]


def test_the_key_lookup_is_reused_within_the_cache_time(retrieve, table, account):
    api_keys._cache.clear()
    reads: list[str] = []
    original = table.get

    def counting(key, **kwargs):
        reads.append(key["pk"])
        return original(key, **kwargs)

    table.get = counting  # type: ignore[method-assign]
    for _ in range(3):
        assert retrieve({"x-api-key": account["secret"]})[0] == 200
    assert sum(pk.startswith("APIKEY#") for pk in reads) == 1


def test_keys_are_stored_only_as_hashes(table, account):
    raw = table.client.scan(TableName=table.name)["Items"]
    assert account["secret"] not in repr(raw)
    listed = api_keys.list_keys(table, account["account_id"])
    assert len(listed) == 1 and "secret" not in listed[0]


def test_a_busy_key_is_looked_up_again_beside_a_request_before_its_entry_expires(retrieve, table, account,
                                                                                 monkeypatch):
    """After half the cache time, a request answers from the cache while the key is read again beside
    it (customers_core.beside): no request of a busy key waits for a lookup, and a revocation still
    bites within key_cache_seconds × 2."""
    from types import SimpleNamespace

    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(api_keys, "time", SimpleNamespace(monotonic=lambda: clock.now, time=lambda: 0))
    api_keys._cache.clear()
    headers = {"x-api-key": account["secret"]}
    assert retrieve(headers)[0] == 200  # looked up, cached at 1000
    clock.now = 1020.0  # past half of 30 s: answered from the cache, looked up again beside it
    api_keys.revoke_key(table, account["key_id"])
    assert retrieve(headers)[0] == 200
    assert api_keys.hash_secret(account["secret"]) not in api_keys._cache  # the refresh saw the revocation
    status, body = retrieve(headers)
    assert status == 401 and body["error"]["code"] == "api_key_invalid"
