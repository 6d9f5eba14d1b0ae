"""customers-admin against the local stack: accounts and keys, and what a key can then do."""

from __future__ import annotations

import time

import requests


def test_new_account_and_keys_work_and_revocation_bites(stack, admin):
    account = admin("accounts", "create", "--name", "E2E Co")
    key = admin("keys", "create", "--account", account["id"], "--mode", "test")
    assert key["secret"].startswith("sk_test_")
    reader = admin("keys", "create", "--account", account["id"], "--mode", "live", "--scope", "customers:read")
    assert reader["secret"].startswith("rk_live_")

    listed = admin("keys", "list", "--account", account["id"])["data"]
    assert {k["id"] for k in listed} == {key["id"], reader["id"]}
    assert all("secret" not in k for k in listed)

    url = f"{stack['api_url']}/v1/customers"
    assert requests.post(url, headers={"x-api-key": key["secret"]}, json={}, timeout=10).status_code == 200
    denied = requests.post(url, headers={"x-api-key": reader["secret"]}, json={}, timeout=10)
    assert denied.status_code == 403 and "customers:write" in denied.json()["error"]["message"]

    # Another account's customer does not exist for this key.
    mine = requests.post(url, headers={"x-api-key": stack["secret_key"]}, json={}, timeout=10).json()
    other = requests.get(f"{url}/{mine['id']}", headers={"x-api-key": key["secret"]}, timeout=10)
    assert other.status_code == 404

    admin("keys", "revoke", key["id"])
    deadline = time.monotonic() + 60
    status = 200
    while status != 401 and time.monotonic() < deadline:
        status = requests.get(f"{url}/{mine['id']}", headers={"x-api-key": key["secret"]}, timeout=10).status_code
        time.sleep(0.5) if status != 401 else None
    assert status == 401
