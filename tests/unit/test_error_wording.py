"""Errors in the contract's voice (api.md §3): what a parameter must be, never the validator's wording
nor a regular expression; a hint for JSON sent without its Content-Type; an email needs a domain with
a dot; a body that is not UTF-8 is refused, not stored with U+FFFD."""

from __future__ import annotations

import base64
import inspect
import json
import re
from typing import Any

import pytest
from customers_core.errors import ApiError, InvalidRequest, UnsupportedMediaType
from customers_core.http import decode_body, parse_query, validation_error
from customers_core.models import customer, listing, messages, search, wallets, webhooks
from local_stack.http_api import build_event
from pydantic import BaseModel, ValidationError

from tests.conftest import load_function

PARAMS_MODELS = [m for module in (customer, listing, search, wallets, webhooks) for _, m in
                 inspect.getmembers(module, inspect.isclass)
                 if issubclass(m, BaseModel) and m.__module__ == module.__name__
                 and m.model_config.get("extra") == "forbid"]
# What pydantic (or a regular expression) would say; none of it may reach a message.
FOREIGN = re.compile(r"Input should|String should|should (match|have)|Value error|pydantic|valid dictionary|"
                     r"unable to parse|\^|\$\)|\\[dswDSW]|\[0-9|\{\d+(,\d*)?\}|\]\+|\(\?P?<")
BAD_VALUES: list[Any] = [12345, "x" * 6000, "not-valid", "", [], {}, ["a b"], {"a[": "b"}, -5, 10**12, "1.5", True,
                         [{"x": 1}], {"k": [1]}, None]


def _errors() -> list[tuple[str, str, ApiError]]:
    """Every model × field × bad value that fails, as the contract's error."""
    found: list[tuple[str, str, ApiError]] = []
    for model in PARAMS_MODELS:
        for field in model.model_fields:
            for value in BAD_VALUES:
                try:
                    model.model_validate({field: value})
                except ValidationError as exc:
                    found.append((model.__name__, field, validation_error(exc)))
                except ApiError as exc:  # a validator's own contract error (e.g. parameter_unsupported)
                    found.append((model.__name__, field, exc))
    return found


def test_every_validation_message_is_in_the_contracts_voice():
    errors = _errors()
    assert len(PARAMS_MODELS) >= 7 and len(errors) > 200
    bad = [(model, field, err.message) for model, field, err in errors if FOREIGN.search(err.message)]
    assert bad == []
    for _, _, err in errors:
        assert err.message.endswith((".", err.param or "")) and err.param, err.message


def test_every_pattern_of_the_models_is_said_in_words():
    def patterns(schema: Any) -> set[str]:
        if isinstance(schema, dict):
            own = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
            return own.union(*(patterns(v) for v in schema.values()))
        if isinstance(schema, list):
            return set().union(*(patterns(v) for v in schema))
        return set()

    used = set().union(*(patterns(m.model_json_schema()) for m in PARAMS_MODELS))
    assert used and used <= set(messages.PATTERNS), used - set(messages.PATTERNS)


@pytest.mark.parametrize(("model", "data", "param", "message"), [
    (listing.ListCustomersParams, {"limit": "abc"}, "limit", "Invalid limit: must be an integer."),
    (listing.ListCustomersParams, {"limit": "1000"}, "limit", "Invalid limit: must be at most 100."),
    (listing.ListCustomersParams, {"starting_after": "cus_nope"}, "starting_after",
     "Invalid starting_after: must be a customer id (cus_…) or the same id as a UUID."),
    (listing.ListCustomersParams, {"created": {"gte": "soon"}}, "created[gte]",
     "Invalid created[gte]: must be an integer."),
    (customer.CustomerParams, {"status": "gone"}, "status", "Invalid status: must be 'active' or 'inactive'."),
    (customer.CustomerParams, {"image": "ftp://x"}, "image",
     "Invalid image: must be an http:// or https:// URL without spaces."),
    (customer.CustomerParams, {"address": "London"}, "address",
     "Invalid address: must be an object (address[key]=… in form encoding)."),
    (customer.CustomerParams, {"name": "x" * 300}, "name", "Invalid name: must be at most 256 characters."),
    (wallets.WalletUpdate, {"authorized_at": "soon"}, "authorized_at", "Invalid authorized_at: must be an integer."),
])
def test_messages_say_what_the_parameter_must_be(model, data, param, message):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    err = validation_error(caught.value)
    assert (err.param, err.message) == (param, message)


