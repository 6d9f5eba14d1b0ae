"""The customer resource: what create and update accept, and the object the API returns (api.md §4)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from customers_core.errors import InvalidRequest
from customers_core.models.fields import (
    IMAGE_PATTERN,
    METADATA_SCHEMA,
    Blank,
    MetadataKey,
    MetadataValue,
    Sentiment,
    Status,
    TagText,
    blank_to_none,
    check_custom_fields,
    check_email,
    check_metadata,
    check_tags,
)
from customers_core.models.wallets import wallet_object

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


# --- Stripe's wider surface (api.md §10; docs/stripe-compatibility.md has the whole field table) ---
TaxExempt = Literal["none", "exempt", "reverse"]
# Stripe's own optional strings, kept here as well: stored as sent, `null` or "" clears.
STRIPE_SCALAR_FIELDS = ("business_name", "individual_name")
MAX_LOCALES = 10
# A BCP 47 tag as Stripe takes them (en, fr-CA, zh-Hant-TW, es-419): a language, then subtags.
LOCALE_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
_LOCALE = re.compile(LOCALE_PATTERN)
LocaleTag = Annotated[str, Field(min_length=2, max_length=35, json_schema_extra={"pattern": LOCALE_PATTERN})]
# Stripe's billing parameters (its create and update params, and the billing fields of its object).
# This service keeps no billing state, so one of them sent is a 400 `parameter_unsupported` naming
# it — never silently dropped — and the object answers Stripe's neutral values (billing_neutral()).
BILLING_PARAMS = frozenset({
    "balance", "cash_balance", "coupon", "currency", "customer_account", "default_source", "delinquent",
    "discount", "invoice_credit_balance", "invoice_prefix", "invoice_settings", "next_invoice_sequence",
    "payment_method", "promotion_code", "source", "sources", "subscriptions", "tax", "tax_id_data",
    "tax_ids", "test_clock", "validate",
})


def unsupported_billing(name: str) -> InvalidRequest:
    return InvalidRequest(
        f"{name} is one of Stripe's billing parameters, and this service keeps no billing state (balances, "
        "currencies, payment sources, invoices, discounts, taxes, test clocks): remove it and keep billing "
        "in Stripe itself.", param=name, code="parameter_unsupported")


def billing_neutral() -> dict[str, Any]:
    """Stripe's billing fields with the values Stripe answers for a customer that has no billing
    state, so SDK attribute access (customer.balance, customer.invoice_settings.footer) works."""
    return {
        "balance": 0, "currency": None, "customer_account": None, "default_source": None, "delinquent": False,
        "discount": None, "invoice_prefix": None,
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "next_invoice_sequence": None, "test_clock": None,
    }


class Shipping(BaseModel):
    """Stripe's shipping details: name and address required when set; an update replaces them whole."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    phone: str | None = Field(default=None, max_length=64)
    address: Address

    _blank = field_validator("phone", mode="before")(blank_to_none)


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
    shipping: Shipping | None = Field(
        default=None, description="Stripe's shipping details (name and address required); update replaces them; "
                                  "null or \"\" clears")
    preferred_locales: Annotated[list[LocaleTag], Field(max_length=MAX_LOCALES)] | None = Field(
        default=None, description="At most 10 BCP 47 tags (en, fr-CA), by preference; update replaces; null or "
                                  "\"\" clears")
    tax_exempt: TaxExempt | Blank | None = Field(default=None, description="none (default), exempt or reverse")
    business_name: str | None = Field(default=None, max_length=150)
    individual_name: str | None = Field(default=None, max_length=150)
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

    _stripe_blank = field_validator("shipping", "preferred_locales", "tax_exempt", *STRIPE_SCALAR_FIELDS,
                                    mode="before")(blank_to_none)

    @field_validator("preferred_locales", mode="after")
    @classmethod
    def _locales(cls, value: list[str] | None) -> list[str] | None:
        for tag in value or []:
            if not _LOCALE.fullmatch(tag):
                raise ValueError("each item must be a BCP 47 language tag, such as en, fr-CA or zh-Hant-TW")
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_billing(cls, data: Any) -> Any:
        """A billing parameter is refused by name (400 parameter_unsupported), before anything else."""
        if isinstance(data, dict):
            billing = sorted(BILLING_PARAMS & data.keys())
            if billing:
                raise unsupported_billing(billing[0])
        return data


# The names the API has used so far; kept for readers of the skeleton's code.
CustomerCreate = CustomerParams
CustomerUpdate = CustomerParams


def _custom_fields(stored: Any) -> dict[str, Any]:
    """Stored as JSON text (see logic.customers._apply); a map in items written before that."""
    if isinstance(stored, str):
        return dict(json.loads(stored))
    return dict(stored or {})


def customer_object(item: dict[str, Any]) -> dict[str, Any]:
    """The API's customer object for a stored customer item (or a stream image of one)."""
    if item.get("deleted"):  # redacted: its personal data erased (api.md §11, logic.data_rights)
        return {"id": item["id"], "object": "customer", "deleted": True,
                **({"redacted": True} if item.get("redacted") else {})}
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
        "shipping": _shipping(item.get("shipping")),
        "preferred_locales": list(item.get("preferred_locales") or []),
        "tax_exempt": item.get("tax_exempt", "none"),
        **{name: item.get(name) for name in STRIPE_SCALAR_FIELDS},
        **billing_neutral(),
        "created": item["created"],
        "updated": item.get("updated", item["created"]),
        # The customer's sequence number (api.md §11): +1 with every change, so a webhook receiver can
        # drop an event older than the last it applied. The item's own optimistic-concurrency version.
        "version": int(item.get("version") or 1),
    }


def _shipping(stored: Any) -> dict[str, Any] | None:
    if not stored:
        return None
    address = stored.get("address") or {}
    return {"address": {k: address.get(k) for k in ADDRESS_FIELDS}, "name": stored.get("name"),
            "phone": stored.get("phone")}


class UpsertCustomerParams(CustomerParams):
    """POST /v1/customers/upsert (api.md §11): the customer's fields, and which unique field finds the
    customer to update (`external_id` unless `match_on` says `email`); that field is required."""

    # The rule between fields, for readers of the OpenAPI document (the validator below enforces it).
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["external_id"], "properties": {"match_on": {"const": "external_id"},
                                                     "external_id": {"type": "string", "minLength": 1}}},
        {"required": ["match_on", "email"], "properties": {"match_on": {"const": "email"},
                                                           "email": {"type": "string", "minLength": 1}}}]})

    match_on: Literal["external_id", "email"] = Field(
        default="external_id", description="The unique field that finds the customer to update: external_id "
                                           "(default) or email (case-insensitive); it is required in the body")

    @model_validator(mode="after")
    def _matched_field_sent(self) -> UpsertCustomerParams:
        if not getattr(self, self.match_on):
            raise InvalidRequest(f"Missing required param: {self.match_on} (match_on is {self.match_on}).",
                                 param=self.match_on, code="parameter_missing")
        return self
