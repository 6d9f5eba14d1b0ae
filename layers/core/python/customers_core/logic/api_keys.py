"""Accounts and API keys: creation (secret shown once), listing, revocation, and the request path's
key → principal lookup."""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from typing import Any

from customers_core import beside, caches, ids, keys
from customers_core.auth import SCOPES
from customers_core.dal import api_keys as dal
from customers_core.dal.table import Table

_ALPHABET = string.ascii_letters + string.digits
_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
SCOPES_CHOICES = SCOPES
SECRET_LENGTH = 40  # ~238 bits of entropy: a plain SHA-256 is then a safe stored form


class AdminError(Exception):
    """A management request that cannot be carried out (unknown account, bad scope, …)."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_account(table: Table, name: str) -> dict[str, Any]:
    account_id = ids.new_id(ids.ACCOUNT)
    item = {**keys.account(account_id), "entity": "account", "id": account_id, "name": name,
            "created": int(time.time())}
    dal.put_account(table, item)
    return {"id": account_id, "object": "account", "name": name, "created": item["created"]}


def create_key(table: Table, account_id: str, mode: str, scopes: list[str] | None = None) -> dict[str, Any]:
    """A new key. Without scopes it is a secret key (sk_, all scopes); with scopes a restricted one."""
    if mode not in ("test", "live"):
        raise AdminError("mode must be 'test' or 'live'")
    unknown = sorted(set(scopes or ()) - set(SCOPES))
    if unknown:
        raise AdminError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    account = dal.get_account(table, account_id)
    if account is None:
        raise AdminError(f"no such account: {account_id}")
    kind = "rk" if scopes else "sk"
    secret = f"{kind}_{mode}_" + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
    key_id = ids.new_id(ids.API_KEY)
    now = int(time.time())
    common = {"key_id": key_id, "account_id": account_id, "livemode": mode == "live",
              "scopes": sorted(set(scopes)) if scopes else sorted(SCOPES), "type": kind,
              "revoked": False, "created": now, "last4": secret[-4:]}
    secret_hash = hash_secret(secret)
    lookup = {**keys.api_key_lookup(secret_hash), "entity": "api_key", **common}
    if account.get("api_version"):  # the account's default API version, for the request path (logic.api_versions)
        lookup["api_version"] = account["api_version"]
    record = {**keys.api_key_record(key_id), **keys.account_keys_index(account_id, key_id),
              "entity": "api_key_record", "secret_hash": secret_hash, **common}
    dal.insert_key(table, lookup, record)
    return {**key_view(record), "secret": secret}


def key_view(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["key_id"], "object": "api_key", "account": item["account_id"],
            "livemode": item["livemode"], "type": item["type"], "scopes": item["scopes"],
            "redacted": f"{item['type']}_{'live' if item['livemode'] else 'test'}_…{item['last4']}",
            "revoked": item.get("revoked", False), "created": item["created"]}


def list_keys(table: Table, account_id: str) -> list[dict[str, Any]]:
    return [key_view(i) for i in dal.list_keys(table, account_id)]


def revoke_key(table: Table, key_id: str) -> dict[str, Any]:
    record = dal.get_key_record(table, key_id)
    if record is None:
        raise AdminError(f"no such key: {key_id}")
    dal.revoke_key(table, key_id, record["secret_hash"], int(time.time()))
    return {**key_view(record), "revoked": True}


def extract_key(headers: dict[str, str]) -> str | None:
    """The key from `Authorization: Bearer <key>` (or Basic with the key as user, as Stripe allows)
    or from `x-api-key`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = lowered.get("authorization", "").strip()
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if auth[:6].lower() == "basic ":
        import base64  # noqa: PLC0415 — rare path
        try:
            return base64.b64decode(auth[6:]).decode().split(":", 1)[0] or None
        except ValueError:
            return ""
    if auth:
        return ""
    return lowered.get("x-api-key", "").strip() or None


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
caches.on_reset(_cache.clear)


def authorize(table: Table, headers: dict[str, str], cache_seconds: float) -> dict[str, Any]:
    """The caller's principal for a request, or `error` saying why there is none. Lookups are reused
    for `cache_seconds` (< 60) so a revoked key stops working within 60 s."""
    secret = extract_key(headers)
    if secret is None:
        return {"error": "api_key_missing"}
    if not secret.startswith(_PREFIXES) or len(secret) > 200:
        return {"error": "api_key_invalid"}
    secret_hash = hash_secret(secret)
    now = time.monotonic()
    hit = _cache.get(secret_hash)
    if hit and now - hit[0] < cache_seconds:
        if now - hit[0] > cache_seconds / 2 and secret_hash not in _refreshing:
            # Looked up again beside this request, so a busy key never waits for its lookup.
            _refreshing.add(secret_hash)
            beside.submit(_lookup, table, secret, secret_hash).add_done_callback(
                lambda _: _refreshing.discard(secret_hash))
        return hit[1]
    return _lookup(table, secret, secret_hash)


_refreshing: set[str] = set()


def _lookup(table: Table, secret: str, secret_hash: str) -> dict[str, Any]:
    item = dal.get_key_by_hash(table, secret_hash)
    if item is None or item.get("revoked") or item["livemode"] != secret.startswith(("sk_live_", "rk_live_")):
        _cache.pop(secret_hash, None)
        return {"error": "api_key_invalid"}  # not cached: a key created a moment later must work
    context = {"account_id": item["account_id"], "livemode": item["livemode"],
               "scopes": " ".join(item["scopes"]), "key_id": item["key_id"]}
    if item.get("api_version"):
        context["api_version"] = item["api_version"]
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[secret_hash] = (time.monotonic(), context)
    return context
