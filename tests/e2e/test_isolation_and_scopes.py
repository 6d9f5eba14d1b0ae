"""Tenancy and scopes on every customer route, over real HTTP: another account's or the other mode's
customer is a 404 indistinguishable from a missing one; restricted keys get 403 naming the scope."""

from __future__ import annotations

from typing import Any

import pytest
import requests


def _call(stack, key, method, path, **kwargs):
    response = requests.request(method, f"{stack['api_url']}{path}", headers={"x-api-key": key}, timeout=10,
                                **kwargs)
    return response.status_code, response.json()


def _routes(customer_id):
    return [("GET", f"/v1/customers/{customer_id}", {}),
            ("POST", f"/v1/customers/{customer_id}", {"json": {"name": "x"}}),
            ("PATCH", f"/v1/customers/{customer_id}", {"json": {"name": "x"}}),
            ("PUT", f"/v1/customers/{customer_id}", {"json": {"name": "x"}}),
            ("DELETE", f"/v1/customers/{customer_id}", {})]


def test_other_accounts_and_modes_see_nothing_on_any_route(stack, new_account):
    owner = new_account("test")
    created = requests.post(f"{stack['api_url']}/v1/customers", headers={"x-api-key": owner}, timeout=10,
                            json={"email": "owned@example.com", "external_id": "owned", "tags": ["iso"]}).json()
    strangers = [stack["secret_key"], new_account("live")]  # another account; the same account's live mode
    missing = "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"
    for key in strangers:
        for (method, path, kwargs), (_, missing_path, _) in zip(_routes(created["id"]), _routes(missing),
                                                              strict=True):
            status, body = _call(stack, key, method, path, **kwargs)
            missing_status, missing_body = _call(stack, key, method, missing_path, **kwargs)
            assert status == missing_status == 404, (method, path)
            assert body["error"]["code"] == missing_body["error"]["code"] == "resource_missing"
            assert body["error"]["message"].replace(created["id"], "ID") == \
                missing_body["error"]["message"].replace(missing, "ID")
        for query in ({"email": "owned@example.com"}, {"external_id": "owned"}, {"tag": "iso"}, {}):
            status, listed = _call(stack, key, "GET", "/v1/customers", params=query)
            assert status == 200 and created["id"] not in [c["id"] for c in listed["data"]]
        # Their own create with the same email and external_id is free.
        assert _call(stack, key, "POST", "/v1/customers",
                     json={"email": "owned@example.com", "external_id": "owned"})[0] == 200
    assert _call(stack, owner, "GET", f"/v1/customers/{created['id']}")[0] == 200


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (("customers:read",), {"list", "retrieve"}),
        (("customers:write",), {"list", "retrieve", "create", "update"}),
        (("customers:delete",), {"delete"}),
        (("events:read",), set()),
    ],
)
def test_restricted_keys_reach_only_their_scopes(stack, new_account, scopes, allowed):
    full, restricted = new_account("test"), new_account("test", *scopes)
    customer_id = _call(stack, full, "POST", "/v1/customers", json={})[1]["id"]
    attempts: dict[str, tuple[str, str, dict[str, Any], str]] = {
        "list": ("GET", "/v1/customers", {}, "customers:read"),
        "retrieve": ("GET", f"/v1/customers/{customer_id}", {}, "customers:read"),
        "create": ("POST", "/v1/customers", {"json": {}}, "customers:write"),
        "update": ("PATCH", f"/v1/customers/{customer_id}", {"json": {"name": "n"}}, "customers:write"),
        "delete": ("DELETE", f"/v1/customers/{customer_id}", {}, "customers:delete"),
    }
    for name, (method, path, kwargs, scope) in attempts.items():
        status, body = _call(stack, restricted, method, path, **kwargs)
        if name in allowed:
            assert status == 200, (name, body)
        else:
            assert status == 403 and body["error"]["code"] == "permission_denied", (name, body)
            assert scope in body["error"]["message"]


def test_unknown_route_is_404_route_not_found(stack):
    status, body = _call(stack, stack["secret_key"], "GET", "/v1/nothing")
    assert status == 404 and body["error"]["code"] == "route_not_found"
