"""Search tokens beside the transaction, and the stale ones dropped after the change by the stream
fan-out (dal.customers.drop_stale_tokens)."""

from __future__ import annotations

import pytest
from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import serialize
from customers_core.errors import Conflict
from customers_core.logic import customers as logic
from customers_core.logic.search import search_customers
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.search import SearchParams

WHO = Principal("acct_01JTOKENS00000000000000000A", False, frozenset(), "key_x")


def _tokens(table, field: str, token: str) -> list[str]:
    return [i["customer_id"] for i in table.query_partition(keys.search_bucket(WHO.tenant, field, token))
            if i["sk"].startswith(f"{token}#")]


def _record(old: dict | None, new: dict) -> dict:
    images = {"NewImage": serialize(new), **({"OldImage": serialize(old)} if old else {})}
    return {"eventName": "MODIFY" if old else "INSERT", "dynamodb": images}


def _found(table, query: str) -> list[str]:
    return [c["id"] for c in search_customers(table, WHO, SearchParams(query=query, limit=10))["data"]]


def test_a_renamed_customer_is_found_by_its_new_name_at_once_and_its_old_token_goes_with_the_fan_out(table):
    created = logic.create_customer(table, WHO, CustomerParams(name="Ada Lovelace"), {})
    old = dal.get_customer(table, WHO.tenant, created["id"])
    logic.update_customer(table, WHO, created["id"], CustomerParams(name="Grace Hopper"), {})
    new = dal.get_customer(table, WHO.tenant, created["id"])
    assert new is not None
    # Read after write: the new name is found, the old one is not (the stale token costs a read).
    assert _found(table, 'name:"grace"') == [created["id"]] and _found(table, 'name:"ada"') == []
    assert _tokens(table, "name", "ada") == [created["id"]]
    assert dal.settle_change(table, _record(old, new)) == 2  # "ada" and "lovelace"
    assert _tokens(table, "name", "ada") == [] and _tokens(table, "name", "grace") == [created["id"]]
    assert dal.settle_change(table, _record(old, new)) == 0  # a re-delivered record changes nothing


def test_a_token_put_again_by_a_later_change_survives_the_earlier_changes_clean_up(table):
    created = logic.create_customer(table, WHO, CustomerParams(name="Ada"), {})
    v1 = dal.get_customer(table, WHO.tenant, created["id"])
    logic.update_customer(table, WHO, created["id"], CustomerParams(name="Grace"), {})
    v2 = dal.get_customer(table, WHO.tenant, created["id"])
    assert v2 is not None
    logic.update_customer(table, WHO, created["id"], CustomerParams(name="Ada"), {})  # "ada" put again (v3)
    assert dal.settle_change(table, _record(v1, v2)) == 0  # the v1 → v2 record comes late
    assert _tokens(table, "name", "ada") == [created["id"]] and _found(table, 'name:"ada"') == [created["id"]]


def test_a_deleted_customer_is_never_found_and_its_tokens_go_with_the_fan_out(table):
    created = logic.create_customer(table, WHO, CustomerParams(name="Ada", email="ada@example.com",
                                                               metadata={"plan": "pro"}), {})
    old = dal.get_customer(table, WHO.tenant, created["id"])
    logic.delete_customer(table, WHO, created["id"], {})
    assert _found(table, 'name:"ada"') == [] and _found(table, 'metadata["plan"]:"pro"') == []
    deleted = dal.get_customer(table, WHO.tenant, created["id"])
    assert deleted is not None
    assert dal.settle_change(table, _record(old, deleted)) >= 4
    assert _tokens(table, "name", "ada") == [] and _tokens(table, "metadata", "plan=pro") == []


def test_a_creates_index_entries_lost_with_its_request_are_put_by_the_fan_out(table):
    """A create puts its index entries beside its transaction; if its environment died after the
    commit and before they landed, the fan-out (one eventually consistent read each) puts them."""
    created = logic.create_customer(table, WHO, CustomerParams(name="Ada", tags=["vip"]), {})
    item = dal.get_customer(table, WHO.tenant, created["id"])
    assert item is not None
    entries = dal.index_entries(WHO.tenant, item)
    assert len(entries) == 3  # status, sentiment, tag
    assert dal.settle_change(table, _record(None, item)) == 0  # all there: nothing written
    lost = entries[keys.count_name("tag", "vip")]
    table.delete({"pk": lost["pk"], "sk": lost["sk"]})
    assert dal.settle_change(table, _record(None, item)) == 1
    listed = logic.list_customers(table, WHO, ListCustomersParams(tag="vip", limit=10))["data"]
    assert [c["id"] for c in listed] == [created["id"]]


def test_a_create_refused_as_a_duplicate_leaves_no_index_entries(table):
    logic.create_customer(table, WHO, CustomerParams(email="taken@example.com"), {})
    with pytest.raises(Conflict):
        logic.create_customer(table, WHO, CustomerParams(email="taken@example.com", tags=["ghost"]), {})
    assert table.query_partition(keys.filtered_partition(WHO.tenant, "tag", "ghost")) == []
    assert len(table.query_partition(keys.filtered_partition(WHO.tenant, "status", "active"))) == 1
