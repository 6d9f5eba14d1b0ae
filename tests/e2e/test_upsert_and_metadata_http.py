"""Through the local stack (api.md §11): upsert under concurrency, metadata filters, and the sequence
number on objects and events."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests
import stripe


def _url(stack, path: str = "") -> str:
    return f"{stack['api_url']}/v1/customers{path}"


def _events_of(stack, key: str, customer_id: str, count: int) -> list[dict]:
    """The customer's events, oldest first, once there are `count` of them (the stream makes them)."""
    deadline, mine = time.monotonic() + 10, []
    while time.monotonic() < deadline:
        page = requests.get(f"{stack['api_url']}/v1/events", headers={"x-api-key": key}, params={"limit": 100},
                            timeout=10).json()["data"]
        mine = [e for e in page if e["data"]["object"]["id"] == customer_id]
        if len(mine) >= count:
            break
        time.sleep(0.1)
    return mine[::-1]


def test_twenty_concurrent_upserts_of_one_external_id_make_one_customer(stack, new_account):
    key = new_account("test")

    def upsert(n: int) -> requests.Response:
        return requests.post(_url(stack, "/upsert"), headers={"x-api-key": key}, timeout=60,
                             json={"external_id": "same-user", "metadata": {f"k{n}": str(n)}})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(upsert, range(20)))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    results = sorted(a.headers["Upsert-Result"] for a in answers)
    assert results == ["created"] + ["updated"] * 19
    assert len({a.json()["id"] for a in answers}) == 1
    listed = requests.get(_url(stack), headers={"x-api-key": key}, params={"limit": 100}, timeout=10).json()
    assert len(listed["data"]) == 1
    customer = listed["data"][0]
    # Every upsert landed (metadata merges), each change numbered: versions 1 to 20.
    assert customer["metadata"] == {f"k{n}": str(n) for n in range(20)} and customer["version"] == 20
    assert sorted(a.json()["version"] for a in answers) == list(range(1, 21))
    events = _events_of(stack, key, customer["id"], 20)
    assert [e["type"] for e in events] == ["customer.created"] + ["customer.updated"] * 19
    assert [e["data"]["object"]["version"] for e in events] == list(range(1, 21))


def test_upsert_on_email_is_case_insensitive_and_its_route_is_not_an_update(stack, new_account):
    key = new_account("test")
    created = requests.post(_url(stack), headers={"x-api-key": key}, json={"email": "Mixed@Example.com"},
                            timeout=10).json()
    answer = requests.post(_url(stack, "/upsert"), headers={"x-api-key": key}, timeout=10,
                           data={"match_on": "email", "email": "mixed@example.COM", "name": "Found"})
    assert answer.status_code == 200 and answer.headers["Upsert-Result"] == "updated"
    assert (answer.json()["id"], answer.json()["name"]) == (created["id"], "Found")
    missing = requests.post(_url(stack, "/upsert"), headers={"x-api-key": key}, json={"name": "x"}, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "external_id"
    # stripe-python has no method for it; its raw request helper calls it.
    sdk = stripe.StripeClient(key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    raw = sdk.raw_request("post", "/v1/customers/upsert", external_id="sdk-upsert", name="Sdk")
    assert raw.code == 200 and raw.headers["Upsert-Result"] == "created"
    # GET on the literal path has no route of its own: it is a retrieve of a customer named "upsert".
    got = requests.get(_url(stack, "/upsert"), headers={"x-api-key": key}, timeout=10)
    assert got.status_code == 404 and got.json()["error"]["code"] == "resource_missing"


def test_metadata_filters_select_exactly_and_combine(stack, new_account):
    key = new_account("test")
    headers = {"x-api-key": key}

    def create(**fields) -> str:
        return str(requests.post(_url(stack), headers=headers, json=fields, timeout=10).json()["id"])

    pro_eu = create(metadata={"plan": "pro", "region": "eu"}, tags=["vip"])
    pro_us = create(metadata={"plan": "pro", "region": "us"}, status="inactive")
    create(metadata={"plan": "PRO", "region": "eu"})
    create(metadata={"plan": "team", "region": "eu"}, tags=["vip"])
    pro_eu2 = create(metadata={"plan": "pro", "region": "eu"})

    def listed(query: str) -> dict:
        response = requests.get(f"{_url(stack)}?{query}", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    assert [c["id"] for c in listed("metadata[plan]=pro")["data"]] == [pro_eu2, pro_us, pro_eu]
    assert [c["id"] for c in listed("metadata[plan]=pro&metadata[region]=eu")["data"]] == [pro_eu2, pro_eu]
    assert [c["id"] for c in listed("metadata[plan]=pro&tag=vip")["data"]] == [pro_eu]
    assert [c["id"] for c in listed("metadata[region]=us&status=inactive")["data"]] == [pro_us]
    page = listed("metadata[plan]=pro&limit=2&include[]=total_count")
    assert [c["id"] for c in page["data"]] == [pro_eu2, pro_us] and page["has_more"] and page["total_count"] == 3
    rest = listed(f"metadata[plan]=pro&limit=2&starting_after={pro_us}")
    assert [c["id"] for c in rest["data"]] == [pro_eu] and rest["has_more"] is False
    too_many = requests.get(f"{_url(stack)}?metadata[a]=1&metadata[b]=2&metadata[c]=3&metadata[d]=4",
                            headers=headers, timeout=10)
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "metadata"
    # The search clause reads the same index (case-insensitively, as search's `:` does).
    found = requests.get(_url(stack, "/search"), headers=headers, params={"query": "metadata['region']:'us'"},
                         timeout=10).json()
    assert [c["id"] for c in found["data"]] == [pro_us]
    # stripe-python sends the filter in its own encoding, and auto-pages through it.
    client = stripe.StripeClient(key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    params = {"metadata": {"plan": "pro"}, "limit": 1}
    sdk_pages = client.v1.customers.list(params=params)  # type: ignore[arg-type]
    assert [c.id for c in sdk_pages.auto_paging_iter()] == [pro_eu2, pro_us, pro_eu]


def test_version_increments_and_the_delete_event_carries_the_next_one(stack, new_account):
    key = new_account("test")
    headers = {"x-api-key": key}
    created = requests.post(_url(stack), headers=headers, json={"name": "V1"}, timeout=10).json()
    assert created["version"] == 1
    for n in (2, 3):
        changed = requests.post(_url(stack, f"/{created['id']}"), headers=headers, json={"name": f"V{n}"},
                                timeout=10).json()
        assert changed["version"] == n
    assert requests.get(_url(stack, f"/{created['id']}"), headers=headers, timeout=10).json()["version"] == 3
    assert requests.delete(_url(stack, f"/{created['id']}"), headers=headers, timeout=10).status_code == 200
    events = _events_of(stack, key, created["id"], 4)
    assert [(e["type"], e["data"]["object"]["version"]) for e in events] == [
        ("customer.created", 1), ("customer.updated", 2), ("customer.updated", 3), ("customer.deleted", 4)]
    assert events[-1]["data"]["object"]["name"] == "V3"  # the object as it was, numbered as the delete
    sdk = stripe.StripeClient(key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    assert sdk.v1.customers.create(params={"name": "sdk"})["version"] == 1  # an extra field the SDK exposes
