"""Plain HTTP against the local stack: the contract's responses, auth, and events from the stream."""

from __future__ import annotations

import time
from typing import Any

import requests
from customers_core.dal import events as events_dal
from customers_core.keys import tenant
from customers_core.logic.events import event_object


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_key_is_401_in_the_contracts_shape(stack):
    response = requests.get(f"{stack['api_url']}/v1/customers/cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": {
        "type": "invalid_request_error", "code": "api_key_missing",
        "message": "You did not provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key'."}}
    assert response.headers["Request-Id"].startswith("req_")


def test_unknown_key_is_401_api_key_invalid(stack):
    response = requests.post(f"{stack['api_url']}/v1/customers", headers=_auth("sk_test_nope"), json={}, timeout=10)
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_invalid"


def test_create_and_retrieve_over_http_with_json_and_x_api_key(stack):
    created = requests.post(f"{stack['api_url']}/v1/customers", headers=_auth(stack["secret_key"]),
                            json={"email": "http@example.com", "name": "Http", "metadata": {"k": "v"}}, timeout=10)
    assert created.status_code == 200, created.text
    customer = created.json()
    fetched = requests.get(f"{stack['api_url']}/v1/customers/{customer['id']}",
                           headers={"x-api-key": stack["secret_key"]}, timeout=10)
    assert fetched.status_code == 200 and fetched.json() == customer


def test_a_created_customer_becomes_an_event_within_a_second(stack, stack_table):
    customer = requests.post(f"{stack['api_url']}/v1/customers", headers=_auth(stack["secret_key"]),
                             data={"name": "Evented"}, timeout=10)
    assert customer.status_code == 200
    customer_id, request_id = customer.json()["id"], customer.headers["Request-Id"]
    deadline, found = time.monotonic() + 1.0, None
    while found is None and time.monotonic() < deadline:
        for item in events_dal.list_events(stack_table, tenant(stack["account_id"], False), limit=50):
            body = event_object(item)
            if body["data"]["object"]["id"] == customer_id:
                found = body
        time.sleep(0.05)
    assert found is not None, "no event within 1 s"
    assert found["type"] == "customer.created"
    assert found["request"]["id"] == request_id


def test_form_and_json_updates_give_the_same_customer(stack):
    url = f"{stack['api_url']}/v1/customers"
    as_form = requests.post(url, headers=_auth(stack["secret_key"]), data={"name": "P"}, timeout=10).json()
    as_json = requests.post(url, headers=_auth(stack["secret_key"]), json={"name": "P"}, timeout=10).json()
    form_body = {"name": "Q", "metadata[a]": "1", "metadata[b]": "", "address[city]": "Rome", "tags[0]": "x",
                 "tags[1]": "y", "custom_fields[seats]": "4", "expand[0]": "wallets"}
    json_body: dict[str, Any] = {"name": "Q", "metadata": {"a": "1", "b": ""}, "address": {"city": "Rome"},
                                 "tags": ["x", "y"], "custom_fields": {"seats": "4"}, "expand": ["wallets"]}
    by_form = requests.post(f"{url}/{as_form['id']}", headers=_auth(stack["secret_key"]), data=form_body,
                            timeout=10).json()
    by_json = requests.patch(f"{url}/{as_json['id']}", headers=_auth(stack["secret_key"]), json=json_body,
                             timeout=10).json()
    ignore = ("id", "created", "updated")
    def strip(customer):
        return {k: v for k, v in customer.items() if k not in ignore}

    assert strip(by_form) == strip(by_json)


def test_array_create_over_http(stack):
    response = requests.post(f"{stack['api_url']}/v1/customers", headers=_auth(stack["secret_key"]),
                             json=[{"name": "one"}, {"name": "two"}], timeout=10)
    assert response.status_code == 200 and [c["name"] for c in response.json()["data"]] == ["one", "two"]
