"""The customer resource: what create and update accept, and the object the API returns (api.md §4)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customers_core.models.fields import (
    blank_to_none,
    check_custom_fields,
    check_email,
    check_image,
    check_metadata,
    check_tags,
)

Status = Literal["active", "inactive"]
Sentiment = Literal["happy", "neutral", "frustrated", "angry"]
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

    email: str | None = Field(default=None, description="Unique per account and mode, case-insensitively")
    external_id: str | None = Field(default=None, max_length=255, description="The caller's own id; unique")
    name: str | None = Field(default=None, max_length=256)
    first_name: str | None = Field(default=None, max_length=128)
    last_name: str | None = Field(default=None, max_length=128)
    company_name: str | None = Field(default=None, max_length=256)
    phone: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    image: str | None = Field(default=None, description="http(s) URL, at most 2048 characters")
    address: Address | None = Field(default=None, description="Partial updates merge; null or \"\" clears")
    status: Status | None = None
    sentiment: Sentiment | None = None
    tags: list[str] | None = Field(default=None, description="At most 20 distinct tags; update replaces")
    notes: str | None = Field(default=None, max_length=5000)
    custom_fields: dict[str, Any] | None = Field(default=None, description="At most 50 keys; update replaces")
    metadata: dict[str, str | None] | None = Field(default=None, description="At most 50 keys; update merges")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands yet")

    _blank = field_validator(*SCALAR_FIELDS, "address", "status", "sentiment", mode="before")(blank_to_none)

    @field_validator("email", mode="after")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_email(value)

    @field_validator("image", mode="after")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return check_image(value)

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
        "custom_fields": dict(item.get("custom_fields") or {}),
        "metadata": dict(item.get("metadata") or {}),
        "wallets": [],
        "created": item["created"],
        "updated": item.get("updated", item["created"]),
    }
