"""The customer resource's rules (api.md §4, §5) through the logic, over moto."""

from __future__ import annotations

import pytest
from benchmarks.consumption import Consumption
from customers_core import keys
from customers_core.auth import Principal
from customers_core.errors import ApiError, Conflict, InvalidRequest, ResourceMissing
from customers_core.http import validation_error
from customers_core.logic import customers as logic
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from pydantic import ValidationError

REQ: dict[str, str | None] = {"request_id": "req_unit"}


@pytest.fixture
def who(table) -> Principal:
    return Principal("acct_01JUNITOPS00000000000000AA", False, frozenset(), "key_x")


def _create(table, who, **fields):
    return logic.create_customer(table, who, CustomerParams.model_validate(fields), REQ)


def _update(table, who, customer_id, **fields):
    return logic.update_customer(table, who, customer_id, CustomerParams.model_validate(fields), REQ)


def _list(table, who, **query):
    return logic.list_customers(table, who, ListCustomersParams.model_validate(query))


FULL = {
    "email": "ada@example.com", "external_id": "user-42", "name": "Ada Lovelace", "first_name": "Ada",
    "last_name": "Lovelace", "company_name": "Analytical Engines Ltd.", "phone": "+18765551234",
    "description": "first programmer", "image": "https://example.com/ada.png",
    "address": {"line1": "12 St James's Sq", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
    "status": "active", "sentiment": "happy", "tags": ["vip", "beta"], "notes": "Internal only",
    "custom_fields": {"plan": "enterprise", "seats": 40, "trial": False, "x": None},
    "metadata": {"internal_id": "ACCT-42"},
}


def test_every_field_round_trips(table, who):
    created = _create(table, who, **FULL)
    assert logic.retrieve_customer(table, who, created["id"]) == created
    assert created["address"] == {"line1": "12 St James's Sq", "line2": None, "city": "London", "state": None,
                                  "postal_code": "SW1Y 4JH", "country": "GB"}
    assert created["wallets"] == [] and created["custom_fields"]["seats"] == 40
    expected_keys = {"id", "object", "livemode", "email", "name", "first_name", "last_name", "company_name",
                     "phone", "description", "image", "external_id", "address", "status", "sentiment", "tags",
                     "notes", "custom_fields", "metadata", "wallets", "created", "updated",
                     "version",  # api.md §11: the sequence number
                     # api.md §10: Stripe's own fields, and its billing fields with their neutral values
                     "shipping", "preferred_locales", "tax_exempt", "business_name", "individual_name",
                     "balance", "currency", "customer_account", "default_source", "delinquent", "discount",
                     "invoice_prefix", "invoice_settings", "next_invoice_sequence", "test_clock"}
    assert set(created) == expected_keys


def test_defaults(table, who):
    created = _create(table, who)
    assert (created["status"], created["sentiment"], created["tags"], created["address"]) == \
        ("active", "neutral", [], None)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"external_id": "x" * 256}, "external_id"), ({"first_name": "x" * 129}, "first_name"),
        ({"company_name": "x" * 257}, "company_name"), ({"phone": "x" * 65}, "phone"),
        ({"description": "x" * 1001}, "description"), ({"notes": "x" * 5001}, "notes"),
        ({"image": "ftp://example.com/a.png"}, "image"), ({"image": "https://e.co/" + "a" * 2048}, "image"),
        ({"address": {"city": "x" * 256}}, "address[city]"), ({"address": {"postal_code": "x" * 51}},
                                                              "address[postal_code]"),
        ({"address": {"planet": "Mars"}}, "address[planet]"), ({"status": "gone"}, "status"),
        ({"sentiment": "meh"}, "sentiment"), ({"tags": ["a b"]}, "tags"), ({"tags": ["a", "a"]}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"), ({"tags": ["x" * 65]}, "tags"),
        ({"custom_fields": {f"k{i}": 1 for i in range(51)}}, "custom_fields"),
        ({"custom_fields": {"k": {"nested": 1}}}, "custom_fields"),
    ],
)
def test_field_limits_are_400_naming_the_parameter(fields, param):
    with pytest.raises(ValidationError) as caught:
        CustomerParams.model_validate(fields)
    error = validation_error(caught.value)
    assert error.status == 400 and error.param == param


def test_limits_themselves_are_accepted():
    CustomerParams.model_validate({"external_id": "x" * 255, "notes": "x" * 5000, "tags": [f"t{i}" for i in range(20)],
                                   "custom_fields": {f"k{i}": i for i in range(50)},
                                   "address": {"line1": "x" * 500, "postal_code": "x" * 50}})


