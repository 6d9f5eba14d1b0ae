"""Wallets of a customer (api.md §7). They live on the customer item (so the customer object shows
them and every change is a `customer.updated` event from the stream), each with a uniqueness marker
per (network, chain_id, address) written in the same transaction: a wallet belongs to at most one
customer of an account and mode."""

from __future__ import annotations

import time
from typing import Any

from customers_core import addresses, ids
from customers_core.auth import Principal
from customers_core.dal.table import Item, Table
from customers_core.errors import InvalidRequest, ResourceMissing
from customers_core.logic.customers import change_customer, load_customer
from customers_core.models.wallets import MAX_WALLETS, WalletCreate, WalletUpdate, wallet_object


def normalized(params: WalletCreate) -> tuple[str, int | None]:
    """The stored address (EVM checksummed) and chain id, or a 400 naming the parameter."""
    try:
        if params.network == "stellar":
            if params.chain_id is not None:
                raise InvalidRequest("chain_id is only for evm wallets.", param="chain_id")
            addresses.stellar_public_key(params.address)
            return params.address, None
        if params.chain_id is None:
            raise InvalidRequest("chain_id is required for evm wallets.", param="chain_id", code="parameter_missing")
        return addresses.normalize_evm(params.address), params.chain_id
    except addresses.InvalidAddress as exc:
        raise InvalidRequest(f"Invalid address: {exc}.", param="address", code="address_invalid") from exc


def _stamp(request: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in request.items() if v}


def _without_request(item: Item) -> Item:
    return {k: v for k, v in item.items() if k not in ("request_id", "idempotency_key")}


def add_wallet(table: Table, who: Principal, customer_id: str, params: WalletCreate,
               request: dict[str, str | None]) -> dict[str, Any]:
    address, chain_id = normalized(params)
    now = int(time.time())
    wallet: Item = {"id": ids.new_id(ids.WALLET, now), "network": params.network, "address": address,
                    "has_active_authorization": False, "created": now, "updated": now}
    if chain_id is not None:
        wallet["chain_id"] = chain_id

    def change(old: Item) -> Item:
        wallets = list(old.get("wallets") or [])
        if any(w["network"] == params.network and w.get("chain_id") == chain_id
               and addresses.lookup_key(w["address"]) == addresses.lookup_key(address) for w in wallets):
            from customers_core.logic.customers import taken  # noqa: PLC0415

            raise taken("wallet")
        if len(wallets) >= MAX_WALLETS:
            raise InvalidRequest(f"A customer can have at most {MAX_WALLETS} wallets.", param="address",
                                 code="resource_limit_exceeded")
        return {**_without_request(old), "wallets": [*wallets, wallet], **_stamp(request)}

    return change_customer(table, who, customer_id, change, lambda customer: wallet_object(wallet, customer))


def _find(item: Item, raw_wallet_id: str) -> dict[str, Any]:
    wallet_id = ids.parse_id(ids.WALLET, raw_wallet_id)
    for wallet in item.get("wallets") or []:
        if wallet["id"] == wallet_id:
            return dict(wallet)
    raise ResourceMissing(f"No such wallet: '{raw_wallet_id[:100]}'", param="wallet_id")


def list_wallets(table: Table, who: Principal, customer_id: str) -> dict[str, Any]:
    customer = load_customer(table, who, customer_id)
    if customer.get("deleted"):
        raise ResourceMissing(f"No such customer: '{customer_id[:100]}'", param="id")
    return {"object": "list", "url": f"/v1/customers/{customer['id']}/wallets", "has_more": False,
            "data": [wallet_object(w, customer) for w in customer.get("wallets") or []]}


def update_wallet(table: Table, who: Principal, customer_id: str, raw_wallet_id: str, params: WalletUpdate,
                  request: dict[str, str | None]) -> dict[str, Any]:
    sent = params.model_fields_set - {"expand"}
    result: dict[str, Any] = {}

    def change(old: Item) -> Item:
        wallet = _find(old, raw_wallet_id)
        for name in sent:
            value = getattr(params, name)
            wallet[name] = bool(value) if name == "has_active_authorization" else value
        wallet["updated"] = max(int(time.time()), int(wallet.get("updated", 0)))
        result["wallet"] = wallet
        wallets = [wallet if w["id"] == wallet["id"] else w for w in old.get("wallets") or []]
        return {**_without_request(old), "wallets": wallets, **_stamp(request)}

    return change_customer(table, who, customer_id, change,
                           lambda customer: wallet_object(result["wallet"], customer))


def remove_wallet(table: Table, who: Principal, customer_id: str, raw_wallet_id: str,
                  request: dict[str, str | None]) -> dict[str, Any]:
    removed: dict[str, Any] = {}

    def change(old: Item) -> Item:
        wallet = _find(old, raw_wallet_id)
        removed["id"] = wallet["id"]
        wallets = [w for w in old.get("wallets") or [] if w["id"] != wallet["id"]]
        return {**_without_request(old), "wallets": wallets, **_stamp(request)}

    return change_customer(table, who, customer_id, change,
                           lambda _: {"id": removed["id"], "object": "wallet", "deleted": True})
