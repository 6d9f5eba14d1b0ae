"""The customer resource: what create and update accept, and the object the API returns (api.md §4)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

from customers_core.models.fields import (
    blank_to_none,
    check_custom_fields,
    check_email,
    check_metadata,
    check_tags,
)

Status = Literal["active", "inactive"]
Sentiment = Literal["happy", "neutral", "frustrated", "angry"]
Blank = Literal[""]  # "" (and null) clears a field: Stripe's form encoding has no null
# Control characters and space spelt out: every regex engine (pydantic's, the spec's readers) agrees.
IMAGE_PATTERN = r"^https?://[^\x00-\x20/?#]+([/?#][^\x00-\x20]*)?$"
TagText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_:.\-]{1,64}$")]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\[\]]+$")]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]
# pydantic describes a key pattern with patternProperties, which lets other keys through; say it exactly.
METADATA_SCHEMA = {"type": "object", "maxProperties": 50,
                   "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": r"^[^\[\]]+$"},
                   "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "null"}]}}
TagList = Annotated[list[TagText], Field(max_length=20, json_schema_extra={"uniqueItems": True})]
FieldKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FieldValue = Annotated[str, StringConstraints(max_length=500)] | int | float | bool | None
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
# Plain optional strings: stored as sent, `null` or "" clears.
SCALAR_FIELDS = ("email", "external_id", "name", "first_name", "last_name", "company_name", "phone",
                 "description", "image", "notes")


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: str | None = Field(default=None, max_length=500)
    line2: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=50)
    country: str | None = Field(default=None, max_length=255)

    _blank = field_validator(*ADDRESS_FIELDS, mode="before")(blank_to_none)


class CustomerParams(BaseModel):
    """Every writable field. On update only the fields sent (`model_fields_set`) change."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(max_length=512, json_schema_extra={"format": "email"})] | Blank | None = Field(
        default=None, description="Unique per account and mode, case-insensitively")
    external_id: str | None = Field(default=None, max_length=255, description="The caller's own id; unique")
    name: str | None = Field(default=None, max_length=256)
    first_name: str | None = Field(default=None, max_length=128)
    last_name: str | None = Field(default=None, max_length=128)
    company_name: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    image: Annotated[str, Field(max_length=2048, pattern=IMAGE_PATTERN)] | Blank | None = Field(
        default=None, description="http(s) URL")
    address: Address | Blank | None = Field(default=None, description="Partial updates merge; null or \"\" clears")
    status: Status | Blank | None = None
    sentiment: Sentiment | Blank | None = None
    tags: TagList | Blank | None = Field(
        default=None, description="At most 20 distinct tags; update replaces")
    notes: str | None = Field(default=None, max_length=5000)
    custom_fields: Annotated[dict[FieldKey, FieldValue], Field(max_length=50)] | Blank | None = Field(
        default=None, description="At most 50 keys; values string, number, boolean or null; update replaces")
    metadata: Annotated[dict[MetadataKey, MetadataValue | None], Field(max_length=50),
                        WithJsonSchema(METADATA_SCHEMA)] | Blank | None = Field(
        default=None, description="At most 50 keys; update merges; a value null or \"\" removes its key")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands yet")

    _blank = field_validator(*SCALAR_FIELDS, "address", "status", "sentiment", "tags", "custom_fields",
                             "metadata", mode="before")(blank_to_none)

    @field_validator("email", mode="after")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_email(value)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return check_metadata(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return check_tags(value)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _custom_fields(cls, value: Any) -> Any:
        return check_custom_fields(value)


# The names the API has used so far; kept for readers of the skeleton's code.
CustomerCreate = CustomerParams
CustomerUpdate = CustomerParams


def _custom_fields(stored: Any) -> dict[str, Any]:
    """Stored as JSON text (see logic.customers._apply); a map in items written before that."""
    if isinstance(stored, str):
        return dict(json.loads(stored))
    return dict(stored or {})


def wallet_object(wallet: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    from customers_core.models.wallets import wallet_object as build  # noqa: PLC0415 — wallets imports this module

    return build(wallet, customer)


def customer_object(item: dict[str, Any]) -> dict[str, Any]:
    """The API's customer object for a stored customer item (or a stream image of one)."""
    if item.get("deleted"):
        return {"id": item["id"], "object": "customer", "deleted": True}
    address = item.get("address")
    return {
        "id": item["id"],
        "object": "customer",
        "livemode": bool(item.get("livemode", False)),
        **{name: item.get(name) for name in SCALAR_FIELDS if name not in ("notes",)},
        "address": {k: address.get(k) for k in ADDRESS_FIELDS} if address else None,
        "status": item.get("status", "active"),
        "sentiment": item.get("sentiment", "neutral"),
        "tags": list(item.get("tags") or []),
        "notes": item.get("notes"),
        "custom_fields": _custom_fields(item.get("custom_fields")),
        "metadata": dict(item.get("metadata") or {}),
        "wallets": [wallet_object(w, item) for w in item.get("wallets") or []],
        "created": item["created"],
        "updated": item.get("updated", item["created"]),
    }