def test_update_changes_only_the_fields_sent(table, who):
    created = _create(table, who, **FULL)
    updated = _update(table, who, created["id"], name="Ada King")
    assert updated["name"] == "Ada King" and (created["version"], updated["version"]) == (1, 2)
    assert {k: v for k, v in updated.items() if k not in ("name", "updated", "version")} == \
        {k: v for k, v in created.items() if k not in ("name", "updated", "version")}


def test_metadata_merges_removes_and_clears(table, who):
    cid = _create(table, who, metadata={"a": "1", "b": "2"})["id"]
    assert _update(table, who, cid, metadata={"b": "", "c": "3"})["metadata"] == {"a": "1", "c": "3"}
    assert _update(table, who, cid, metadata={"a": None})["metadata"] == {"c": "3"}
    assert _update(table, who, cid, metadata="")["metadata"] == {}


def test_metadata_merge_past_fifty_keys_is_rejected_and_changes_nothing(table, who):
    cid = _create(table, who, metadata={f"k{i}": "v" for i in range(50)})["id"]
    with pytest.raises(InvalidRequest) as caught:
        _update(table, who, cid, metadata={"one_more": "v"})
    assert caught.value.code == "metadata_invalid"
    assert len(logic.retrieve_customer(table, who, cid)["metadata"]) == 50


def test_address_merges_and_clears(table, who):
    cid = _create(table, who, address={"line1": "1 Main St", "city": "Paris"})["id"]
    merged = _update(table, who, cid, address={"city": "Lyon", "postal_code": "69001"})["address"]
    assert (merged["line1"], merged["city"], merged["postal_code"]) == ("1 Main St", "Lyon", "69001")
    assert _update(table, who, cid, address={"line1": ""})["address"]["line1"] is None
    assert _update(table, who, cid, address="")["address"] is None


def test_tags_and_custom_fields_are_replaced(table, who):
    cid = _create(table, who, tags=["a", "b"], custom_fields={"x": 1, "y": 2})["id"]
    updated = _update(table, who, cid, tags=["c"], custom_fields={"z": "3"})
    assert (updated["tags"], updated["custom_fields"]) == (["c"], {"z": "3"})
    assert _update(table, who, cid, tags="")["tags"] == []


def test_null_clears_a_string_field(table, who):
    cid = _create(table, who, name="Ada", phone="+1")["id"]
    assert _update(table, who, cid, name=None, phone="")["name"] is None


def test_email_change_moves_the_marker(table, who):
    first = _create(table, who, email="old@example.com")
    _update(table, who, first["id"], email="new@example.com")
    assert _create(table, who, email="OLD@example.com")["email"] == "OLD@example.com"
    with pytest.raises(Conflict) as caught:
        _create(table, who, email="new@example.com")
    assert caught.value.code == "email_taken"


def test_changing_email_case_keeps_it(table, who):
    cid = _create(table, who, email="case@example.com")["id"]
    assert _update(table, who, cid, email="CASE@example.com")["email"] == "CASE@example.com"


def test_external_id_is_unique(table, who):
    _create(table, who, external_id="user-1")
    with pytest.raises(Conflict) as caught:
        _create(table, who, external_id="user-1")
    assert caught.value.code == "external_id_taken" and caught.value.param == "external_id"


def test_update_into_a_taken_email_is_409_and_changes_nothing(table, who):
    _create(table, who, email="a@example.com")
    other = _create(table, who, email="b@example.com", name="B")
    with pytest.raises(Conflict):
        _update(table, who, other["id"], email="A@example.com", name="changed")
    assert logic.retrieve_customer(table, who, other["id"]) == other


def test_delete_then_retrieve_says_deleted_and_frees_the_email(table, who):
    cid = _create(table, who, email="gone@example.com", external_id="gone")["id"]
    assert logic.delete_customer(table, who, cid, REQ) == {"id": cid, "object": "customer", "deleted": True}
    assert logic.retrieve_customer(table, who, cid) == {"id": cid, "object": "customer", "deleted": True}
    assert _create(table, who, email="gone@example.com", external_id="gone")["id"] != cid
    with pytest.raises(ResourceMissing):
        logic.delete_customer(table, who, cid, REQ)
    with pytest.raises(ResourceMissing):
        _update(table, who, cid, name="zombie")


