"""`GET /v1/customers?metadata[key]=value` (api.md §11) over moto: exact values, up to three filters,
combined with the other filters, paged both ways, read from the search index's metadata tokens."""

from __future__ import annotations

import json

import pytest
from benchmarks.consumption import Consumption
from customers_core.auth import Principal
from customers_core.http import decode_form, parse_query, validation_error
from customers_core.logic import customers as logic
from customers_core.logic import metadata_filter
from customers_core.logic import search as search_logic
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.search import SearchParams
from pydantic import ValidationError

from tests.conftest import load_function

REQ: dict[str, str | None] = {"request_id": "req_unit"}


@pytest.fixture
def who(table) -> Principal:
    return Principal("acct_01JUNITMETADATA0000000000A", False, frozenset(), "key_x")


def _create(table, who, **fields) -> str:
    return str(logic.create_customer(table, who, CustomerParams.model_validate(fields), REQ)["id"])


def _list(table, who, query: str) -> dict:
    return logic.list_customers(table, who, ListCustomersParams.model_validate(decode_form(parse_query(query))))


def _counting(table) -> Consumption:
    """What the table's client reads and consumes from now on."""
    consumption = Consumption()
    consumption.install(table.client)
    return consumption


def _ids(body: dict) -> list[str]:
    return [c["id"] for c in body["data"]]


def test_a_metadata_filter_is_exact_case_included_and_newest_first(table, who):
    pro = [_create(table, who, metadata={"plan": "pro", "n": str(n)}) for n in range(3)]
    _create(table, who, metadata={"plan": "Pro"})
    _create(table, who, metadata={"plan": "pro2"})
    _create(table, who, metadata={"tier": "pro"})
    _create(table, who)
    body = _list(table, who, "metadata[plan]=pro")
    assert _ids(body) == pro[::-1] and body["has_more"] is False
    assert _ids(_list(table, who, "metadata[plan]=Pro")) != pro[::-1]
    assert len(_ids(_list(table, who, "metadata[plan]=Pro"))) == 1
    assert _ids(_list(table, who, "metadata[plan]=enterprise")) == []


def test_filters_combine_with_each_other_and_with_the_other_list_filters(table, who):
    a = _create(table, who, email="a@example.com", name="Alpha", metadata={"plan": "pro", "region": "eu"}, tags=["vip"])
    b = _create(table, who, metadata={"plan": "pro", "region": "us"}, tags=["vip"], status="inactive")
    c = _create(table, who, metadata={"plan": "pro", "region": "eu", "seats": "10"}, sentiment="angry")
    _create(table, who, metadata={"plan": "team", "region": "eu"}, tags=["vip"])
    assert _ids(_list(table, who, "metadata[plan]=pro&metadata[region]=eu")) == [c, a]
    assert _ids(_list(table, who, "metadata[plan]=pro&metadata[region]=eu&metadata[seats]=10")) == [c]
    assert _ids(_list(table, who, "metadata[plan]=pro&tag=vip")) == [b, a]
    assert _ids(_list(table, who, "metadata[plan]=pro&status=inactive")) == [b]
    assert _ids(_list(table, who, "metadata[region]=eu&sentiment=angry")) == [c]
    assert _ids(_list(table, who, "metadata[plan]=pro&email=A@example.com")) == [a]
    assert _ids(_list(table, who, "metadata[plan]=team&email=a@example.com")) == []
    assert _ids(_list(table, who, "metadata[plan]=pro&search=alp")) == [a]
    created = logic.retrieve_customer(table, who, b)["created"]
    assert set(_ids(_list(table, who, f"metadata[plan]=pro&created[gte]={created}&created[lte]={created}"))) <= \
        {a, b, c}
    assert _ids(_list(table, who, "metadata[plan]=pro&created[lt]=1000")) == []


def test_pages_both_ways_with_cursors_and_offsets_and_total_count(table, who):
    ids = [_create(table, who, metadata={"plan": "pro"}) for _ in range(7)]
    _create(table, who, metadata={"plan": "team"})
    newest_first = ids[::-1]
    first = _list(table, who, "metadata[plan]=pro&limit=3&include[]=total_count")
    assert _ids(first) == newest_first[:3] and first["has_more"] is True and first["total_count"] == 7
    second = _list(table, who, f"metadata[plan]=pro&limit=3&starting_after={newest_first[2]}")
    assert _ids(second) == newest_first[3:6] and second["has_more"] is True
    last = _list(table, who, f"metadata[plan]=pro&limit=3&starting_after={newest_first[5]}")
    assert _ids(last) == newest_first[6:] and last["has_more"] is False
    back = _list(table, who, f"metadata[plan]=pro&limit=3&ending_before={newest_first[6]}")
    assert _ids(back) == newest_first[3:6] and back["has_more"] is True
    assert _ids(_list(table, who, "metadata[plan]=pro&page=2&page_size=3")) == newest_first[3:6]
    assert _list(table, who, "metadata[plan]=pro&tag=none&include[]=total_count")["total_count"] == 0


