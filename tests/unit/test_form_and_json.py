"""Bodies: JSON and Stripe's form encoding decode to the same structure; bad bodies get the 4xx."""

from __future__ import annotations

import pytest
from customers_core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from customers_core.http import decode_body, decode_form, error_param


def _event(body: str, content_type: str) -> dict:
    return {"body": body, "headers": {"Content-Type": content_type}, "isBase64Encoded": False}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("name", "Ada")], {"name": "Ada"}),
        ([("metadata[plan]", "pro"), ("metadata[seats]", "4")], {"metadata": {"plan": "pro", "seats": "4"}}),
        ([("address[city]", "Paris")], {"address": {"city": "Paris"}}),
        ([("tags[0]", "vip"), ("tags[1]", "new")], {"tags": ["vip", "new"]}),
        ([("tags[]", "vip"), ("tags[]", "new")], {"tags": ["vip", "new"]}),
        ([("expand[0]", "wallets")], {"expand": ["wallets"]}),
        ([("metadata[0]", "zero")], {"metadata": {"0": "zero"}}),  # map keys stay keys
        ([("metadata[plan]", "")], {"metadata": {"plan": ""}}),
    ],
)
def test_form_decoding_uses_bracket_notation(pairs, expected):
    assert decode_form(pairs) == expected


def test_form_and_json_bodies_decode_identically():
    form = decode_body(_event("email=a%40b.co&name=Ada&metadata[plan]=pro", "application/x-www-form-urlencoded"))
    as_json = decode_body(_event('{"email":"a@b.co","name":"Ada","metadata":{"plan":"pro"}}', "application/json"))
    assert form == as_json


def test_malformed_json_is_400_body_invalid_json():
    with pytest.raises(InvalidRequest) as caught:
        decode_body(_event("{nope", "application/json"))
    assert caught.value.code == "body_invalid_json"


def test_unsupported_content_type_is_415():
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_body(_event("<a/>", "text/xml"))
    assert caught.value.status == 415


def test_body_over_one_mebibyte_is_413():
    with pytest.raises(PayloadTooLarge):
        decode_body(_event("x" * (1024 * 1024 + 1), "application/json"))


def test_malformed_bracket_name_is_400_naming_it():
    with pytest.raises(InvalidRequest) as caught:
        decode_form([("metadata[plan", "x")])
    assert caught.value.param == "metadata[plan"


@pytest.mark.parametrize(
    ("loc", "param"),
    [(("email",), "email"), (("address", "city"), "address[city]"), (("metadata", "k"), "metadata[k]"),
     ((3, "email"), "[3].email"), (("tags", 2), "tags[2]")],
)
def test_error_params_are_named_as_the_contract_names_them(loc, param):
    assert error_param(loc) == param