def test_array_create_validates_the_whole_array_first(table, who):
    with pytest.raises(InvalidRequest) as caught:
        logic.create_customers(table, who, [{"name": "ok"}, {"email": "bad"}], REQ)
    assert caught.value.param == "[1].email"
    with pytest.raises(InvalidRequest) as caught:
        logic.create_customers(table, who, [{"email": "a@x.co"}, {"email": "A@x.co"}], REQ)
    assert caught.value.param == "[1].email"
    assert _list(table, who)["data"] == []


def test_array_create_reports_conflicts_per_item(table, who):
    _create(table, who, email="taken@example.com")
    status, body = logic.create_customers(table, who, [{"name": "a"}, {"email": "taken@example.com"},
                                                       {"name": "c"}], REQ)
    assert status == 207 and len(body["data"]) == 2
    assert body["errors"] == [{"index": 1, "error": {"type": "invalid_request_error", "code": "email_taken",
                                                     "message": "A customer with this email already exists.",
                                                     "param": "email"}}]
    assert logic.create_customers(table, who, [{"name": "d"}], REQ)[0] == 200


def test_array_over_100_is_rejected(table, who):
    with pytest.raises(ApiError):
        logic.create_customers(table, who, [{}] * 101, REQ)


def test_list_is_newest_first_with_cursors_both_ways(table, who):
    ids = [_create(table, who, name=f"c{i}")["id"] for i in range(7)]
    first = _list(table, who, limit=3)
    assert [c["id"] for c in first["data"]] == ids[::-1][:3] and first["has_more"] is True
    second = _list(table, who, limit=3, starting_after=first["data"][-1]["id"])
    assert [c["id"] for c in second["data"]] == ids[::-1][3:6]
    last = _list(table, who, limit=3, starting_after=second["data"][-1]["id"])
    assert [c["id"] for c in last["data"]] == [ids[0]] and last["has_more"] is False
    back = _list(table, who, limit=3, ending_before=second["data"][0]["id"])
    assert [c["id"] for c in back["data"]] == ids[::-1][:3] and back["has_more"] is False


def test_list_pages_and_total_count(table, who):
    ids = [_create(table, who)["id"] for _ in range(5)]
    page2 = _list(table, who, page=2, page_size=2, include=["total_count"])
    assert [c["id"] for c in page2["data"]] == ids[::-1][2:4]
    assert page2["total_count"] == 5 and page2["has_more"] is True


