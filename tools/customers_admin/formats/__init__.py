"""The source formats `customers-admin import --format` reads, each mapped to this service's customer
(docs/migration.md has every mapping, field by field; each module's docstring has its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from customers_admin.formats import billstack, cstar, evm, lunipay, ndjson, stellartools, stripe
from customers_admin.formats.common import Mapped, Problem

Mapper = Callable[[dict[str, Any]], Mapped]

FORMATS: dict[str, Mapper] = {
    "stellartools": stellartools.map_record,
    "evm": evm.map_record,
    "billstack": billstack.map_record,
    "lunipay": lunipay.map_record,
    "cstar": cstar.map_record,
    "stripe": stripe.map_record,
    "ndjson": ndjson.map_record,
}

__all__ = ["FORMATS", "Mapped", "Mapper", "Problem"]
