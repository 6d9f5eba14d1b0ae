"""A mapped record checked exactly as the API checks a create: the customer model's validation (the
same code the service runs), and each wallet's address checks (Stellar StrKey checksum, EVM EIP-55),
so a dry run finds what the import would be refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from customers_core.addresses import lookup_key
from customers_core.errors import ApiError
from customers_core.http import validation_error
from customers_core.logic.wallets import normalized
from customers_core.models.customer import CustomerParams
from customers_core.models.wallets import MAX_WALLETS, WalletCreate, WalletUpdate
from pydantic import ValidationError

from customers_admin.formats.common import METADATA_MAX_KEYS, Mapped, Problem

WalletKey = tuple[str, int | None, str]


@dataclass(frozen=True)
class Checked:
    """A record ready to write: its create body (validated) and its wallets (addresses normalized)."""

    params: dict[str, Any]
    wallets: list[dict[str, Any]]


def wallet_key(wallet: dict[str, Any]) -> WalletKey:
    """A wallet's identity in an account: (network, chain_id, address as looked up)."""
    return str(wallet["network"]), wallet.get("chain_id"), lookup_key(str(wallet["address"]))


def _problem_of(exc: ApiError, wallet: int | None = None) -> Problem:
    param = exc.param or ""
    if wallet is not None:
        where = f"wallets[{wallet}]"
        return Problem("wallet_invalid", f"{where}: {exc.message}", f"{where}.{param}" if param else where)
    if param == "email":
        code = "email_invalid"
    elif param.startswith("metadata"):
        code = "metadata_invalid"
    else:
        code = "parameter_invalid"
    return Problem(code, exc.message, param or None)


def check(mapped: Mapped) -> Checked | Problem:
    """The record as it will be written, or the first reason it cannot be."""
    if mapped.problems:
        return mapped.problems[0]
    params = mapped.params
    metadata = params.get("metadata")
    if isinstance(metadata, dict) and len(metadata) > METADATA_MAX_KEYS:
        return Problem("metadata_too_many_keys", f"too many metadata keys: {len(metadata)} (at most "
                       f"{METADATA_MAX_KEYS}, counting the keys the import adds for source fields)", "metadata")
    try:
        CustomerParams.model_validate(params)
    except ValidationError as exc:
        problem = _problem_of(validation_error(exc))
        others = sorted({".".join(str(p) for p in e["loc"][:2]) for e in exc.errors()[1:]} - {problem.param})
        if others:
            problem = Problem(problem.code, f"{problem.message} (also invalid: {', '.join(others)})", problem.param)
        return problem
    if len(mapped.wallets) > MAX_WALLETS:
        return Problem("wallet_invalid", f"{len(mapped.wallets)} wallets: a customer can have at most {MAX_WALLETS}",
                       "wallets")
    wallets: list[dict[str, Any]] = []
    seen: set[WalletKey] = set()
    for index, wallet in enumerate(mapped.wallets):
        try:
            create = WalletCreate.model_validate({k: v for k, v in wallet.items() if k != "authorization"})
            address, chain_id = normalized(create)
            authorization = wallet.get("authorization") or {}
            if authorization:
                WalletUpdate.model_validate(authorization)
        except ValidationError as exc:
            return _problem_of(validation_error(exc), index)
        except ApiError as exc:
            return _problem_of(exc, index)
        out: dict[str, Any] = {"network": create.network, "address": address}
        if chain_id is not None:
            out["chain_id"] = chain_id
        if authorization:
            out["authorization"] = dict(authorization)
        key = wallet_key(out)
        if key in seen:
            return Problem("duplicate_wallet", f"wallets[{index}]: the record has this wallet twice ({address})",
                           f"wallets[{index}]")
        seen.add(key)
        wallets.append(out)
    return Checked(params, wallets)
