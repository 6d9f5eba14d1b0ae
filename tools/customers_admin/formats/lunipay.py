"""LuniPay (../shared/seeds/003): a Stripe-style object with first/last name, company, notes. The
field-by-field mapping is in docs/migration.md ("lunipay"):

- id (`cus_…`) → external_id; email, first_name, last_name, phone, company_name, notes → the same;
  name = first_name + " " + last_name;
- stripe_customer_id → metadata[stripe_customer_id]; metadata → metadata;
  created → metadata[source_created]; object, livemode, updated are not kept.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import Builder, Mapped


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"))
    out.string("email", record.get("email"), "email")
    out.names(None, record.get("first_name"), record.get("last_name"))
    out.string("phone", record.get("phone"), "phone")
    out.string("company_name", record.get("company_name"), "company_name")
    out.string("notes", record.get("notes"), "notes")
    out.metadata(record.get("metadata"))
    out.data("stripe_customer_id", record.get("stripe_customer_id"), "stripe_customer_id")
    out.created(record.get("created"), "created")
    return out.build()
