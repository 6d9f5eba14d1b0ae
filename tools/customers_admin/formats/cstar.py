"""cstar.help (../shared/seeds/004): a support desk's customers with status, sentiment, tags, notes
and custom fields. The field-by-field mapping is in docs/migration.md ("cstar"):

- id (`cus_…` or a UUID) → external_id; name, email, status, sentiment, notes → the same (name also
  split);
- tags → tags, other characters than `A-Za-z0-9_:.-` becoming `-` ('high value' → 'high-value');
- customFields → custom_fields (an object or array value as its JSON text); ticketCount →
  custom_fields[ticket_count];
- metadata → metadata; createdAt → metadata[source_created]; object, updatedAt, recentTickets are
  not kept.
"""

from __future__ import annotations

from typing import Any

from customers_admin.formats.common import Builder, Mapped, Problem, custom_value, normalize_tags


def map_record(record: dict[str, Any]) -> Mapped:
    out = Builder()
    out.identity(record.get("id"))
    out.string("email", record.get("email"), "email")
    out.names(record.get("name"))
    out.set("status", record.get("status"))
    out.set("sentiment", record.get("sentiment"))
    out.set("tags", normalize_tags(record.get("tags")) or None)
    out.string("notes", record.get("notes"), "notes")
    fields = record.get("customFields")
    if fields not in (None, "") and not isinstance(fields, dict):
        out.problems.append(Problem("record_invalid", "customFields must be an object", "custom_fields"))
    custom = {str(k): custom_value(v) for k, v in fields.items()} if isinstance(fields, dict) else {}
    if record.get("ticketCount") is not None and "ticket_count" not in custom:
        custom["ticket_count"] = custom_value(record["ticketCount"])
    if custom:
        out.params["custom_fields"] = custom
    out.metadata(record.get("metadata"))
    out.created(record.get("createdAt"), "createdAt")
    return out.build()
