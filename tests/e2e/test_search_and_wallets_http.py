"""Search and wallets over HTTP, and stripe-python's customers.search against the stack."""

from __future__ import annotations

import requests
import stripe


def test_stripe_python_search_is_read_after_write_and_pages(stack, new_account):
    key = new_account("test")
    client = stripe.StripeClient(key, base_addresses={"api": stack["api_url"]}, max_network_retries=0)
    made = [client.v1.customers.create(params={"name": f"Quinn Searchable {i}", "email": f"q{i}@example.com",
                                               "metadata": {"tier": "gold" if i % 2 else "silver"}})
            for i in range(5)]
    found = client.v1.customers.search(params={"query": 'name~"quin" metadata[\'tier\']:"gold"'})
    assert [c.id for c in found.data] == [made[3].id, made[1].id]
    page = client.v1.customers.search(params={"query": 'name:"quinn searchable"', "limit": 2})
    assert len(page.data) == 2 and page.has_more and page.next_page
    everything = list(client.v1.customers.search(params={"query": 'name:"quinn searchable"', "limit": 2})
                      .auto_paging_iter())
    assert [c.id for c in everything] == [c.id for c in reversed(made)]
    client.v1.customers.update(made[0].id, params={"name": "Renamed Person"})
    assert made[0].id not in [c.id for c in client.v1.customers.search(params={"query": 'name~"quinn"'}).data]
    bad = requests.get(f"{stack['api_url']}/v1/customers/search", params={"query": "name:quinn"},
                       headers={"x-api-key": key}, timeout=10)
    assert bad.status_code == 400 and "position 5" in bad.json()["error"]["message"]
    listed = requests.get(f"{stack['api_url']}/v1/customers", params={"search": "quin"}, headers={"x-api-key": key},
                          timeout=10).json()
    assert [c["id"] for c in listed["data"]] == [c.id for c in reversed(made[1:])]


def test_wallets_over_http(stack, new_account):
    key = new_account("test")
    headers = {"x-api-key": key}
    url = f"{stack['api_url']}/v1/customers"
    owner = requests.post(url, json={"name": "Holder"}, headers=headers, timeout=10).json()
    other = requests.post(url, json={"name": "Other"}, headers=headers, timeout=10).json()
    address = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"
    added = requests.post(f"{url}/{owner['id']}/wallets", headers=headers, timeout=10,
                          data={"network": "evm", "chain_id": "1", "address": address})  # form encoding too
    assert added.status_code == 200, added.text
    wallet = added.json()
    assert wallet["address"] == "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
    taken = requests.post(f"{url}/{other['id']}/wallets", headers=headers, timeout=10,
                          json={"network": "evm", "chain_id": 1, "address": address.upper().replace("0X", "0x")})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "wallet_taken"
    found = requests.get(url, params={"wallet": address}, headers=headers, timeout=10).json()["data"]
    assert [c["id"] for c in found] == [owner["id"]] and found[0]["wallets"][0]["id"] == wallet["id"]
    updated = requests.post(f"{url}/{owner['id']}/wallets/{wallet['id']}", headers=headers, timeout=10,
                            json={"authorization_type": "APPROVAL", "has_active_authorization": True}).json()
    assert updated["authorization_type"] == "APPROVAL" and updated["has_active_authorization"] is True
    listed = requests.get(f"{url}/{owner['id']}/wallets", headers=headers, timeout=10).json()
    assert [w["id"] for w in listed["data"]] == [wallet["id"]]
    removed = requests.delete(f"{url}/{owner['id']}/wallets/{wallet['id']}", headers=headers, timeout=10)
    assert removed.json() == {"id": wallet["id"], "object": "wallet", "deleted": True}
    assert requests.post(f"{url}/{other['id']}/wallets", headers=headers, timeout=10,
                         json={"network": "evm", "chain_id": 1, "address": address}).status_code == 200