@pytest.mark.parametrize(
    ("query", "param"),
    [({"starting_after": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY", "ending_before": "cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"},
      "ending_before"),
     ({"page": 101, "page_size": 100}, "page"), ({"starting_after": "nope"}, "starting_after"),
     ({"created": {"gte": -1}}, "created[gte]"), ({"limit": 0}, "limit")],
)
def test_list_parameter_errors(table, who, query, param):
    with pytest.raises((InvalidRequest, ValidationError)) as caught:
        _list(table, who, **query)
    error = validation_error(caught.value) if isinstance(caught.value, ValidationError) else caught.value
    assert isinstance(error, InvalidRequest)
    assert error.status == 400 and error.param == param


def test_an_empty_created_range_is_an_empty_page(table, who):
    _create(table, who)
    listed = _list(table, who, created={"gt": 5, "lt": 5}, include=["total_count"])
    assert (listed["data"], listed["has_more"], listed["total_count"]) == ([], False, 0)


def test_list_filters_combine(table, who):
    a = _create(table, who, email="A@x.co", status="inactive", sentiment="angry", tags=["vip"], external_id="e1")
    b = _create(table, who, status="inactive", tags=["vip", "new"])
    c = _create(table, who, tags=["vip"])
    _update(table, who, c["id"], tags=["old"])

    def ids_of(**q):
        return [x["id"] for x in _list(table, who, **q)["data"]]

    assert ids_of(email="a@X.CO") == [a["id"]]
    assert ids_of(external_id="e1", status="inactive") == [a["id"]]
    assert ids_of(external_id="e1", status="active") == []
    assert ids_of(tag="vip") == [b["id"], a["id"]]
    assert ids_of(tag="vip", sentiment="angry") == [a["id"]]
    assert ids_of(status="inactive", tag="new") == [b["id"]]
    assert ids_of(status="active") == [c["id"]]
    assert ids_of(tag="old") == [c["id"]]
    assert _list(table, who, tag="vip", include=["total_count"])["total_count"] == 2


def test_a_rare_combination_is_read_from_the_smaller_partition_and_never_pages_empty(table, who):
    rare = _create(table, who, status="inactive", tags=["vip"])  # the oldest: last in newest-first order
    for _ in range(12):
        _create(table, who, tags=["vip"])
    for _ in range(3):
        _create(table, who, status="inactive")
    shards = len(table.query_partition(keys.customer_counters_partition(who.tenant)))
    usage = Consumption().install(table.client)  # counts what DynamoDB examines from here on
    page = _list(table, who, tag="vip", status="inactive", limit=1)
    assert [c["id"] for c in page["data"]] == [rare["id"]] and page["has_more"] is False
    # Driven by status=inactive (4 entries, the counters say so) rather than tag=vip (13), plus the
    # counters (one Query of their shards) and the one customer.
    assert usage.items_read <= 4 + shards + 1
    for query in ({"tag": "vip", "status": "inactive"}, {"status": "inactive", "tag": "vip"}):
        pages, after = [], None
        while True:  # every page continues from its last item, as the SDKs do
            page = _list(table, who, limit=1, **query, **({"starting_after": after} if after else {}))
            pages.append([c["id"] for c in page["data"]])
            if not page["has_more"]:
                break
            assert page["data"], "has_more with an empty page cannot be continued"
            after = page["data"][-1]["id"]
        assert pages == [[rare["id"]]]


def test_list_created_range(table, who, monkeypatch):
    import time as time_module

    clock = iter([1_700_000_000, 1_700_000_100, 1_700_000_200])
    monkeypatch.setattr(time_module, "time", lambda: next(clock))
    early, middle, late = (_create(table, who)["id"] for _ in range(3))
    monkeypatch.undo()
    ids = [c["id"] for c in _list(table, who, created={"gte": 1_700_000_050, "lt": 1_700_000_200})["data"]]
    assert ids == [middle]
    assert [c["id"] for c in _list(table, who, created=1_700_000_200)["data"]] == [late]
    assert _list(table, who, created={"gt": 1_700_000_000}, include=["total_count"])["total_count"] == 2
    assert early


def test_deleted_customers_leave_the_list_and_the_count(table, who):
    keep, drop = _create(table, who, tags=["t"])["id"], _create(table, who, tags=["t"])["id"]
    logic.delete_customer(table, who, drop, REQ)
    listed = _list(table, who, include=["total_count"])
    assert [c["id"] for c in listed["data"]] == [keep] and listed["total_count"] == 1
    assert [c["id"] for c in _list(table, who, tag="t")["data"]] == [keep]


def test_single_filter_totals_follow_every_write(table, who):
    """The counter item's per-value counts agree with the index after creates, updates and deletes."""
    a = _create(table, who, tags=["vip", "new"], status="inactive")["id"]
    b = _create(table, who, tags=["vip"])["id"]
    _create(table, who, sentiment="angry")
    _update(table, who, b, tags=["new"], status="inactive")
    logic.delete_customer(table, who, a, REQ)

    def total(**query):
        return _list(table, who, include=["total_count"], **query)["total_count"]

    def counted(**query):  # the same filter, counted by walking the list
        return len(_list(table, who, limit=100, **query)["data"])

    for query in ({}, {"tag": "vip"}, {"tag": "new"}, {"status": "inactive"}, {"status": "active"},
                  {"sentiment": "angry"}, {"sentiment": "neutral"}):
        assert total(**query) == counted(**query), query
    assert (total(tag="vip"), total(tag="new"), total(status="inactive")) == (0, 1, 1)


def test_a_create_that_meets_a_concurrent_transaction_is_sent_again_on_another_counter_shard(table, who,
                                                                                            monkeypatch):
    """In DynamoDB a transaction that touches an item another transaction is writing is cancelled
    with TransactionConflict; the create is sent again (jittered), with its count on another shard."""
    from customers_core.dal import customers as dal
    from customers_core.dal.table import Table, TransactionCanceled

    original, sent = Table.transact_write, []

    def conflict_once(self, operations):
        sent.append(next(op["Update"]["Key"]["sk"]["S"] for op in operations if "Update" in op))
        if len(sent) == 1:
            raise TransactionCanceled(["None"] * (len(operations) - 1) + ["TransactionConflict"])
        return original(self, operations)

    monkeypatch.setattr(Table, "transact_write", conflict_once)
    monkeypatch.setattr(dal, "_shard", iter([3, 7]).__next__)
    before = dal.conflict_retries
    created = _create(table, who, email="busy@example.com")
    assert sent == ["CUSTOMERS#3", "CUSTOMERS#7"] and dal.conflict_retries == before + 1
    assert dal.count_customers(table, who.tenant) == 1 and created["email"] == "busy@example.com"
