"""Webhook endpoints (api.md §9): what create and update accept, the object, list parameters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from customers_core.models.customer import IMAGE_PATTERN, METADATA_SCHEMA, Blank, MetadataKey, MetadataValue
from customers_core.models.fields import blank_to_none, check_metadata
from customers_core.models.listing import listify

EventChoice = Literal["*", "customer.created", "customer.updated", "customer.deleted"]
MAX_ENDPOINTS = 16  # per account and mode, as Stripe
ENDPOINT_ID_PATTERN = r"^we_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
Metadata = Annotated[dict[MetadataKey, MetadataValue | None], Field(max_length=50),
                     WithJsonSchema(METADATA_SCHEMA)] | Blank | None
EnabledEvents = Annotated[list[EventChoice], Field(min_length=1, max_length=4,
                                                   json_schema_extra={"uniqueItems": True})]


def _distinct(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and len(set(map(str, value))) != len(value):
        raise ValueError("must not repeat an event type")
    return value


class WebhookEndpointParams(BaseModel):
    """Create requires url and enabled_events; update changes only the fields sent."""

    model_config = ConfigDict(extra="forbid")

    # Not nullable: null cannot remove a required field (400 naming it); omitted means unchanged.
    url: str = Field(default=None, max_length=2048, pattern=IMAGE_PATTERN,  # type: ignore[assignment]
                     description="https, resolving to public addresses only")
    enabled_events: EnabledEvents = Field(default=None,  # type: ignore[arg-type]
                                          description="Event types, or [\"*\"] for all")
    description: str | None = Field(default=None, max_length=5000)
    metadata: Metadata = Field(default=None, description="Update merges; a value null or \"\" removes its key")
    disabled: bool | None = Field(default=None, description="Update only: disable or re-enable the endpoint")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands")

    _blank = field_validator("description", "metadata", mode="before")(blank_to_none)
    _events = field_validator("enabled_events", mode="before")(_distinct)
    _expand = field_validator("expand", mode="before")(listify)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return check_metadata(value)


class ListWebhookEndpointsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100)
    starting_after: str | None = Field(default=None, pattern=ENDPOINT_ID_PATTERN)
    ending_before: str | None = Field(default=None, pattern=ENDPOINT_ID_PATTERN)
    expand: list[str] | None = None

    _expand = field_validator("expand", mode="before")(listify)


class WebhookEndpointObject(BaseModel):
    id: str = Field(examples=["we_01JRZK2Q4T9ZS0VCNA3HX7W9EY"])
    object: Literal["webhook_endpoint"]
    url: str
    enabled_events: list[EventChoice]
    status: Literal["enabled", "disabled"]
    description: str | None
    metadata: dict[str, str]
    livemode: bool
    created: int
    api_version: str
    secret: str | None = Field(default=None, description="Only in the response to create")


class WebhookEndpointList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[WebhookEndpointObject]


class DeletedWebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


def endpoint_object(item: dict[str, Any], *, secret: str | None = None) -> dict[str, Any]:
    from customers_core.settings import API_VERSION  # noqa: PLC0415 — keeps models free of settings

    obj = {
        "id": item["id"], "object": "webhook_endpoint", "url": item["url"],
        "enabled_events": list(item["enabled_events"]), "status": item["status"],
        "description": item.get("description"), "metadata": dict(item.get("metadata") or {}),
        "livemode": bool(item.get("livemode")), "created": item["created"], "api_version": API_VERSION,
    }
    if secret is not None:
        obj["secret"] = secret
    return obj
