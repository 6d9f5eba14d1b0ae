"""StellarTools (../shared/seeds/000): `cus_` ids, name, phone, image, Stellar wallets, ISO timestamps.
The field-by-field mapping is in docs/migration.md ("stellartools"):

- id → external_id; email, name, phone, image → the same (name also split into first/last);
- wallets[] → wallets (network stellar): an account id string, or an object with `address`
  (or `account_id`, `accountId`, `public_key`, `publicKey`, `wallet_address`, `walletAddress`);
- metadata → metadata; created_at → metadata[source_created]; object, updated_at are not kept.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import Builder, Mapped

_ADDRESS_KEYS = ("address", "account_id", "accountId", "public_key", "publicKey", "wallet_address", "walletAddress")


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"))
    out.string("email", record.get("email"), "email")
    out.names(record.get("name"))
    out.string("phone", record.get("phone"), "phone")
    out.string("image", record.get("image"), "image")
    out.metadata(record.get("metadata"))
    out.created(record.get("created_at"), "created_at")
    wallets = record.get("wallets")
    for wallet in wallets if isinstance(wallets, list) else []:
        if isinstance(wallet, dict):
            address = next((wallet[k] for k in _ADDRESS_KEYS if wallet.get(k)), None)
        else:
            address = wallet
        out.wallet("stellar", address)
    return out.build()
