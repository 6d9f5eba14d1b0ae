"""What a DynamoDB client consumed, counted from outside production code: botocore event hooks that
a benchmark (or a test) installs on the client it hands to the code under test. Each call is asked
for its consumed capacity; items read are what DynamoDB examined (a query's ScannedCount, a get's
item). DynamoDB Local reports 2 units for any transaction, so transactions are priced from their
request as DynamoDB bills them (cost_model.transaction_units)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.cost_model import transaction_units

_ASKS_CAPACITY = {"GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem",
                  "BatchWriteItem"}


@dataclass
class Consumption:
    capacity: float = 0.0
    items_read: int = 0
    calls: int = 0

    def install(self, client: Any) -> Consumption:
        """Count `client`'s calls from now on."""
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask, unique_id=f"consumption-ask-{id(self)}")
        events.register("after-call.dynamodb.*", self._count, unique_id=f"consumption-count-{id(self)}")
        return self

    def _ask(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["consumption_params"] = params
        if model.name in _ASKS_CAPACITY:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed:
            return
        self.calls += 1
        params = context.get("consumption_params") or {}
        if model.name == "TransactWriteItems":
            self.capacity += transaction_units(params.get("TransactItems") or [])
            return
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            self.capacity += float(entry.get("CapacityUnits", 0))
        if model.name == "GetItem":
            self.items_read += 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            self.items_read += sum(len(items) for items in (parsed.get("Responses") or {}).values())
        elif model.name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", 0))
