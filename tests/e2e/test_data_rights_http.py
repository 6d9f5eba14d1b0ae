"""The customer's data rights end to end (api.md §11): a customer with a distinctive value in every
personal field lives through the local stack — changed, given a wallet, searched, its events
delivered to a real receiver, every POST under an idempotency key — then is redacted. Afterwards a
Scan of DynamoDB Local finds none of its values in any item of the account (compressed binary values
decompressed), and no API answer holds one."""

from __future__ import annotations

import requests

from tests.e2e.test_webhooks_http import WAIT, _eventually, account, receivers
from tests.unit.test_data_rights import CHANGED, PERSONAL, WALLET, leaks, table_leaks

# Fixtures of the webhooks tests: `account` (a session with a fresh account's test key; keyword
# arguments go to requests) and `receivers` (on 127.0.0.1).
__all__ = ["account", "receivers"]


def _keyed(key: str) -> dict[str, dict[str, str]]:
    return {"headers": {"Idempotency-Key": key}}


def test_after_redact_no_item_of_the_account_and_no_answer_holds_the_customer(stack, stack_table, account, receivers):
    receiver = receivers()
    status, endpoint = account("POST", "/v1/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["*"]})
    assert status == 200, endpoint
    receiver.secret = endpoint["secret"]
    status, created = account("POST", "/v1/customers", json=PERSONAL, **_keyed("e2e-create"))
    assert status == 200, created
    path = f"/v1/customers/{created['id']}"
    assert account("POST", path, json=CHANGED, **_keyed("e2e-update"))[0] == 200
    assert account("POST", f"{path}/wallets", json={"network": "evm", "address": WALLET, "chain_id": 1},
                   **_keyed("e2e-wallet"))[0] == 200
    assert account("POST", path, json={"name": CHANGED["name"]}, **_keyed("e2e-same"))[0] == 200  # changes nothing
    _, found = account("GET", "/v1/customers/search", params={"query": 'name:"Quillonius"'})
    assert [c["id"] for c in found["data"]] == [created["id"]]
    got = receiver.wait_for(lambda d: len({x.event_id for x in d if x.status == 200}) >= 3, WAIT)
    assert all(d.verified for d in got) and leaks([d.body for d in got])
    first = next(d.event_id for d in got if d.event_type == "customer.created")
    status, retried = account("POST", f"/v1/events/{first}/retry", **_keyed("e2e-retry"))
    assert status == 200 and retried["data"]["object"]["email"] == PERSONAL["email"]
    receiver.wait_for(lambda d: sum(x.event_id == first for x in d) >= 2, WAIT)
    _, export = account("GET", f"{path}/export")
    assert export["customer"]["wallets"][0]["address"] == WALLET and len(export["events"]) == 3
    assert len(export["deliveries"]) == 3 and leaks(export)
    assert table_leaks(stack_table, account.account_id), "the scan must see the values before the redaction"

    status, answer = account("POST", f"{path}/redact", **_keyed("e2e-redact"))
    assert (status, answer) == (200, {"id": created["id"], "object": "customer", "redacted": True})
    redacted = receiver.wait_for(lambda d: any(x.event_type == "customer.redacted" for x in d), WAIT)
    [event] = [d for d in redacted if d.event_type == "customer.redacted"]
    assert event.verified and event.body["data"] == {"object": {"id": created["id"], "object": "customer",
                                                                "redacted": True, "version": 5}}
    # The fan-out sweeps again before it writes customer.redacted: by now nothing is left anywhere.
    assert _eventually(lambda: table_leaks(stack_table, account.account_id), lambda found: not found) == {}

    assert account("GET", path) == (200, {"id": created["id"], "object": "customer", "deleted": True,
                                          "redacted": True})
    _, events = account("GET", "/v1/events", params={"limit": 100})
    answers = [
        account("GET", "/v1/customers", params={"limit": 100}),
        account("GET", "/v1/customers", params={"email": PERSONAL["email"]}),
        account("GET", "/v1/customers", params={"wallet": WALLET}),
        account("GET", "/v1/customers/search", params={"query": 'name:"Quillonius"'}),
        account("GET", "/v1/customers/search", params={"query": 'email:"quillonmail.vantabloux@zorbolux.example"'}),
        (200, events),
        *[account("GET", f"/v1/events/{e['id']}") for e in events["data"]],
        account("GET", f"{path}/export"),
        account("POST", "/v1/customers", json=PERSONAL, **_keyed("e2e-create")),  # replays, as stored now
        account("POST", f"/v1/events/{first}/retry", **_keyed("e2e-retry")),
    ]
    assert [status for status, _ in answers] == [200] * len(answers)
    assert [body for _, body in answers if leaks(body)] == []
    assert answers[0][1]["data"] == [] and answers[3][1]["data"] == [] and answers[4][1]["data"] == []
    assert [e["type"] for e in answers[-3][1]["events"]] == ["customer.redacted", "customer.updated",
                                                              "customer.updated", "customer.created"]


def test_data_rights_are_scoped_and_isolated(stack, stack_table, account, new_account):
    from customers_core.logic import api_keys

    stranger = api_keys.create_account(stack_table, "e2e-stranger")
    _, created = account("POST", "/v1/customers", json={"name": "Scoped Person"})
    path = f"/v1/customers/{created['id']}"
    reader = requests.Session()
    reader.headers["x-api-key"] = new_account("test", "customers:read")
    assert reader.get(f"{stack['api_url']}{path}/export", timeout=30).status_code == 200
    refused = reader.post(f"{stack['api_url']}{path}/redact", timeout=30)
    assert refused.status_code == 403 and "customers:delete" in refused.json()["error"]["message"]
    for other in (new_account("live"), str(api_keys.create_key(stack_table, stranger["id"], "test")["secret"])):
        for method, suffix in (("GET", "export"), ("POST", "redact")):
            response = requests.request(method, f"{stack['api_url']}{path}/{suffix}", headers={"x-api-key": other},
                                        timeout=30)
            assert (response.status_code, response.json()["error"]["code"]) == (404, "resource_missing")
    assert account("GET", path)[1]["name"] == "Scoped Person"
