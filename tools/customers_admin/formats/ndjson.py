"""This service's own customer objects (`customers-admin export --format ndjson`, or API pages). The
field-by-field mapping is in docs/migration.md ("ndjson"):

- id → external_id, or metadata[source_id] when the customer has an external_id of its own;
- every writable field → the same (and api.md §10's fields where the service has them);
- wallets[] → wallets: network, chain_id, address and the four authorization fields;
- created → metadata[source_created]; object, livemode, updated, version, the wallets' ids and times
  are not kept; a deleted customer is skipped.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import NATIVE_EXTRAS, Builder, Mapped, Problem, supports

_COPIED = ("email", "name", "first_name", "last_name", "company_name", "phone", "description", "image", "notes",
           "status", "sentiment", "tags", "custom_fields")
_ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"), record.get("external_id"))
    if record.get("deleted") is True:
        out.skip = "deleted in the source"
        return out.build()
    for name in _COPIED:
        value = record.get(name)
        if value not in (None, "", [], {}):
            out.params[name] = value
    address = record.get("address")
    if isinstance(address, dict):
        kept = {k: address[k] for k in _ADDRESS_FIELDS if address.get(k) not in (None, "")}
        if kept:
            out.params["address"] = kept
    for name in NATIVE_EXTRAS:
        value = record.get(name)
        if supports(name) and value not in (None, "", [], "none"):
            out.params[name] = value
    out.metadata(record.get("metadata"))
    out.created(record.get("created"), "created")
    wallets = record.get("wallets")
    for wallet in wallets if isinstance(wallets, list) else []:
        if not isinstance(wallet, dict) or wallet.get("network") not in ("stellar", "evm"):
            out.problems.append(Problem("wallet_invalid", "a wallet must be an object with network stellar or evm",
                                        "wallets"))
            continue
        out.wallet(wallet["network"], wallet.get("address"), wallet.get("chain_id"),
                   has_active_authorization=wallet.get("has_active_authorization"),
                   authorization_type=wallet.get("authorization_type"),
                   authorization_tx_hash=wallet.get("authorization_tx_hash"),
                   authorized_at=wallet.get("authorized_at"))
    return out.build()
