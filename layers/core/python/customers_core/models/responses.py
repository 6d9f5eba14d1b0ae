"""The shapes the API answers with, for the OpenAPI document (handlers build them as dicts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from customers_core.models.fields import Sentiment, Status


class AddressObject(BaseModel):
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None


class ShippingObject(BaseModel):
    address: AddressObject
    name: str | None
    phone: str | None


class InvoiceSettingsObject(BaseModel):
    custom_fields: None
    default_payment_method: None
    footer: None
    rendering_options: None


class CustomerObject(BaseModel):
    id: str = Field(examples=["cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY"])
    object: Literal["customer"]
    livemode: bool
    email: str | None
    name: str | None
    first_name: str | None
    last_name: str | None
    company_name: str | None
    phone: str | None
    description: str | None
    image: str | None
    external_id: str | None
    address: AddressObject | None
    status: Status
    sentiment: Sentiment
    tags: list[str]
    notes: str | None
    custom_fields: dict[str, str | int | float | bool | None]
    metadata: dict[str, str]
    wallets: list[dict[str, Any]]
    shipping: ShippingObject | None
    preferred_locales: list[str]
    tax_exempt: Literal["none", "exempt", "reverse"]
    business_name: str | None
    individual_name: str | None
    # Stripe's billing fields: this service keeps no billing state, so always these neutral values.
    balance: Literal[0]
    currency: None
    customer_account: None
    default_source: None
    delinquent: Literal[False]
    discount: None
    invoice_prefix: None
    invoice_settings: InvoiceSettingsObject
    next_invoice_sequence: None
    test_clock: None
    created: int
    updated: int
    version: int = Field(ge=1, description="The customer's sequence number: 1 when created, +1 with each change "
                                           "(events carry it in data.object; a receiver drops an event whose "
                                           "version is lower than the last it applied)")


class DeletedCustomer(BaseModel):
    id: str
    object: Literal["customer"]
    deleted: Literal[True]
    redacted: Literal[True] | None = Field(default=None, description="Present once its personal data was erased")


class CustomerList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[CustomerObject]
    total_count: int | None = None


class ItemError(BaseModel):
    index: int
    error: ErrorDetail


class CustomerBatch(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[CustomerObject]
    errors: list[ItemError] | None = None


class EventData(BaseModel):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class EventRequest(BaseModel):
    id: str | None
    idempotency_key: str | None


class EventObject(BaseModel):
    id: str = Field(examples=["evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY"])
    object: Literal["event"]
    type: Literal["customer.created", "customer.updated", "customer.deleted", "customer.redacted"]
    livemode: bool
    created: int
    api_version: str
    data: EventData
    request: EventRequest
    pending_webhooks: int


class EventList(BaseModel):
    object: Literal["list"]
    url: str
    has_more: bool
    data: list[EventObject]


class ErrorDetail(BaseModel):
    type: str
    code: str
    message: str
    param: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ItemError.model_rebuild()
CustomerBatch.model_rebuild()
