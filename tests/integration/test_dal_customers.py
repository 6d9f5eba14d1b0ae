"""Customer writes on DynamoDB Local: transactions and conditions as AWS's engine enforces them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from customers_core import keys
from customers_core.auth import Principal
from customers_core.errors import Conflict
from customers_core.logic.customers import create_customer, retrieve_customer
from customers_core.models.customer import CustomerCreate

WHO = Principal("acct_01JINTEGRATION00000000000A", False, frozenset({"customers:write"}), "key_x")


def test_create_then_retrieve_round_trips(table):
    created = create_customer(table, WHO, CustomerCreate(email="a@example.com", name="Ada",
                                                         metadata={"plan": "pro"}), {"request_id": "req_1"})
    assert retrieve_customer(table, WHO, created["id"]) == created


def test_concurrent_creates_with_one_email_make_exactly_one_customer(table):
    def attempt(i: int) -> str:
        try:
            create_customer(table, WHO, CustomerCreate(email="Same@Example.com" if i % 2 else "same@example.com"),
                            {"request_id": f"req_{i}"})
            return "created"
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("created") == 1
    assert outcomes.count("email_taken") == 49
    counter = table.get(keys.customer_counter(WHO.tenant))
    assert counter is not None and counter["count"] == 1
    marker = table.get(keys.email_marker(WHO.tenant, "same@example.com"))
    assert marker is not None


def test_the_list_index_holds_the_customer_newest_first(table):
    ids = [create_customer(table, WHO, CustomerCreate(), {})["id"] for _ in range(3)]
    listed = table.query_index("gsi1", "gsi1pk", keys.customers_partition(WHO.tenant), forward=False)
    assert [i["id"] for i in listed] == ids[::-1]
