"""Stripe customer objects, as `GET /v1/customers` pages (or search results) or JSON lines. The
field-by-field mapping is in docs/migration.md ("stripe"):

- id → external_id; email, name, phone, description, address, metadata → the same (name also split);
  created → metadata[source_created];
- shipping, preferred_locales, tax_exempt, business_name, individual_name → the same fields where the
  service's customer has them (api.md §10), else metadata: stripe_shipping (JSON text),
  stripe_preferred_locales (comma-separated), stripe_tax_exempt, business_name, individual_name;
- balance (≠ 0), currency, default_source, delinquent (true), invoice_prefix → metadata
  stripe_balance, stripe_currency, stripe_default_source, stripe_delinquent, stripe_invoice_prefix;
- a deleted customer (`deleted: true`) is skipped; object, livemode, discount, invoice_settings,
  next_invoice_sequence, tax_ids, test_clock, sources, subscriptions are not kept.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import Builder, Mapped

_ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"))
    if record.get("deleted") is True:
        out.skip = "deleted in the source"
        return out.build()
    out.string("email", record.get("email"), "email")
    out.names(record.get("name"))
    out.string("phone", record.get("phone"), "phone")
    out.string("description", record.get("description"), "description")
    address = record.get("address")
    if isinstance(address, dict):
        kept = {k: address[k] for k in _ADDRESS_FIELDS if address.get(k) not in (None, "")}
        if kept:
            out.params["address"] = kept
    out.metadata(record.get("metadata"))
    out.created(record.get("created"), "created")
    out.kept("shipping", _shipping(record.get("shipping")), "stripe_shipping")
    out.kept("preferred_locales", record.get("preferred_locales"), "stripe_preferred_locales")
    if record.get("tax_exempt") not in (None, "none"):
        out.kept("tax_exempt", record.get("tax_exempt"), "stripe_tax_exempt")
    out.kept("business_name", record.get("business_name"), "business_name")
    out.kept("individual_name", record.get("individual_name"), "individual_name")
    if record.get("balance") not in (None, 0):
        out.data("stripe_balance", record.get("balance"), "balance")
    out.data("stripe_currency", record.get("currency"), "currency")
    out.data("stripe_default_source", record.get("default_source"), "default_source")
    if record.get("delinquent") is True:
        out.data("stripe_delinquent", "true", "delinquent")
    out.data("stripe_invoice_prefix", record.get("invoice_prefix"), "invoice_prefix")
    return out.build()


def _shipping(shipping: Any) -> Any:
    """Stripe's shipping as the service takes it: name, phone and the address's set fields (Stripe's
    older `carrier` and `tracking_number` are dropped)."""
    if not isinstance(shipping, dict):
        return shipping
    out: dict[str, Any] = {"name": shipping.get("name")}
    if shipping.get("phone"):
        out["phone"] = shipping["phone"]
    address = shipping.get("address")
    out["address"] = ({k: address[k] for k in _ADDRESS_FIELDS if address.get(k) not in (None, "")}
                      if isinstance(address, dict) else address)
    return out
