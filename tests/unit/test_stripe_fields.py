"""api.md §10, the customer object: Stripe's own fields kept here as well (shipping, preferred_locales,
tax_exempt, business_name, individual_name), Stripe's billing fields answered with their neutral values
and refused when sent; and the request headers Stripe-Version and Stripe-Account."""

from __future__ import annotations

import json

import pytest
from customers_core.auth import Principal
from customers_core.dal.table import serialize
from customers_core.errors import InvalidRequest
from customers_core.http import validation_error
from customers_core.logic import api_versions
from customers_core.logic import customers as logic
from customers_core.logic.fanout import event_for_record
from customers_core.models.customer import BILLING_PARAMS, CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.responses import CustomerObject
from customers_core.models.search import SearchParams
from customers_core.models.webhooks import API_VERSION_PATTERN
from customers_core.settings import API_VERSION
from pydantic import ValidationError

from tests.conftest import load_function

WHO = Principal("acct_01JRZK2Q4T9ZS0VCNA3HX7W9EY", False, frozenset({"customers:write"}), "key_1")
REQ = {"request_id": "req_1", "idempotency_key": None}
SHIPPING = {"name": "Ada Lovelace", "phone": "+442079460000",
            "address": {"line1": "12 St James's Sq", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}}
NEUTRAL = {"balance": 0, "currency": None, "customer_account": None, "default_source": None, "delinquent": False,
           "discount": None, "invoice_prefix": None,
           "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                "rendering_options": None},
           "next_invoice_sequence": None, "test_clock": None}


def _create(table, **fields):
    return logic.create_customer(table, WHO, CustomerParams.model_validate(fields), REQ)


def _update(table, customer_id, **fields):
    return logic.update_customer(table, WHO, customer_id, CustomerParams.model_validate(fields), REQ)


def _error(fields) -> InvalidRequest:
    try:
        CustomerParams.model_validate(fields)
    except ValidationError as exc:
        return validation_error(exc)
    except InvalidRequest as exc:
        return exc
    raise AssertionError(f"{fields} was accepted")


# --- the fields kept ----------------------------------------------------------------------------
def test_stripes_fields_are_stored_and_returned(table):
    created = _create(table, name="Ada", shipping=SHIPPING, preferred_locales=["en-GB", "fr"], tax_exempt="reverse",
                      business_name="Analytical Engines Ltd.", individual_name="Augusta Ada King")
    assert created["shipping"] == {"name": "Ada Lovelace", "phone": "+442079460000",
                                   "address": {"line1": "12 St James's Sq", "line2": None, "city": "London",
                                               "state": None, "postal_code": "SW1Y 4JH", "country": "GB"}}
    assert created["preferred_locales"] == ["en-GB", "fr"] and created["tax_exempt"] == "reverse"
    assert (created["business_name"], created["individual_name"]) == ("Analytical Engines Ltd.", "Augusta Ada King")
    assert logic.retrieve_customer(table, WHO, created["id"]) == created
    CustomerObject.model_validate(created)  # the documented shape (docs/openapi.json)


def test_defaults_are_stripes(table):
    created = _create(table)
    assert (created["shipping"], created["preferred_locales"], created["tax_exempt"], created["business_name"],
            created["individual_name"]) == (None, [], "none", None, None)


def test_billing_fields_answer_stripes_neutral_values(table):
    created = _create(table, email="ada@example.com")
    assert {k: created[k] for k in NEUTRAL} == NEUTRAL
    assert "tax_ids" not in created and "sources" not in created and "subscriptions" not in created


def test_updates_replace_shipping_and_locales_and_blank_or_null_clears(table):
    cid = _create(table, shipping=SHIPPING, preferred_locales=["en"], tax_exempt="exempt", business_name="B")["id"]
    changed = _update(table, cid, shipping={"name": "Office", "address": {"country": "FR"}},
                      preferred_locales=["fr-CA", "en"])
    assert changed["shipping"] == {"name": "Office", "phone": None,
                                   "address": {"line1": None, "line2": None, "city": None, "state": None,
                                               "postal_code": None, "country": "FR"}}
    assert changed["preferred_locales"] == ["fr-CA", "en"] and changed["tax_exempt"] == "exempt"
    assert changed["business_name"] == "B"  # not sent: unchanged
    cleared = _update(table, cid, shipping="", preferred_locales="", tax_exempt="", business_name="")
    assert (cleared["shipping"], cleared["preferred_locales"], cleared["tax_exempt"], cleared["business_name"]) == \
        (None, [], "none", None)
    again = _update(table, cid, shipping=SHIPPING, business_name="C")
    nulled = _update(table, again["id"], shipping=None, business_name=None, preferred_locales=None)
    assert (nulled["shipping"], nulled["business_name"], nulled["preferred_locales"]) == (None, None, [])


