"""The answers of the customer's data rights (api.md §11), for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from customers_core.models.responses import CustomerObject, DeletedCustomer, EventObject
from customers_core.models.webhooks import WebhookDeliveryObject


class RedactParams(BaseModel):
    """POST /v1/customers/{id}/redact takes no parameters (any other is a 400 naming it)."""

    model_config = ConfigDict(extra="forbid")

    expand: list[str] | None = Field(default=None, description="Accepted; nothing expands")


class RedactedCustomer(BaseModel):
    id: str = Field(examples=["cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"])
    object: Literal["customer"]
    redacted: Literal[True]


class CustomerExport(BaseModel):
    object: Literal["customer_export"]
    customer: CustomerObject | DeletedCustomer = Field(description="The customer with its wallets (a deleted or "
                                                                   "redacted one as retrieve answers it)")
    events: list[EventObject] = Field(description="The events still kept (30 days) that concern it, newest first")
    deliveries: list[WebhookDeliveryObject] = Field(description="The webhook deliveries of those events")
