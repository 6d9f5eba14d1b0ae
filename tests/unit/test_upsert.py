"""Upsert (api.md §11) over moto: create or update by external_id or email, built on the uniqueness
markers; and the sequence number (`version`) on the object and in every customer event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from benchmarks.consumption import Consumption
from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import deserialize, serialize
from customers_core.errors import Conflict, InternalError, InvalidRequest
from customers_core.logic import customers as logic
from customers_core.logic import upsert as upsert_logic
from customers_core.logic.fanout import event_for_record
from customers_core.models.customer import CustomerParams, UpsertCustomerParams
from customers_core.models.listing import ListCustomersParams

from tests.conftest import load_function

REQ: dict[str, str | None] = {"request_id": "req_unit"}


@pytest.fixture
def who(table) -> Principal:
    return Principal("acct_01JUNITUPSERT000000000000A", False, frozenset(), "key_x")


def _upsert(table, who, **fields):
    return upsert_logic.upsert_customer(table, who, UpsertCustomerParams.model_validate(fields), REQ)


def _all(table, who) -> list[dict]:
    return logic.list_customers(table, who, ListCustomersParams(limit=100))["data"]


def test_upsert_creates_then_updates_the_customer_with_that_external_id(table, who):
    created, result = _upsert(table, who, external_id="user-42", name="Ada", metadata={"a": "1"})
    assert result == "created" and created["version"] == 1 and created["external_id"] == "user-42"
    updated, result = _upsert(table, who, external_id="user-42", last_name="Lovelace", metadata={"b": "2"})
    assert result == "updated" and updated["id"] == created["id"] and updated["version"] == 2
    # A partial update: what was not sent is kept, metadata merges.
    assert (updated["name"], updated["last_name"], updated["metadata"]) == ("Ada", "Lovelace", {"a": "1", "b": "2"})
    assert [c["id"] for c in _all(table, who)] == [created["id"]]


def test_upsert_on_email_matches_any_case_and_stores_the_email_as_sent(table, who):
    created = logic.create_customer(table, who, CustomerParams(email="Ada@Example.com", name="Ada"), REQ)
    updated, result = _upsert(table, who, match_on="email", email="ada@EXAMPLE.com", phone="+1 555")
    assert result == "updated" and updated["id"] == created["id"]
    assert (updated["email"], updated["phone"], updated["name"]) == ("ada@EXAMPLE.com", "+1 555", "Ada")
    assert dal.owner_of(table, who.tenant, "email", "ADA@example.com") == created["id"]


@pytest.mark.parametrize(("fields", "param"), [
    ({"name": "no external_id"}, "external_id"),
    ({"match_on": "email", "external_id": "x"}, "email"),
    ({"match_on": "email", "email": ""}, "email"),
])
def test_the_matched_field_is_required(fields, param):
    with pytest.raises(InvalidRequest) as caught:
        UpsertCustomerParams.model_validate(fields)
    assert (caught.value.param, caught.value.code) == (param, "parameter_missing")


def test_match_on_takes_external_id_or_email_only():
    with pytest.raises(ValueError, match="match_on"):
        UpsertCustomerParams.model_validate({"match_on": "phone", "external_id": "x"})


def test_a_deleted_customers_value_is_free_so_upsert_creates_a_new_one(table, who):
    first, _ = _upsert(table, who, external_id="gone")
    logic.delete_customer(table, who, first["id"], REQ)
    second, result = _upsert(table, who, external_id="gone")
    assert result == "created" and second["id"] != first["id"]


def test_another_unique_value_taken_is_the_409_of_create_or_update(table, who):
    logic.create_customer(table, who, CustomerParams(email="taken@example.com"), REQ)
    with pytest.raises(Conflict) as caught:
        _upsert(table, who, external_id="new", email="TAKEN@example.com")
    assert caught.value.code == "email_taken"
    _upsert(table, who, external_id="mine")
    with pytest.raises(Conflict) as caught:
        _upsert(table, who, external_id="mine", email="taken@example.com")
    assert caught.value.code == "email_taken"
    assert len(_all(table, who)) == 2


def test_a_create_whose_marker_was_taken_meanwhile_updates_the_winner(table, who, monkeypatch):
    """The race: this request read no marker, then another request created the customer. The create's
    transaction fails on the marker, and the request updates what the other one created."""
    winner = logic.create_customer(table, who, CustomerParams(external_id="race", name="Winner"), REQ)
    real_owner_of, reads = dal.owner_of, []

    def stale_first(*args):
        reads.append(args)
        return None if len(reads) == 1 else real_owner_of(*args)

    monkeypatch.setattr(dal, "owner_of", stale_first)
    updated, result = _upsert(table, who, external_id="race", metadata={"late": "yes"})
    assert result == "updated" and updated["id"] == winner["id"] and updated["name"] == "Winner"
    assert updated["metadata"] == {"late": "yes"} and len(reads) == 2
    assert [c["id"] for c in _all(table, who)] == [winner["id"]]


def test_a_customer_that_let_go_of_the_value_after_the_marker_was_read_is_not_updated(table, who, monkeypatch):
    moved = logic.create_customer(table, who, CustomerParams(external_id="old"), REQ)
    logic.update_customer(table, who, moved["id"], CustomerParams(external_id="elsewhere"), REQ)
    real_owner_of, reads = dal.owner_of, []

    def stale_first(*args):  # the marker as it was before the change
        reads.append(args)
        return moved["id"] if len(reads) == 1 else real_owner_of(*args)

    monkeypatch.setattr(dal, "owner_of", stale_first)
    created, result = _upsert(table, who, external_id="old", name="New")
    assert result == "created" and created["id"] != moved["id"]
    assert logic.retrieve_customer(table, who, moved["id"])["external_id"] == "elsewhere"


def test_the_loop_is_bounded(table, who, monkeypatch):
    gone, _ = _upsert(table, who, external_id="ghost")
    logic.delete_customer(table, who, gone["id"], REQ)
    monkeypatch.setattr(dal, "owner_of", lambda *args: gone["id"])  # a marker that always names a deleted one
    with pytest.raises(InternalError) as caught:
        _upsert(table, who, external_id="ghost")
    assert caught.value.headers == {"Retry-After": "1"}


def test_upsert_writes_what_a_create_or_an_update_writes(table, who):
    """No item or write of its own: the marker it reads is the one create and update keep."""
    def measure(action) -> Consumption:
        consumption = Consumption()
        consumption.install(table.client)
        action()
        consumption.install = None  # type: ignore[assignment]
        return Consumption(consumption.capacity, consumption.items_read, consumption.calls)

    def create(upsert: bool, external_id: str):
        return lambda: _upsert(table, who, external_id=external_id, name="A") if upsert else \
            logic.create_customer(table, who, CustomerParams(external_id=external_id, name="A"), REQ)

    upserted, created = measure(create(True, "cost")), measure(create(False, "cost2"))
    # One call more, the marker's GetItem (a read unit at most): the writes are the create's.
    assert upserted.calls == created.calls + 1 and 0 < upserted.capacity - created.capacity <= 1
    assert upserted.items_read == created.items_read == 0  # no marker yet: nothing read
    plain = dal.owner_of(table, who.tenant, "external_id", "cost2")
    assert plain is not None
    upserted = measure(lambda: _upsert(table, who, external_id="cost", name="B"))
    updated = measure(lambda: logic.update_customer(table, who, plain, CustomerParams(external_id="cost2", name="B"),
                                                    REQ))
    assert upserted.calls == updated.calls + 1 and 0 < upserted.capacity - updated.capacity <= 1
    assert upserted.items_read == updated.items_read + 1 == 2


# --- through the function -------------------------------------------------------------------------
@pytest.fixture
def upsert_fn(table):
    return load_function("upsert_customer")


def _call(fn, ctx, make_api_event, lambda_context, body, headers=None, content_type="application/json"):
    event = make_api_event("POST", "/v1/customers/upsert", body=body, content_type=content_type, context=ctx,
                           headers=headers)
    return fn.lambda_handler(event, lambda_context)


def test_the_function_answers_the_customer_and_upsert_result(upsert_fn, account, make_api_event, lambda_context):
    first = _call(upsert_fn, account, make_api_event, lambda_context, json.dumps({"external_id": "u-1"}))
    assert first["statusCode"] == 200 and first["headers"]["Upsert-Result"] == "created"
    # Form encoding (Stripe's SDKs) gives the same request.
    again = _call(upsert_fn, account, make_api_event, lambda_context, "external_id=u-1&metadata[plan]=pro",
                  content_type="application/x-www-form-urlencoded")
    body = json.loads(again["body"])
    assert again["statusCode"] == 200 and again["headers"]["Upsert-Result"] == "updated"
    assert body["id"] == json.loads(first["body"])["id"] and body["metadata"] == {"plan": "pro"}
    assert body["version"] == 2


def test_the_function_needs_customers_write_and_names_a_missing_field(upsert_fn, account, make_api_event,
                                                                      lambda_context):
    reader = {**account, "scopes": "customers:read", "secret": None}
    refused = _call(upsert_fn, reader, make_api_event, lambda_context, json.dumps({"external_id": "x"}))
    assert refused["statusCode"] == 403 and "customers:write" in json.loads(refused["body"])["error"]["message"]
    missing = _call(upsert_fn, account, make_api_event, lambda_context, json.dumps({"match_on": "email"}))
    error = json.loads(missing["body"])["error"]
    assert missing["statusCode"] == 400 and (error["code"], error["param"]) == ("parameter_missing", "email")
    unknown = _call(upsert_fn, account, make_api_event, lambda_context, json.dumps({"external_id": "x", "nope": 1}))
    assert unknown["statusCode"] == 400 and json.loads(unknown["body"])["error"]["param"] == "nope"


def test_an_idempotency_key_replays_the_upsert_and_changes_nothing_more(upsert_fn, table, account, make_api_event,
                                                                        lambda_context):
    body = json.dumps({"external_id": "idem", "metadata": {"n": "1"}})
    first = _call(upsert_fn, account, make_api_event, lambda_context, body, headers={"idempotency-key": "up-1"})
    again = _call(upsert_fn, account, make_api_event, lambda_context, body, headers={"idempotency-key": "up-1"})
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert first["headers"]["Upsert-Result"] == again["headers"]["Upsert-Result"] == "created"  # kept with it
    customer = json.loads(first["body"])
    assert logic.retrieve_customer(table, Principal(account["account_id"], False, frozenset(), "k"),
                                   customer["id"])["version"] == 1  # the replay wrote nothing


# --- the sequence number --------------------------------------------------------------------------
def _record(name: str, old: dict | None, new: dict | None) -> dict:
    change: dict[str, Any] = {"ApproximateCreationDateTime": 1795435200}
    if old is not None:
        change["OldImage"] = serialize(old)
    if new is not None:
        change["NewImage"] = serialize(new)
    return {"eventID": f"ev-{name}-{(new or old or {}).get('version')}", "eventName": name, "dynamodb": change}


def _event(name: str, old: dict | None, new: dict | None) -> dict:
    item = event_for_record(_record(name, old, new), 30)
    assert item is not None
    return json.loads(item["body"])


def test_version_counts_every_change_and_every_event_carries_it(table, who):
    created = logic.create_customer(table, who, CustomerParams(name="V"), REQ)
    assert created["version"] == 1
    item = table.get(keys.customer(who.tenant, created["id"]))
    assert _event("INSERT", None, item)["data"]["object"]["version"] == 1
    logic.update_customer(table, who, created["id"], CustomerParams(name="V2"), REQ)
    changed = table.get(keys.customer(who.tenant, created["id"]))
    updated = _event("MODIFY", item, changed)
    assert updated["data"]["object"]["version"] == 2
    assert updated["data"]["previous_attributes"] == {"name": "V"}  # version is bookkeeping, not a change
    assert logic.retrieve_customer(table, who, created["id"])["version"] == 2


def test_a_deletes_event_carries_the_deleted_objects_version_plus_one(table, who):
    created = logic.create_customer(table, who, CustomerParams(name="D", metadata={"k": "v"}), REQ)
    for n in range(2):
        logic.update_customer(table, who, created["id"], CustomerParams(name=f"D{n}"), REQ)
    before = table.get(keys.customer(who.tenant, created["id"]))
    assert before["version"] == 3
    logic.delete_customer(table, who, created["id"], REQ)
    tombstone = table.get(keys.customer(who.tenant, created["id"]))
    deleted = _event("MODIFY", before, tombstone)
    assert deleted["type"] == "customer.deleted"
    assert deleted["data"]["object"]["version"] == 4 and deleted["data"]["object"]["name"] == "D1"
    assert tombstone["version"] == 4


def test_a_change_of_nothing_but_bookkeeping_makes_no_event(table, who):
    created = logic.create_customer(table, who, CustomerParams(name="Same"), REQ)
    item = table.get(keys.customer(who.tenant, created["id"]))
    logic.update_customer(table, who, created["id"], CustomerParams(name="Same"), REQ)
    again = table.get(keys.customer(who.tenant, created["id"]))
    assert again["version"] == 2
    assert event_for_record(_record("MODIFY", item, again), 30) is None


def test_an_item_without_a_version_reads_as_version_one():
    from customers_core.models.customer import customer_object

    item = deserialize(serialize({"id": "cus_x", "created": 1, "livemode": False}))
    assert customer_object(item)["version"] == 1
