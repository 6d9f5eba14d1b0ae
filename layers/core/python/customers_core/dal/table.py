"""A thin wrapper over the low-level DynamoDB client: (de)serialization, and the cached client.

The client is created on first use, not at import, and honours AWS_ENDPOINT_URL_DYNAMODB, which is
how the local stack and the integration tests point it at DynamoDB Local."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from customers_core import caches
from customers_core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def to_plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the API speaks int and float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [to_plain(v) for v in value]
    return value


def serialize(item: Item) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items()}


def deserialize(image: dict[str, Any]) -> Item:
    return {k: to_plain(_deserializer.deserialize(v)) for k, v in image.items()}


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


# A write of the request being handled waits for this first: the per-account limit's reservation,
# made beside the request's first read (customers_core.ratelimit). Refused, it raises, and the
# request writes nothing.
write_gate: ContextVar[Future[None] | None] = ContextVar("write_gate", default=None)


class Table:
    """One DynamoDB table, addressed through the low-level client. (What it consumes is counted by
    the benchmarks' own botocore hooks, benchmarks.consumption, not here.)"""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @staticmethod
    def pass_gate() -> None:
        """Wait for the request's write gate (write_gate); raises what refused it."""
        gate = write_gate.get()
        if gate is not None:
            gate.result()

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            from customers_core import awsclients  # noqa: PLC0415 — deferred with boto3's client machinery

            self._client = awsclients.client("dynamodb")
        return self._client

    def get(self, key: dict[str, str], *, consistent: bool = True) -> Item | None:
        response = self.client.get_item(TableName=self.name, Key=serialize(key), ConsistentRead=consistent)
        raw = response.get("Item")
        return deserialize(raw) if raw else None

    def batch_get(self, key_list: list[dict[str, str]], *, consistent: bool = True) -> list[Item]:
        """Up to any number of items by key (100 a call, unprocessed keys retried)."""
        found: list[Item] = []
        for start in range(0, len(key_list), 100):
            pending: dict[str, Any] = {self.name: {"Keys": [serialize(k) for k in key_list[start:start + 100]],
                                                   "ConsistentRead": consistent}}
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                items = response.get("Responses", {}).get(self.name, [])
                found += [deserialize(i) for i in items]
                pending = dict(response.get("UnprocessedKeys") or {})
        return found

    def query_range(self, *, index: str | None, partition: str, lower: str | None = None, upper: str | None = None,
                    forward: bool = False, filter_expression: str | None = None,
                    names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                    want: int, read_cap: int | None = None) -> tuple[list[Item], bool]:
        """Items of one GSI partition (or, with index None, a base-table partition, read consistently)
        with sort key in [lower, upper], in order, that pass the filter: stops at `want` matches or
        after evaluating `read_cap` items (None: no cap), whichever is first. Returns the matches and
        whether the partition was read to its end."""
        if lower is not None and upper is not None and lower > upper:
            return [], True  # an empty range (DynamoDB refuses BETWEEN with its bounds reversed)
        condition = "#pk = :pk"
        expr_names = {"#pk": f"{index or ''}pk", **(names or {})}
        expr_values: dict[str, Any] = {":pk": partition, **(values or {})}
        if lower is not None or upper is not None:
            expr_names["#sk"] = f"{index or ''}sk"
        if lower is not None and upper is not None:
            condition += " AND #sk BETWEEN :lo AND :hi"
        elif lower is not None:
            condition += " AND #sk >= :lo"
        elif upper is not None:
            condition += " AND #sk <= :hi"
        if lower is not None:
            expr_values[":lo"] = lower
        if upper is not None:
            expr_values[":hi"] = upper
        kwargs: dict[str, Any] = {
            "TableName": self.name, "KeyConditionExpression": condition, **_index_or_consistent(index),
            "ExpressionAttributeNames": expr_names, "ScanIndexForward": forward,
            "ExpressionAttributeValues": serialize(expr_values),
        }
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        matches: list[Item] = []
        evaluated = 0
        cap = read_cap if read_cap is not None else float("inf")
        rounds = 0
        while len(matches) < want and evaluated < cap:
            # Read what is still wanted, as if every item matched (without a filter, every one does);
            # with a filter, double the page each round, so a rare match costs few calls and a common
            # one no over-read.
            limit = want - len(matches) if not filter_expression else min((want - len(matches)) << rounds, 1000)
            rounds += 1
            kwargs["Limit"] = int(min(cap - evaluated, limit))
            response = self.client.query(**kwargs)
            evaluated += int(response.get("ScannedCount", 0))
            matches += [deserialize(i) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last:
                return matches, True
            kwargs["ExclusiveStartKey"] = last
        return matches, False

    def count_range(self, *, index: str | None, partition: str, filter_expression: str | None = None,
                    names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> int:
        """How many items of a GSI (or base-table) partition pass the filter (Select=COUNT)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name, "KeyConditionExpression": "#pk = :pk", **_index_or_consistent(index),
            "ExpressionAttributeNames": {"#pk": f"{index or ''}pk", **(names or {})},
            "ExpressionAttributeValues": serialize({":pk": partition, **(values or {})}),
            "Select": "COUNT",
        }
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        total = 0
        while True:
            response = self.client.query(**kwargs)
            total += int(response.get("Count", 0))
            if not response.get("LastEvaluatedKey"):
                return total
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def put(self, item: Item, *, condition: str | None = None, values: dict[str, Any] | None = None,
            names: dict[str, str] | None = None) -> None:
        """PutItem; ConditionalCheckFailed propagates (see condition_failed)."""
        self.pass_gate()
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        _conditional(self.client.put_item, **kwargs)

    def query_index(self, index: str, pk_attr: str, pk: str, *, forward: bool = True,
                    limit: int | None = None) -> list[Item]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": pk_attr},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": forward,
        }
        if limit:
            kwargs["Limit"] = limit
        return [deserialize(i) for i in self.client.query(**kwargs)["Items"]]

    def query_partition(self, partition: str, *, sk_prefix: str | None = None, forward: bool = True,
                        consistent: bool = True) -> list[Item]:
        """Every item of one base-table partition (for small ones: an account's webhook endpoints)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name, "KeyConditionExpression": "pk = :pk", "ScanIndexForward": forward,
            "ExpressionAttributeValues": serialize({":pk": partition}), "ConsistentRead": consistent,
        }
        if sk_prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            kwargs["ExpressionAttributeValues"] = serialize({":pk": partition, ":prefix": sk_prefix})
        items: list[Item] = []
        while True:
            response = self.client.query(**kwargs)
            items += [deserialize(i) for i in response.get("Items", [])]
            if not response.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def update(self, key: dict[str, str], expression: str, *, values: dict[str, Any] | None = None,
               names: dict[str, str] | None = None, condition: str | None = None) -> Item:
        """UpdateItem; returns the item as it is after the update. ConditionalCheckFailed propagates."""
        self.pass_gate()
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize(key), "UpdateExpression": expression,
                                  "ReturnValues": "ALL_NEW"}
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if condition:
            kwargs["ConditionExpression"] = condition
        response = _conditional(self.client.update_item, **kwargs)
        return deserialize(response.get("Attributes") or {})

    def delete(self, key: dict[str, str], *, condition: str | None = None, values: dict[str, Any] | None = None,
               names: dict[str, str] | None = None) -> Item | None:
        """DeleteItem; returns the deleted item (None if there was none)."""
        self.pass_gate()
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize(key), "ReturnValues": "ALL_OLD"}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        response = _conditional(self.client.delete_item, **kwargs)
        old = response.get("Attributes")
        return deserialize(old) if old else None

    def sort_keys(self, partition: str, *, lower: str, upper: str | None = None, newest_first: bool = True,
                  limit: int | None = None, start: dict[str, Any] | None = None
                  ) -> tuple[list[str], dict[str, Any] | None]:
        """One consistent Query page of a base-table partition's sort keys: BETWEEN lower AND upper,
        or begins_with(lower) when upper is None. Returns them and where the next page starts."""
        items, following = self.query_page(partition, lower=lower if upper is not None else None, upper=upper,
                                           prefix=lower if upper is None else None, forward=not newest_first,
                                           limit=limit, start=start, projection="sk")
        return [str(i["sk"]) for i in items], following

    def batch_write(self, *, puts: Sequence[Item] = (), deletes: Sequence[dict[str, str]] = ()) -> None:
        """Unconditional puts and deletes, 25 a call (BatchWriteItem), unprocessed ones sent again."""
        self.pass_gate()
        requests = [{"PutRequest": {"Item": serialize(i)}} for i in puts] + \
                   [{"DeleteRequest": {"Key": serialize(k)}} for k in deletes]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.name: requests[start:start + 25]}
            for attempt in range(10):
                response = self.client.batch_write_item(RequestItems=pending)
                pending = dict(response.get("UnprocessedItems") or {})
                if not pending:
                    break
                time.sleep(0.01 * 2 ** attempt)
            else:
                raise RuntimeError(f"BatchWriteItem left {len(pending[self.name])} items unprocessed")

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        """Write all or nothing. Raises TransactionCanceled with the per-operation reasons."""
        self.pass_gate()
        for op in operations:
            for body in op.values():
                body["TableName"] = self.name
        try:
            self.client.transact_write_items(TransactItems=operations)  # type: ignore[arg-type]
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            raise TransactionCanceled(reasons) from exc

    def query_page(self, partition: str, *, lower: str | None = None, upper: str | None = None,
                   prefix: str | None = None, forward: bool = True, limit: int | None = None,
                   start: dict[str, Any] | None = None, consistent: bool = True, projection: str | None = None
                   ) -> tuple[list[Item], dict[str, Any] | None]:
        """One Query page of a base-table partition, whole items: sort keys between `lower` and `upper`
        (inclusive; either may be open) or beginning with `prefix`. Returns them and where the next page
        starts (None at the end); `projection` names the attributes to return, when not all."""
        condition, values = "pk = :pk", {":pk": partition}
        if prefix is not None:
            condition, values[":prefix"] = condition + " AND begins_with(sk, :prefix)", prefix
        elif lower is not None and upper is not None:
            if lower > upper:
                return [], None
            condition, values[":lo"], values[":hi"] = condition + " AND sk BETWEEN :lo AND :hi", lower, upper
        elif lower is not None:
            condition, values[":lo"] = condition + " AND sk >= :lo", lower
        elif upper is not None:
            condition, values[":hi"] = condition + " AND sk <= :hi", upper
        kwargs: dict[str, Any] = {
            "TableName": self.name, "KeyConditionExpression": condition, "ScanIndexForward": forward,
            "ExpressionAttributeValues": serialize(values), "ConsistentRead": consistent,
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        if limit:
            kwargs["Limit"] = limit
        if start:
            kwargs["ExclusiveStartKey"] = start
        response = self.client.query(**kwargs)
        return [deserialize(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")


def _index_or_consistent(index: str | None) -> dict[str, Any]:
    """A GSI's name, or a consistent read of the base table (a GSI cannot be read consistently)."""
    return {"IndexName": index} if index else {"ConsistentRead": True}


class ConditionFailed(ClientError):
    """A single-item write's condition was false (still a ClientError, for callers that test it so)."""


# What a call that did not get an answer from the table raises: callers that may carry on without
# the table (the rate limiter) catch these.
TABLE_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)


def _conditional(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as exc:
        if condition_failed(exc):
            raise ConditionFailed(dict(exc.response), exc.operation_name) from None  # type: ignore[arg-type]
        raise


def condition_failed(exc: Exception) -> bool:
    """Whether a single-item write failed its condition (the caller decides what that means)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class ReceiptTaken(Exception):
    """A write carrying an idempotency record found the key already used (or in use)."""


class TransactionCanceled(Exception):
    """A transaction was cancelled; `reasons[i]` is the code for operation i ('None' if it was fine)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@caches.per_process
@cache
def get_table() -> Table:
    return Table(get_settings().table_name)
