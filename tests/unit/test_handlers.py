"""The API functions end to end in-process over moto: create, retrieve, auth errors, isolation."""

from __future__ import annotations

import json

import pytest
from customers_core import keys
from customers_core.dal.customers import count_customers
from customers_core.dal.table import Table

from tests.conftest import load_function


@pytest.fixture
def create_fn(table):
    return load_function("create_customer")


@pytest.fixture
def retrieve_fn(table):
    return load_function("retrieve_customer")


def _create(fn, ctx, lambda_context, make_api_event, body, content_type="application/json", headers=None):
    event = make_api_event("POST", "/v1/customers", body=body, content_type=content_type, context=ctx,
                           headers=headers)
    response = fn.lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def _retrieve(fn, ctx, lambda_context, make_api_event, customer_id):
    event = make_api_event("GET", f"/v1/customers/{customer_id}", context=ctx,
                           path_parameters={"id": customer_id})
    response = fn.lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_create_then_retrieve_returns_the_same_customer(create_fn, retrieve_fn, account, lambda_context,
                                                         make_api_event):
    status, created, headers = _create(create_fn, account, lambda_context, make_api_event,
                                       json.dumps({"email": "ada@example.com", "name": "Ada",
                                                   "metadata": {"plan": "pro"}}))
    assert status == 200
    assert headers["Request-Id"].startswith("req_")
    assert created["object"] == "customer" and created["livemode"] is False
    assert created["metadata"] == {"plan": "pro"}
    status, fetched = _retrieve(retrieve_fn, account, lambda_context, make_api_event, created["id"])
    assert status == 200
    assert fetched == created


def test_form_encoded_create_gives_the_same_customer_as_json(create_fn, account, lambda_context, make_api_event):
    _, by_form, _ = _create(create_fn, account, lambda_context, make_api_event,
                            "email=f%40example.com&name=Ada&metadata[plan]=pro", "application/x-www-form-urlencoded")
    _, by_json, _ = _create(create_fn, account, lambda_context, make_api_event,
                            json.dumps({"email": "j@example.com", "name": "Ada", "metadata": {"plan": "pro"}}))
    strip = lambda c: {k: v for k, v in c.items() if k not in ("id", "email", "created", "updated")}  # noqa: E731
    assert strip(by_form) == strip(by_json)


def test_create_returns_409_when_email_taken_in_any_case(create_fn, account, lambda_context, make_api_event):
    assert _create(create_fn, account, lambda_context, make_api_event, '{"email":"Ada@Example.com"}')[0] == 200
    status, body, headers = _create(create_fn, account, lambda_context, make_api_event, '{"email":"ada@example.COM"}')
    assert status == 409
    assert body["error"] == {"type": "invalid_request_error", "code": "email_taken",
                             "message": "A customer with this email already exists.", "param": "email"}
    # The SDKs retry any 409 unless told not to; a taken email stays taken.
    assert headers["Stripe-Should-Retry"] == "false"


def test_same_email_is_free_in_the_other_mode(create_fn, account, lambda_context, make_api_event):
    live = {**account, "livemode": True}
    assert _create(create_fn, account, lambda_context, make_api_event, '{"email":"a@example.com"}')[0] == 200
    status, body, _ = _create(create_fn, live, lambda_context, make_api_event, '{"email":"a@example.com"}')
    assert status == 200 and body["livemode"] is True


def test_failed_create_writes_nothing(create_fn, table: Table, account, lambda_context, make_api_event):
    _create(create_fn, account, lambda_context, make_api_event, '{"email":"a@example.com"}')
    _create(create_fn, account, lambda_context, make_api_event, '{"email":"A@example.com","name":"dup"}')
    assert count_customers(table, keys.tenant(account["account_id"], False)) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{bad", "application/json", 400, "body_invalid_json"),
        ('{"bogus":1}', "application/json", 400, "parameter_unknown"),
        ('{"email":"nope"}', "application/json", 400, "parameter_invalid"),
        ('["not", "an object"]', "application/json", 400, "parameter_invalid"),
        ("<x/>", "application/xml", 415, "content_type_unsupported"),
        ("x" * (1024 * 1024 + 10), "application/json", 413, "body_too_large"),
    ],
)
def test_bad_input_is_a_clear_4xx(create_fn, account, lambda_context, make_api_event, body, content_type, status,
                                  code):
    got_status, got, headers = _create(create_fn, account, lambda_context, make_api_event, body, content_type)
    assert (got_status, got["error"]["code"]) == (status, code)
    assert headers["Request-Id"].startswith("req_")


def test_missing_key_is_401_api_key_missing(create_fn, lambda_context, make_api_event):
    status, body, _ = _create(create_fn, {"error": "api_key_missing"}, lambda_context, make_api_event, "{}")
    assert status == 401 and body["error"]["code"] == "api_key_missing"


def test_invalid_key_is_401_api_key_invalid(retrieve_fn, lambda_context, make_api_event):
    status, body = _retrieve(retrieve_fn, {"error": "api_key_invalid"}, lambda_context, make_api_event, "cus_x")
    assert status == 401 and body["error"]["code"] == "api_key_invalid"


def test_restricted_key_without_write_scope_is_403_naming_it(create_fn, account, lambda_context, make_api_event):
    read_only = {**account, "scopes": "customers:read"}
    status, body, _ = _create(create_fn, read_only, lambda_context, make_api_event, "{}")
    assert status == 403 and "customers:write" in body["error"]["message"]


def test_other_accounts_customer_is_404_like_a_missing_one(create_fn, retrieve_fn, account, lambda_context,
                                                           make_api_event):
    _, created, _ = _create(create_fn, account, lambda_context, make_api_event, "{}")
    stranger = {**account, "account_id": "acct_01JSTRANGER000000000000000"}
    other_mode = {**account, "livemode": True}
    missing_id = "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"
    answers = [_retrieve(retrieve_fn, ctx, lambda_context, make_api_event, cid)
               for ctx, cid in ((stranger, created["id"]), (other_mode, created["id"]), (account, missing_id))]
    assert {a[0] for a in answers} == {404}
    assert [a[1]["error"]["code"] for a in answers] == ["resource_missing"] * 3


def test_uuid_form_retrieves_the_customer(create_fn, retrieve_fn, account, lambda_context, make_api_event):
    from ulid import ULID

    _, created, _ = _create(create_fn, account, lambda_context, make_api_event, "{}")
    as_uuid = str(ULID.from_str(created["id"][4:]).to_uuid())
    status, fetched = _retrieve(retrieve_fn, account, lambda_context, make_api_event, as_uuid)
    assert status == 200 and fetched["id"] == created["id"]


@pytest.fixture
def log_output():
    """Everything the shared logger writes, formatted as in production."""
    import io
    import logging

    from customers_core.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield stream
    # Powertools' Logger has addHandler but no removeHandler of its own: the standard logger it wraps.
    logging.getLogger(logger.name).removeHandler(handler)


def test_logs_carry_request_id_and_no_personal_data(create_fn, account, lambda_context, make_api_event, log_output):
    _create(create_fn, account, lambda_context, make_api_event, '{"email":"secret.person@example.com","name":"Zed Q"}')
    _create(create_fn, account, lambda_context, make_api_event, '{"email":"secret.person@example.com"}')
    out = log_output.getvalue()
    assert '"request_id":"req_' in out and account["account_id"] in out
    assert "secret.person" not in out and "Zed Q" not in out
