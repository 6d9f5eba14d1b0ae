"""Wallets (api.md §7): what add and update accept, and the wallet object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customers_core.models.fields import Blank, blank_to_none, listify

MAX_WALLETS = 20  # per customer: the customer item carries them, and each is one marker to write
WALLET_ID_PATTERN = r"^wal_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
AUTHORIZATION_FIELDS = ("authorization_type", "authorization_tx_hash", "authorized_at", "has_active_authorization")


class WalletCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: Literal["stellar", "evm"]
    address: str = Field(min_length=1, max_length=64, description="Stellar: a G… account id (StrKey "
                         "checksum); EVM: 0x + 40 hex (EIP-55 if mixed case)")
    chain_id: int | None = Field(default=None, ge=1, le=2**53 - 1, description="EVM only, required there")
    expand: list[str] | None = None

    _expand = field_validator("expand", mode="before")(listify)


class WalletUpdate(BaseModel):
    """The four authorization fields; only those sent change ("" or null clears)."""

    model_config = ConfigDict(extra="forbid")

    authorization_type: Literal["PERMIT", "APPROVAL"] | Blank | None = None
    authorization_tx_hash: str | None = Field(default=None, pattern=r"^(0x)?[0-9a-fA-F]{64}$")
    authorized_at: int | Blank | None = Field(default=None, ge=0, le=9_999_999_999)
    has_active_authorization: bool | None = None
    expand: list[str] | None = None

    _blank = field_validator("authorization_type", "authorization_tx_hash", "authorized_at",
                             mode="before")(blank_to_none)
    _expand = field_validator("expand", mode="before")(listify)


class WalletObject(BaseModel):
    id: str = Field(examples=["wal_01JRZK2Q4T9ZS0VCNA3HX7W9EY"])
    object: Literal["wallet"]
    customer: str
    network: Literal["stellar", "evm"]
    chain_id: int | None = None
    address: str
    has_active_authorization: bool
    authorization_type: Literal["PERMIT", "APPROVAL"] | None
    authorization_tx_hash: str | None
    authorized_at: int | None
    livemode: bool
    created: int
    updated: int


class WalletList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[WalletObject]


class DeletedWallet(BaseModel):
    id: str
    object: Literal["wallet"]
    deleted: Literal[True]


def wallet_object(wallet: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": wallet["id"], "object": "wallet", "customer": customer["id"],
                           "network": wallet["network"]}
    if wallet["network"] == "evm":
        obj["chain_id"] = wallet["chain_id"]
    obj.update({
        "address": wallet["address"], "has_active_authorization": bool(wallet.get("has_active_authorization")),
        "authorization_type": wallet.get("authorization_type"),
        "authorization_tx_hash": wallet.get("authorization_tx_hash"), "authorized_at": wallet.get("authorized_at"),
        "livemode": bool(customer.get("livemode")), "created": wallet["created"],
        "updated": wallet.get("updated", wallet["created"]),
    })
    return obj