@pytest.mark.parametrize(("fields", "param", "code"), [
    ({"shipping": {"address": {"city": "Paris"}}}, "shipping[name]", "parameter_missing"),
    ({"shipping": {"name": "Ada"}}, "shipping[address]", "parameter_missing"),
    ({"shipping": {"name": "Ada", "address": {"town": "Paris"}}}, "shipping[address][town]", "parameter_unknown"),
    ({"shipping": {"name": "Ada", "address": {}, "carrier": "UPS"}}, "shipping[carrier]", "parameter_unknown"),
    ({"shipping": {"name": "x" * 257, "address": {}}}, "shipping[name]", "parameter_invalid"),
    ({"preferred_locales": ["en_US"]}, "preferred_locales", "parameter_invalid"),
    ({"preferred_locales": ["en"] * 11}, "preferred_locales", "parameter_invalid"),
    ({"preferred_locales": "en"}, "preferred_locales", "parameter_invalid"),
    ({"tax_exempt": "partial"}, "tax_exempt", "parameter_invalid"),
    ({"business_name": "x" * 151}, "business_name", "parameter_invalid"),
    ({"individual_name": "x" * 151}, "individual_name", "parameter_invalid"),
])
def test_the_new_fields_are_validated(fields, param, code):
    error = _error(fields)
    assert (error.param, error.code) == (param, code), error.message


@pytest.mark.parametrize("name", sorted(BILLING_PARAMS))
def test_every_billing_parameter_is_refused_by_name(name):
    error = _error({"name": "Ada", name: 0})
    assert (error.status, error.code, error.param) == (400, "parameter_unsupported", name)
    assert "keeps no billing state" in error.message


def test_billing_parameters_in_an_array_create_name_their_item(table):
    with pytest.raises(InvalidRequest) as err:
        logic.create_customers(table, WHO, [{"email": "a@example.com"}, {"invoice_settings": {"footer": "x"}}], REQ)
    assert (err.value.code, err.value.param) == ("parameter_unsupported", "[1].invoice_settings")


def test_a_shipping_change_is_in_the_events_previous_attributes(table):
    old = logic.new_customer_item(WHO, CustomerParams(name="Ada"), REQ)
    new = {**old, "shipping": {"name": "Ada", "address": {"city": "London"}}, "version": 2,
           "written_ms": old["written_ms"] + 1}
    record = {"eventName": "MODIFY", "eventID": "e1", "dynamodb": {"NewImage": serialize(new),
                                                                   "OldImage": serialize(old)}}
    event = event_for_record(record, 30)
    assert event is not None
    body = json.loads(event["body"])
    assert body["data"]["previous_attributes"] == {"shipping": None}
    assert body["data"]["object"]["shipping"]["address"]["city"] == "London"
    assert body["api_version"] == API_VERSION


# --- form encoding, through the function ---------------------------------------------------------
def test_form_encoding_reaches_the_nested_fields(table, account, lambda_context, make_api_event):
    fn = load_function("create_customer")
    body = ("name=Ada&shipping[name]=Ada%20Lovelace&shipping[address][city]=London&preferred_locales[0]=en-GB"
            "&preferred_locales[1]=fr&tax_exempt=exempt&business_name=Acme")
    response = fn.lambda_handler(make_api_event("POST", "/v1/customers", body=body, context=account,
                                                content_type="application/x-www-form-urlencoded"), lambda_context)
    created = json.loads(response["body"])
    assert response["statusCode"] == 200, created
    assert created["shipping"]["address"]["city"] == "London" and created["preferred_locales"] == ["en-GB", "fr"]
    response = fn.lambda_handler(make_api_event("POST", "/v1/customers", body="name=Ada&balance=100", context=account,
                                                content_type="application/x-www-form-urlencoded"), lambda_context)
    error = json.loads(response["body"])["error"]
    assert response["statusCode"] == 400 and (error["code"], error["param"]) == ("parameter_unsupported", "balance")


