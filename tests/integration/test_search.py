"""Search on DynamoDB Local: read-after-write, because the index is base-table items read consistently."""

from __future__ import annotations

from benchmarks.consumption import Consumption
from customers_core.auth import Principal
from customers_core.logic.customers import create_customer, delete_customer, list_customers, update_customer
from customers_core.logic.search import search_customers
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import CreatedRange, ListCustomersParams
from customers_core.models.search import SearchParams

WHO = Principal("acct_01JINTEGRATIONSEARCH0000000", False, frozenset(), "key_x")


def _found(table, query: str) -> list[str]:
    return [c["id"] for c in search_customers(table, WHO, SearchParams(query=query, limit=100))["data"]]


def test_every_write_shows_in_the_very_next_search(table):
    for round_ in range(5):  # a few rounds: read-after-write must hold every time, not usually
        created = create_customer(table, WHO, CustomerParams(name=f"Zelda Round{round_}",
                                                             email=f"z{round_}@example.org"), {})
        assert _found(table, f'name:"zelda round{round_}"') == [created["id"]]
        assert created["id"] in _found(table, 'name~"zel"')
        update_customer(table, WHO, created["id"], CustomerParams(name=f"Link Round{round_}"), {})
        assert _found(table, f'name:"zelda round{round_}"') == []
        assert _found(table, f'name:"link round{round_}"') == [created["id"]]
        delete_customer(table, WHO, created["id"], {})
        assert _found(table, f'name~"round{round_}"') == []
        assert created["id"] not in _found(table, "created>0")


def test_list_search_and_the_equivalent_query_agree(table):
    for n, (name, email) in enumerate([("Jan Novak", "jan@novak.cz"), ("Janina Kowalska", "jk@poczta.pl"),
                                        ("Bob Jansen", "bob@jansen.nl"), ("Eve Adams", "eve@janitor.io")]):
        create_customer(table, WHO, CustomerParams(name=name, email=email, tags=["t"] if n % 2 else []), {})
    for text in ("jan", "ja", "eve", "novak jan"):
        listed = list_customers(table, WHO, ListCustomersParams(search=text, limit=100))["data"]
        joined = " ".join(text.split())
        assert [c["id"] for c in listed] == _found(table, f'name~"{joined}" OR email~"{joined}"'), text
    assert len(list_customers(table, WHO, ListCustomersParams(search="jan", limit=100))["data"]) == 4


def test_empty_ranges_answer_empty_not_500(table):
    """A cursor outside a created range makes BETWEEN's bounds cross; DynamoDB Local refuses that."""
    from customers_core.logic.events import list_events
    from customers_core.models.listing import ListEventsParams

    newest = create_customer(table, WHO, CustomerParams(name="Late"), {})
    params = ListCustomersParams(ending_before=newest["id"], created=CreatedRange(gt=156, lt=671))
    assert list_customers(table, WHO, params)["data"] == []
    assert list_events(table, WHO, ListEventsParams(ending_before="evt_589C0EHMW0T7WCXGN4NF6A009K",
                                                    created=CreatedRange(gt=156, lt=671)))["data"] == []
    later = search_customers(table, WHO, SearchParams(query="created<100", page=None))
    assert later["data"] == []
    import base64

    page = base64.urlsafe_b64encode(b"cus_00000000000000000000000000").decode().rstrip("=")
    assert search_customers(table, WHO, SearchParams(query="created>1000000000", page=page))["data"] == []


def test_an_and_of_broad_clauses_reads_by_matches_not_by_clause_size(table):
    """Every customer is 'active' and named 'Common …'; one in ten is tagged vip; one has the rare word.
    The zig-zag join jumps between the clauses' entries instead of reading the broad ones."""
    made = [create_customer(table, WHO, CustomerParams(name=f"Common Person{n}", tags=["vip"] if n % 10 == 0 else []),
                            {})["id"] for n in range(120)]
    usage = Consumption().install(table.client)  # counts what DynamoDB examines from here on
    found = _found(table, 'name:"common person60" status:"active" tag:"vip"')
    reads = usage.items_read
    assert found == [made[60]]
    assert reads < 30, f"{reads} items read for one match among 120 customers"
    print(f"\n{reads} items read")
    assert _found(table, 'name:"common" tag:"vip"') == [made[n] for n in range(110, -1, -10)]
