"""The authorizer: key → account, mode, scopes; missing, unknown, revoked keys."""

from __future__ import annotations

import pytest
from customers_core.logic import api_keys

from tests.conftest import load_event, load_function


@pytest.fixture
def authorizer(table):
    api_keys._cache.clear()
    return load_function("authorizer")


def _auth(fn, lambda_context, headers):
    event = load_event("authorizer")
    event["headers"] = headers
    result = fn.lambda_handler(event, lambda_context)
    assert result["isAuthorized"] is True  # always; the route answers 401 in the contract's shape
    return result["context"]


def test_bearer_and_x_api_key_both_resolve_the_principal(authorizer, account, lambda_context):
    for headers in ({"authorization": f"Bearer {account['secret']}"}, {"x-api-key": account["secret"]}):
        context = _auth(authorizer, lambda_context, headers)
        assert context["account_id"] == account["account_id"]
        assert context["livemode"] is False
        assert "customers:write" in context["scopes"].split()


def test_missing_key(authorizer, lambda_context):
    assert _auth(authorizer, lambda_context, {}) == {"error": "api_key_missing"}


@pytest.mark.parametrize("secret", ["sk_test_unknown", "pk_test_abc", "Bearer", "sk_live_" + "x" * 300])
def test_unknown_or_malformed_key(authorizer, lambda_context, secret):
    assert _auth(authorizer, lambda_context, {"authorization": f"Bearer {secret}"}) == {"error": "api_key_invalid"}


def test_revoked_key_stops_working(authorizer, table, account, lambda_context):
    api_keys.revoke_key(table, account["key_id"])
    api_keys._cache.clear()  # the in-process cache lasts at most key_cache_seconds (30 s)
    assert _auth(authorizer, lambda_context, {"x-api-key": account["secret"]}) == {"error": "api_key_invalid"}


def test_restricted_key_carries_only_its_scopes(authorizer, table, account, lambda_context):
    key = api_keys.create_key(table, account["account_id"], "live", ["customers:read"])
    assert key["secret"].startswith("rk_live_")
    context = _auth(authorizer, lambda_context, {"x-api-key": key["secret"]})
    assert context["scopes"] == "customers:read" and context["livemode"] is True


def test_keys_are_stored_only_as_hashes(table, account):
    raw = table.client.scan(TableName=table.name)["Items"]
    assert account["secret"] not in repr(raw)
    listed = api_keys.list_keys(table, account["account_id"])
    assert len(listed) == 1 and "secret" not in listed[0]
