"""Webhook endpoints (api.md §9): what create and update accept, the object, list parameters."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from customers_core.errors import InvalidRequest
from customers_core.models.fields import (
    IMAGE_PATTERN,
    METADATA_SCHEMA,
    Blank,
    MetadataKey,
    MetadataValue,
    blank_to_none,
    check_metadata,
    listify,
)
from customers_core.models.listing import CreatedRange, exact_second

EventChoice = Literal["*", "customer.created", "customer.updated", "customer.deleted", "customer.redacted"]
MAX_ENDPOINTS = 16  # per account and mode, as Stripe
ENDPOINT_ID_PATTERN = r"^we_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
DELIVERY_ID_PATTERN = r"^whd_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
DeliveryStatus = Literal["pending", "succeeded", "failed", "dead_lettered"]
DEFAULT_SECRET_OVERLAP = 86400  # seconds the replaced secret still signs deliveries after a rotation
MAX_SECRET_OVERLAP = 7 * 86400
# Stripe's API version strings (as logic.api_versions.VERSION_PATTERN; models import no logic).
API_VERSION_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(\.[a-z]+)?$"
Metadata = Annotated[dict[MetadataKey, MetadataValue | None], Field(max_length=50),
                     WithJsonSchema(METADATA_SCHEMA)] | Blank | None
EnabledEvents = Annotated[list[EventChoice], Field(min_length=1, max_length=5,
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
    api_version: str | None = Field(
        default=None, max_length=64, json_schema_extra={"pattern": API_VERSION_PATTERN},
        description="The Stripe API version the events delivered to this endpoint are labelled with (object "
                    "shapes are the same in every version); null or \"\": the account's default")
    connect: bool | None = Field(default=None, description="Only false: connected accounts are not supported")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands")

    _blank = field_validator("description", "metadata", "api_version", mode="before")(blank_to_none)
    _events = field_validator("enabled_events", mode="before")(_distinct)
    _expand = field_validator("expand", mode="before")(listify)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return check_metadata(value)

    @field_validator("api_version", mode="after")
    @classmethod
    def _api_version(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(API_VERSION_PATTERN, value):
            raise ValueError("must be a Stripe API version, such as 2026-10-28.endive or 2024-06-20")
        return value

    @field_validator("connect", mode="after")
    @classmethod
    def _connect(cls, value: bool | None) -> bool | None:
        if value:
            raise InvalidRequest("connect=true is not supported: this service has no connected accounts, so an "
                                 "endpoint receives its own account's events only (send connect=false or omit it).",
                                 param="connect", code="parameter_unsupported")
        return value


class RetryEventParams(BaseModel):
    """POST /v1/events/{id}/retry: without webhook_endpoint, to the enabled endpoints it was sent to."""

    model_config = ConfigDict(extra="forbid")

    webhook_endpoint: str | None = Field(
        default=None, pattern=ENDPOINT_ID_PATTERN,
        description="Re-send to this endpoint only: enabled, of this account and mode, and subscribed to the "
                    "event's type (also one created after the event)")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands")

    _expand = field_validator("expand", mode="before")(listify)


class RotateSecretParams(BaseModel):
    """POST /v1/webhook_endpoints/{id}/rotate_secret (api.md §11)."""

    model_config = ConfigDict(extra="forbid")

    expires_in: int = Field(
        default=DEFAULT_SECRET_OVERLAP, ge=0, le=MAX_SECRET_OVERLAP,
        description="Seconds the replaced secret still signs every delivery beside the new one (0: not at all)")
    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands")

    _expand = field_validator("expand", mode="before")(listify)


class ListDeliveriesParams(BaseModel):
    """The delivery logs' query (GET /v1/webhook_endpoints/{id}/deliveries, /v1/events/{id}/deliveries)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100)
    starting_after: str | None = Field(default=None, pattern=DELIVERY_ID_PATTERN)
    ending_before: str | None = Field(default=None, pattern=DELIVERY_ID_PATTERN)
    status: DeliveryStatus | None = Field(
        default=None, description="pending: waiting for its attempt; failed: its last attempt failed (a retry may "
                                  "be scheduled) or its endpoint was disabled; dead_lettered: retries exhausted")
    created: CreatedRange | None = Field(default=None, description="Its event's creation time")
    expand: list[str] | None = None

    _created = field_validator("created", mode="before")(exact_second)
    _expand = field_validator("expand", mode="before")(listify)


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
    api_version: str | None = Field(description="Events delivered here carry this version; null: the account's "
                                                "default")
    application: None
    secret: str | None = Field(default=None, description="Only in the responses to create and rotate_secret")


class WebhookEndpointList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[WebhookEndpointObject]


class DeliveryAttemptObject(BaseModel):
    attempted_at: int
    status_code: int | None = Field(description="The endpoint's HTTP status; null when there was no answer")
    error: str | None = Field(description="Why there was no answer (timeout, connection refused, url_refused: …)")
    duration_ms: int
    next_attempt_at: int | None = Field(description="When this attempt scheduled the next one; null: none")


class WebhookDeliveryObject(BaseModel):
    id: str = Field(examples=["whd_01JRZK2Q4T9ZS0VCNA3HX7W9EY"])
    object: Literal["webhook_delivery"]
    event: str
    webhook_endpoint: str
    status: DeliveryStatus
    attempts: list[DeliveryAttemptObject] = Field(description="Oldest first (the latest 16)")
    created: int = Field(description="Its event's creation time")
    livemode: bool


class WebhookDeliveryList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[WebhookDeliveryObject]


class DeletedWebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


def endpoint_object(item: dict[str, Any], *, secret: str | None = None) -> dict[str, Any]:
    """`api_version` is the endpoint's own (null when it has none, as in Stripe: its events then carry
    the account's default); `application` is always null (no Connect applications here)."""
    obj = {
        "id": item["id"], "object": "webhook_endpoint", "url": item["url"],
        "enabled_events": list(item["enabled_events"]), "status": item["status"],
        "description": item.get("description"), "metadata": dict(item.get("metadata") or {}),
        "livemode": bool(item.get("livemode")), "created": item["created"], "api_version": item.get("api_version"),
        "application": None,
    }
    if secret is not None:
        obj["secret"] = secret
    return obj