@pytest.mark.parametrize("email", ["x@y", "ada@localhost", "a@b"])
def test_an_email_needs_a_domain_with_a_dot(email):
    with pytest.raises(ValidationError) as caught:
        customer.CustomerParams.model_validate({"email": email})
    err = validation_error(caught.value)
    assert (err.code, err.param) == ("parameter_invalid", "email")
    assert err.message.startswith("Invalid email: is not a valid email address")
    if email == "x@y":
        assert err.message.endswith("(its domain needs a dot, as in example.com).")


@pytest.mark.parametrize("email", ["a@b.co", "Ada@Example.com", "x@sub.example.test", "z@bücher.de"])
def test_emails_with_a_dotted_domain_pass(email):
    assert customer.CustomerParams.model_validate({"email": email}).email == email


def _event(body: bytes | str, content_type: str | None, *, base64_encoded: bool = False) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    return {"body": base64.b64encode(raw).decode() if base64_encoded else raw.decode(),
            "isBase64Encoded": base64_encoded, "headers": {"content-type": content_type} if content_type else {}}


def test_json_sent_as_curls_default_form_type_gets_a_hint():
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_body(_event('{"email":"ada@example.com"}', "application/x-www-form-urlencoded"))
    assert caught.value.status == 415 and caught.value.code == "content_type_unsupported"
    assert "Content-Type: application/json" in caught.value.message and "curl -d" in caught.value.message
    assert "Received unknown parameter" not in caught.value.message


def test_json_sent_without_any_content_type_gets_the_hint_too():
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_body(_event('[{"email":"a@example.com"}]', None))
    assert "looks like JSON: add the header Content-Type: application/json" in caught.value.message


def test_a_form_body_starting_with_a_brace_that_is_not_json_is_still_a_form():
    assert decode_body(_event("{x=1", "application/x-www-form-urlencoded")) == {"{x": "1"}


def test_malformed_json_says_where_not_how_python_parses():
    with pytest.raises(InvalidRequest) as caught:
        decode_body(_event('{"email": "a@b.co",}', "application/json"))
    assert caught.value.message.startswith("The body is not valid JSON (line 1, column 19): ")
    assert caught.value.code == "body_invalid_json"


@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"name": "Ad\xff"}', "application/json"),
    (b"name=Ad\xff", "application/x-www-form-urlencoded"),
    (b"name=Ad%FF", "application/x-www-form-urlencoded"),
    (b"name=Ad%C3", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_utf8_is_refused(body, content_type):
    with pytest.raises(InvalidRequest) as caught:
        decode_body(_event(body, content_type, base64_encoded=True))
    assert caught.value.status == 400 and "UTF-8" in caught.value.message


def test_query_strings_that_are_not_utf8_are_refused_by_parse_query():
    assert parse_query("email=a%40b.co&name=Ad%C3%A9") == [("email", "a@b.co"), ("name", "Adé")]
    with pytest.raises(InvalidRequest) as caught:
        parse_query("name=Ad%FF")
    assert "UTF-8" in caught.value.message


def test_the_local_stack_passes_invalid_utf8_as_bytes_not_replacement_characters():
    bad = build_event("POST", "/v1/customers", {"Content-Type": "application/json"}, b'{"name":"\xff"}', None, {})
    assert bad["isBase64Encoded"] is True and base64.b64decode(bad["body"]) == b'{"name":"\xff"}'
    good = build_event("POST", "/v1/customers", {"Content-Type": "application/json"}, '{"name":"é"}'.encode(),
                       None, {})
    assert good["isBase64Encoded"] is False and good["body"] == '{"name":"é"}'


def test_through_the_create_function(table, account, lambda_context, make_api_event):
    create = load_function("create_customer")

    def post(body: bytes, content_type: str | None) -> tuple[int, dict[str, Any]]:
        event = make_api_event("POST", "/v1/customers", content_type=content_type, context=account)
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
        response = create.lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"])

    status, body = post(b'{"email":"x@y"}', "application/json")
    assert status == 400 and body["error"]["param"] == "email" and "needs a dot" in body["error"]["message"]
    status, body = post(b'{"name":"Ad\xff"}', "application/json")
    assert status == 400 and "UTF-8" in body["error"]["message"]
    status, body = post(b'{"email":"ada@example.com"}', "application/x-www-form-urlencoded")
    assert status == 415 and "Content-Type: application/json" in body["error"]["message"]
    status, body = post('{"name":"Adé"}'.encode(), "application/json")
    assert status == 200 and body["name"] == "Adé"


def test_a_query_string_that_is_not_utf8_is_a_400(make_api_event, lambda_context, account):
    from tests.conftest import load_function

    event = make_api_event("GET", "/v1/customers", context=account)
    event["rawQueryString"] = "email=%FF%FE"
    response = load_function("list_customers").lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400 and "UTF-8" in response["body"]