def test_a_changed_or_deleted_customer_leaves_the_filter_before_its_old_token_is_cleaned_up(table, who):
    """A change's removed tokens are deleted by the stream fan-out, after the request (not run here): the
    list checks every candidate on the customer, so a stale token never shows a customer."""
    moved = _create(table, who, metadata={"plan": "pro"})
    gone = _create(table, who, metadata={"plan": "pro"})
    kept = _create(table, who, metadata={"plan": "pro"})
    logic.update_customer(table, who, moved, CustomerParams.model_validate({"metadata": {"plan": "team"}}), REQ)
    logic.delete_customer(table, who, gone, REQ)
    body = _list(table, who, "metadata[plan]=pro&limit=1&include[]=total_count")
    assert _ids(body) == [kept] and body["total_count"] == 1
    assert _ids(_list(table, who, f"metadata[plan]=pro&limit=1&starting_after={kept}")) == []
    assert _ids(_list(table, who, "metadata[plan]=team")) == [moved]


def test_a_page_reads_the_page_plus_one_token_entries_and_customers(table, who):
    for n in range(30):
        _create(table, who, metadata={"plan": "pro" if n % 2 else "team"})
    first = _counting(table)
    body = _list(table, who, "metadata[plan]=pro&limit=10")
    assert len(body["data"]) == 10 and body["has_more"] is True
    assert (first.items_read, first.calls) == (11 + 11, 2)  # 11 token entries, 11 customers: 2 round trips
    second = _counting(table)
    _list(table, who, f"metadata[plan]=pro&limit=10&starting_after={body['data'][-1]['id']}")
    assert second.items_read == 6 + 5  # the 5 left and the cursor's own entry; the 5 customers


def test_a_rare_combination_stops_at_the_cap_once_the_page_has_a_customer(table, who, monkeypatch):
    monkeypatch.setattr(metadata_filter, "EXAMINE_CAP", 5)
    ids = [_create(table, who, metadata={"plan": "pro"}, status="inactive" if n in (0, 19) else "active")
           for n in range(20)]
    first = _list(table, who, "metadata[plan]=pro&status=inactive&limit=10")
    assert _ids(first) == [ids[19]] and first["has_more"] is True  # never an empty page with has_more
    rest = _list(table, who, f"metadata[plan]=pro&status=inactive&limit=10&starting_after={ids[19]}")
    assert _ids(rest) == [ids[0]] and rest["has_more"] is False


def test_search_reads_the_same_index(table, who):
    ids = [_create(table, who, metadata={"plan": "pro"}) for _ in range(3)]
    _create(table, who, metadata={"plan": "team"})
    found = search_logic.search_customers(table, who, SearchParams(query="metadata['plan']:'pro'", limit=10))
    assert _ids(found) == _ids(_list(table, who, "metadata[plan]=pro")) == ids[::-1]


@pytest.mark.parametrize(("query", "param"), [
    ("metadata[a]=1&metadata[b]=2&metadata[c]=3&metadata[d]=4", "metadata"),
    ("metadata[plan]=", "metadata[plan]"),
    ("metadata=pro", "metadata"),
    (f"metadata[plan]={'x' * 501}", "metadata[plan]"),
    (f"metadata[{'k' * 41}]=v", "metadata"),
])
def test_filter_errors_are_400_naming_the_parameter(query, param):
    with pytest.raises(ValidationError) as caught:
        ListCustomersParams.model_validate(decode_form(parse_query(query)))
    error = validation_error(caught.value)
    assert error.status == 400 and error.param == param


def test_three_filters_are_accepted_through_the_function(table, account, make_api_event, lambda_context):
    fn = load_function("list_customers")
    event = make_api_event("GET", "/v1/customers", context=account)
    event["rawQueryString"] = "metadata[a]=1&metadata[b]=2&metadata[c]=3&include[]=total_count"
    response = fn.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["total_count"] == 0
