"""Stripe API versions (api.md §10, docs/decisions.md "API versions are labels").

The object shapes are the same in every version: a version here is the label Stripe's SDKs read and
check. It comes from, in order: a request's `Stripe-Version` header (echoed on the response), a webhook
endpoint's `api_version` (the label of the events delivered to it), else the account's default, else
the service's (settings.API_VERSION).

The account's default is kept on the account item and copied onto each of its API keys' lookup
items, which every request reads anyway (cached per environment): the request path learns it with no
read of its own. The fan-out and the delivery function read the account item (cached here for
ACCOUNT_CACHE_SECONDS), so a changed default labels new events and deliveries within a minute."""

from __future__ import annotations

import re
import threading
import time

from customers_core import caches, keys
from customers_core.dal import api_keys as keys_dal
from customers_core.dal.table import Table
from customers_core.errors import InvalidRequest
from customers_core.settings import API_VERSION

# Stripe's version strings: a date, then (since 2024-09-30) a release train: 2024-06-20,
# 2025-03-31.basil, 2026-10-28.endive. Beta requests append `; name=v1` pairs to the header.
VERSION_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(\.[a-z]+)?$"
_VERSION = re.compile(VERSION_PATTERN)
_BETA = re.compile(r"^[A-Za-z0-9_]+=[A-Za-z0-9_.]+$")
ACCOUNT_CACHE_SECONDS = 60.0
HEADER = "Stripe-Version"


def valid(version: str) -> bool:
    return bool(_VERSION.fullmatch(version))


def from_header(value: str | None) -> str | None:
    """The version a request asks for (its `Stripe-Version` without beta flags), None if it sent none;
    a malformed value is a 400 naming the header."""
    if value is None or not value.strip():
        return None
    version, *betas = (part.strip() for part in value.split(";"))
    if not valid(version) or not all(_BETA.fullmatch(b) for b in betas):
        raise InvalidRequest(f"Invalid Stripe-Version '{value[:80]}': send a Stripe API version such as "
                             "2026-10-28.endive or 2024-06-20.", param=HEADER)
    return version


_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def account_default(table: Table, account_id: str) -> str:
    """The account's default version (the service's if it has none), read at most once a minute."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(account_id)
    if hit is not None and now - hit[0] < ACCOUNT_CACHE_SECONDS:
        return hit[1]
    account = keys_dal.get_account(table, account_id) or {}
    version = str(account.get("api_version") or API_VERSION)
    with _lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[account_id] = (now, version)
    return version


@caches.on_reset
def forget() -> None:
    """Drop the cached defaults (tests; a new execution environment starts without them)."""
    with _lock:
        _cache.clear()


def set_account_default(table: Table, account_id: str, version: str | None) -> str:
    """Set (or, with None, reset to the service's) the account's default version: on the account item
    and on the lookup item of each of its keys. Requests see it once their environment's cached key
    lookup is refreshed (30 s), events and deliveries within ACCOUNT_CACHE_SECONDS."""
    if version is not None and not valid(version):
        raise ValueError(f"not a Stripe API version: {version!r} (e.g. 2026-10-28.endive)")
    if keys_dal.get_account(table, account_id) is None:
        raise ValueError(f"no such account: {account_id}")
    expression, values = ("SET api_version = :v", {":v": version}) if version else ("REMOVE api_version", None)
    table.update(keys.account(account_id), expression, values=values, condition="attribute_exists(pk)")
    for record in keys_dal.list_keys(table, account_id):
        table.update(keys.api_key_lookup(str(record["secret_hash"])), expression, values=values,
                     condition="attribute_exists(pk)")
    forget()
    return version or API_VERSION
