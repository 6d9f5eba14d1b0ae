"""The EVM payments platform's `CustomerAccount` (../shared/seeds/001), with its wallets. The
field-by-field mapping is in docs/migration.md ("evm"):

- id → external_id, or metadata[source_id] when externalId is set; externalId → external_id;
  appId → metadata[app_id];
- email, name → the same (name also split); address, city, state, country, postalCode → address.*;
- metadata → metadata; createdAt → metadata[source_created];
- wallets[]: chainId, walletAddress → an evm wallet (EIP-55 checked when mixed case);
  hasActiveAuthorization, authorizationType, authorizationTxHash, authorizedAt → its four
  authorization fields (authorizedAt in Unix seconds);
- updatedAt, _count, app, paymentIntents, invoices and the wallets' own ids and times are not kept.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import Builder, Mapped, Problem, unix_seconds

_ADDRESS = (("address", "line1"), ("city", "city"), ("state", "state"), ("country", "country"),
            ("postalCode", "postal_code"))


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"), record.get("externalId"))
    out.data("app_id", record.get("appId"), "appId")
    out.string("email", record.get("email"), "email")
    out.names(record.get("name"))
    address = {ours: record[theirs] for theirs, ours in _ADDRESS if record.get(theirs) not in (None, "")}
    if address:
        out.params["address"] = address
    out.metadata(record.get("metadata"))
    out.created(record.get("createdAt"), "createdAt")
    wallets = record.get("wallets")
    for wallet in wallets if isinstance(wallets, list) else []:
        if not isinstance(wallet, dict):
            out.problems.append(Problem("wallet_invalid", "a wallet must be an object", "wallets"))
            continue
        authorized_at = wallet.get("authorizedAt")
        seconds = unix_seconds(authorized_at) if authorized_at not in (None, "") else None
        if authorized_at not in (None, "") and seconds is None:
            out.problems.append(Problem("wallet_invalid", f"authorizedAt is not a timestamp: {authorized_at!r}",
                                        "wallets"))
            continue
        out.wallet("evm", wallet.get("walletAddress"), wallet.get("chainId"),
                   has_active_authorization=wallet.get("hasActiveAuthorization"),
                   authorization_type=wallet.get("authorizationType"),
                   authorization_tx_hash=wallet.get("authorizationTxHash"), authorized_at=seconds)
    return out.build()