# --- headers ------------------------------------------------------------------------------------
def _call(fn, event, lambda_context):
    response = fn.lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_stripe_version_is_echoed_else_the_default(table, account, lambda_context, make_api_event):
    fn = load_function("create_customer")
    status, _, headers = _call(fn, make_api_event("POST", "/v1/customers", body="{}", content_type="application/json",
                                                  context=account, headers={"stripe-version": "2024-06-20"}),
                               lambda_context)
    assert status == 200 and headers["Stripe-Version"] == "2024-06-20"
    # A beta flag is accepted; the version itself is echoed.
    status, _, headers = _call(fn, make_api_event("POST", "/v1/customers", body="{}", context=account,
                                                  content_type="application/json",
                                                  headers={"stripe-version": "2026-10-28.endive; some_beta=v1"}),
                               lambda_context)
    assert status == 200 and headers["Stripe-Version"] == "2026-10-28.endive"
    status, _, headers = _call(fn, make_api_event("POST", "/v1/customers", body="{}", context=account,
                                                  content_type="application/json"), lambda_context)
    assert status == 200 and headers["Stripe-Version"] == API_VERSION
    # Errors carry it too, also those answered before the route runs.
    status, _, headers = _call(fn, make_api_event("POST", "/v1/customers", body="{}", content_type="application/json",
                                                  headers={"stripe-version": "2025-03-31.basil"}), lambda_context)
    assert status == 401 and headers["Stripe-Version"] == "2025-03-31.basil"


@pytest.mark.parametrize("value", ["latest", "2024-13-01", "2024-06-20.Basil", "2024-06-20; beta", "20240620"])
def test_a_malformed_stripe_version_is_a_400_naming_the_header(table, account, lambda_context, make_api_event, value):
    fn = load_function("create_customer")
    status, body, headers = _call(fn, make_api_event("POST", "/v1/customers", body="{}", context=account,
                                                     content_type="application/json",
                                                     headers={"stripe-version": value}), lambda_context)
    assert status == 400 and body["error"]["param"] == "Stripe-Version"
    assert headers["Stripe-Version"] == API_VERSION


def test_the_accounts_default_version_is_answered_when_none_is_sent(table, account, lambda_context, make_api_event):
    api_versions.set_account_default(table, account["account_id"], "2025-03-31.basil")
    from customers_core.logic import api_keys

    api_keys._cache.clear()  # the lookup a new environment makes
    fn = load_function("retrieve_customer")
    event = make_api_event("GET", "/v1/customers/cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY",
                           headers={"authorization": f"Bearer {account['secret']}"},
                           path_parameters={"id": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"})
    status, _, headers = _call(fn, event, lambda_context)
    assert status == 404 and headers["Stripe-Version"] == "2025-03-31.basil"
    # A key made afterwards carries it too.
    new_key = api_keys.create_key(table, account["account_id"], "test")["secret"]
    event["headers"] = {"authorization": f"Bearer {new_key}"}
    assert _call(fn, event, lambda_context)[2]["Stripe-Version"] == "2025-03-31.basil"
    assert api_versions.account_default(table, account["account_id"]) == "2025-03-31.basil"
    assert api_versions.set_account_default(table, account["account_id"], None) == API_VERSION
    with pytest.raises(ValueError, match="not a Stripe API version"):
        api_versions.set_account_default(table, account["account_id"], "yesterday")


def test_stripe_account_is_refused_naming_the_header(table, account, lambda_context, make_api_event):
    create = load_function("create_customer")
    status, body, _ = _call(create, make_api_event("POST", "/v1/customers", body='{"email":"c@example.com"}',
                                                   content_type="application/json", context=account,
                                                   headers={"stripe-account": "acct_1Connected"}), lambda_context)
    assert status == 400
    assert body["error"]["code"] == "parameter_unsupported" and body["error"]["param"] == "Stripe-Account"
    assert "Stripe-Account is not supported" in body["error"]["message"]
    listing = load_function("list_customers")
    event = make_api_event("GET", "/v1/customers", context=account, headers={"Stripe-Account": "acct_1Connected"})
    assert _call(listing, event, lambda_context)[0] == 400
    # Nothing was written for it.
    assert logic.list_customers(table, Principal(account["account_id"], False, frozenset(), "k"),
                                ListCustomersParams())["data"] == []
    # Without a valid key, the 401 comes first.
    status, body, _ = _call(create, make_api_event("POST", "/v1/customers", body="{}", content_type="application/json",
                                                   headers={"stripe-account": "acct_1"}), lambda_context)
    assert status == 401


# --- search: expand[] entries that expand nothing are ignored ------------------------------------
def test_search_accepts_and_ignores_expand_entries_that_expand_nothing(table):
    from customers_core.logic import search

    _create(table, name="Ada Lovelace")
    params = SearchParams.model_validate({"query": 'name~"ada"', "expand": ["data.tax_ids", "total_count"]})
    found = search.search_customers(table, WHO, params)
    assert found["total_count"] == 1 and len(found["data"]) == 1
    assert "total_count" not in search.search_customers(table, WHO, SearchParams(query='name~"ada"',
                                                                                  expand=["data.tax_ids"]))


def test_the_version_patterns_agree():
    assert API_VERSION_PATTERN == api_versions.VERSION_PATTERN
    assert api_versions.valid(API_VERSION)
