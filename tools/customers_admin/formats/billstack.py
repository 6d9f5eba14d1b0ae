"""BillStack (../shared/seeds/002): project-scoped customers linked to Stripe customers. The
field-by-field mapping is in docs/migration.md ("billstack"):

- id (`pc_…`) → external_id; email, name → the same (name also split);
- stripeCustomerId → metadata[stripe_customer_id]; projectId → metadata[project_id];
- metadata → metadata; createdAt → metadata[source_created]; updatedAt is not kept.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import Builder, Mapped


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"))
    out.string("email", record.get("email"), "email")
    out.names(record.get("name"))
    out.metadata(record.get("metadata"))
    out.data("stripe_customer_id", record.get("stripeCustomerId"), "stripeCustomerId")
    out.data("project_id", record.get("projectId"), "projectId")
    out.created(record.get("createdAt"), "createdAt")
    return out.build()
