"""`customers-admin export --format ndjson|csv [--out FILE]`: every customer of an account and mode.

Streaming: it pages through the list (100 customers a page, newest first, by cursor) and writes each
page before reading the next, so memory does not grow with the account. `ndjson` is one customer
object per line, exactly as the API returns it — what `import --format ndjson` reads back. `csv` is
for spreadsheets: one row per customer, the address in six columns, tags, custom_fields, metadata and
wallets as JSON text, then the customer's other fields (api.md §10's, `version`) as the first page
has them (api.md §12).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from customers_admin.progress import Meter
from customers_admin.targets import Target

FORMATS = ("ndjson", "csv")
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")
CSV_COLUMNS = ("id", "email", "name", "first_name", "last_name", "company_name", "phone", "description", "image",
               "external_id", *(f"address_{f}" for f in ADDRESS_FIELDS), "status", "sentiment", "tags", "notes",
               "custom_fields", "metadata", "wallets", "livemode", "created", "updated")
# Not columns: the object type, the address (six columns instead), and Stripe's billing fields, which the
# service returns with neutral values only (api.md §10).
_NOT_COLUMNS = {"object", "address", "balance", "currency", "customer_account", "default_source", "delinquent",
                "discount", "invoice_prefix", "invoice_settings", "next_invoice_sequence", "tax_ids", "test_clock"}


def csv_row(customer: dict[str, Any], columns: list[str]) -> list[str]:
    address = customer.get("address") or {}
    row = []
    for column in columns:
        if column.startswith("address_") and column.removeprefix("address_") in ADDRESS_FIELDS:
            value = address.get(column.removeprefix("address_"))
        else:
            value = customer.get(column)
        if value is None:
            row.append("")
        elif isinstance(value, dict | list):
            row.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
        elif isinstance(value, bool):
            row.append("true" if value else "false")
        else:
            row.append(str(value))
    return row


def run(target: Target, format_name: str, out_path: Path | None, *, progress: bool | None = None,
        total: int | None = None, summary_out: IO[str] | None = None) -> int:
    """Write every customer; returns how many. The summary line goes to stdout after a file, else to
    stderr (stdout then carries the export itself)."""
    started = time.monotonic()
    handle: IO[str]
    if out_path is None:
        handle = sys.stdout
    else:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        handle = out_path.open("w", encoding="utf-8", newline="")
    count = 0
    writer: Any = None
    columns: list[str] = []
    try:
        with Meter("exporting", total, enabled=progress) as meter:
            for page in target.pages():
                if format_name == "ndjson":
                    handle.write("".join(json.dumps(c, separators=(",", ":"), ensure_ascii=False) + "\n"
                                         for c in page))
                else:
                    if writer is None:
                        writer = csv.writer(handle, lineterminator="\n")
                        extra = [k for k in page[0] if k not in CSV_COLUMNS and k not in _NOT_COLUMNS]
                        columns = [*CSV_COLUMNS, *extra]
                        writer.writerow(columns)
                    writer.writerows(csv_row(c, columns) for c in page)
                handle.flush()
                count += len(page)
                meter.advance(len(page))
            if format_name == "csv" and writer is None:
                csv.writer(handle, lineterminator="\n").writerow(CSV_COLUMNS)
    finally:
        if out_path is not None:
            handle.close()
    seconds = time.monotonic() - started
    summary = {"exported": count, "format": format_name, "out": str(out_path) if out_path else None,
               "seconds": round(seconds, 2)}
    print(json.dumps(summary), file=summary_out or (sys.stdout if out_path else sys.stderr))
    return count
