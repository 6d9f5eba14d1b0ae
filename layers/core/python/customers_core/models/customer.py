"""The customer resource: what a create accepts, and the object the API returns (api.md §4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customers_core.models.fields import blank_to_none, check_email, check_metadata


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    email: str | None = Field(default=None, description="Unique per account and mode, case-insensitively")
    name: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str | None] | None = Field(default=None, description="Up to 50 string pairs")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands yet")

    _blank = field_validator("email", "name", mode="before")(blank_to_none)

    @field_validator("email", mode="after")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_email(value)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return check_metadata(value)

    def stored_metadata(self) -> dict[str, str]:
        """On create, keys sent empty are simply not set."""
        return {k: v for k, v in (self.metadata or {}).items() if v not in (None, "")}


CUSTOMER_FIELDS = ("email", "name", "metadata")


def customer_object(item: dict[str, Any]) -> dict[str, Any]:
    """The API's customer object for a stored customer item (or a stream image of one)."""
    if item.get("deleted"):
        return {"id": item["id"], "object": "customer", "deleted": True}
    return {
        "id": item["id"],
        "object": "customer",
        "livemode": bool(item.get("livemode", False)),
        "email": item.get("email"),
        "name": item.get("name"),
        "metadata": dict(item.get("metadata") or {}),
        "created": item["created"],
        "updated": item.get("updated", item["created"]),
    }
