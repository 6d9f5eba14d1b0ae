"""Customer writes on DynamoDB Local: transactions and conditions as AWS's engine enforces them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal import customers as dal
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
    assert dal.count_customers(table, WHO.tenant) == 1
    marker = table.get(keys.email_marker(WHO.tenant, "same@example.com"))
    assert marker is not None


def test_the_list_index_holds_the_customer_newest_first(table):
    ids = [create_customer(table, WHO, CustomerCreate(), {})["id"] for _ in range(3)]
    listed = table.query_index("gsi1", "gsi1pk", keys.customers_partition(WHO.tenant), forward=False)
    assert [i["id"] for i in listed] == ids[::-1]


def _params(**fields):
    from customers_core.models.customer import CustomerParams

    return CustomerParams.model_validate(fields)


def test_concurrent_email_changes_to_one_address_let_exactly_one_win(table):
    from customers_core.logic.customers import update_customer

    ids = [create_customer(table, WHO, _params(email=f"racer{i}@example.com"), {})["id"] for i in range(10)]

    def attempt(customer_id: str) -> str:
        try:
            update_customer(table, WHO, customer_id, _params(email="Prize@example.com"), {})
            return "won"
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, ids))
    assert outcomes.count("won") == 1 and outcomes.count("email_taken") == 9
    winner = ids[outcomes.index("won")]
    marker = table.get(keys.email_marker(WHO.tenant, "prize@example.com"))
    assert marker is not None and marker["customer_id"] == winner
    # The winner's old address was released; the losers kept theirs.
    assert table.get(keys.email_marker(WHO.tenant, f"racer{ids.index(winner)}@example.com")) is None
    for i, cid in enumerate(ids):
        if cid != winner:
            assert table.get(keys.email_marker(WHO.tenant, f"racer{i}@example.com"))["customer_id"] == cid


def test_twenty_concurrent_metadata_updates_of_different_keys_all_land(table):
    from customers_core.logic.customers import update_customer

    cid = create_customer(table, WHO, _params(metadata={"base": "0"}), {})["id"]

    def set_key(i: int) -> None:
        update_customer(table, WHO, cid, _params(metadata={f"k{i}": str(i)}), {})

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(set_key, range(20)))
    metadata = retrieve_customer(table, WHO, cid)["metadata"]
    assert metadata == {"base": "0", **{f"k{i}": str(i) for i in range(20)}}


def test_concurrent_partial_updates_of_different_fields_lose_nothing(table):
    from customers_core.logic.customers import update_customer

    cid = create_customer(table, WHO, _params(), {})["id"]
    changes = [{"name": "N"}, {"phone": "+1"}, {"notes": "x"}, {"tags": ["t"]}, {"status": "inactive"},
               {"sentiment": "happy"}, {"company_name": "C"}, {"address": {"city": "Oslo"}}]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda fields: update_customer(table, WHO, cid, _params(**fields), {}), changes))
    final = retrieve_customer(table, WHO, cid)
    assert (final["name"], final["phone"], final["notes"], final["tags"], final["status"], final["sentiment"],
            final["company_name"], final["address"]["city"]) == ("N", "+1", "x", ["t"], "inactive", "happy",
                                                                 "C", "Oslo")


def test_delete_then_recreate_with_the_same_email(table):
    from customers_core.logic.customers import delete_customer

    first = create_customer(table, WHO, _params(email="again@example.com"), {})
    delete_customer(table, WHO, first["id"], {})
    second = create_customer(table, WHO, _params(email="again@example.com"), {})
    assert second["id"] != first["id"]
    assert table.get(keys.email_marker(WHO.tenant, "again@example.com"))["customer_id"] == second["id"]


def test_twenty_concurrent_adds_of_one_wallet_to_different_customers_make_one_owner(table):
    from customers_core.logic.customers import list_customers
    from customers_core.logic.wallets import add_wallet
    from customers_core.models.listing import ListCustomersParams
    from customers_core.models.wallets import WalletCreate

    holders = [create_customer(table, WHO, CustomerCreate(name=f"Holder {i}"), {})["id"] for i in range(20)]
    wallet = WalletCreate(network="evm", chain_id=1, address="0x27b1fdb04752bbc536007a920d24acb045561c26")

    def attempt(customer_id: str) -> str:
        try:
            add_wallet(table, WHO, customer_id, wallet, {})
            return "added"
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, holders))
    assert outcomes.count("added") == 1 and outcomes.count("wallet_taken") == 19
    owner = holders[outcomes.index("added")]
    found = list_customers(table, WHO, ListCustomersParams(wallet=wallet.address))["data"]
    assert [c["id"] for c in found] == [owner]
    from customers_core.addresses import eip55

    assert [w["address"] for w in found[0]["wallets"]] == [eip55(wallet.address)]
    assert sum(1 for h in holders if retrieve_customer(table, WHO, h)["wallets"]) == 1
