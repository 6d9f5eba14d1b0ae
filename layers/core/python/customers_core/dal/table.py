"""A thin wrapper over the low-level DynamoDB client: (de)serialization, and the cached client.

The client is created on first use, not at import, and honours AWS_ENDPOINT_URL_DYNAMODB, which is
how the local stack and the integration tests point it at DynamoDB Local."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

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


class Table:
    """One DynamoDB table, addressed through the low-level client."""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            import boto3  # noqa: PLC0415 — deferred: keeps cold-start imports off modules that never query

            self._client = boto3.client("dynamodb")
        return self._client

    def get(self, key: dict[str, str], *, consistent: bool = True) -> Item | None:
        response = self.client.get_item(TableName=self.name, Key=serialize(key), ConsistentRead=consistent)
        raw = response.get("Item")
        return deserialize(raw) if raw else None

    def put(self, item: Item, *, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        self.client.put_item(**kwargs)

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

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        """Write all or nothing. Raises TransactionCanceled with the per-operation reasons."""
        for op in operations:
            for body in op.values():
                body["TableName"] = self.name
        try:
            self.client.transact_write_items(TransactItems=operations)  # type: ignore[arg-type]
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            raise TransactionCanceled(reasons) from exc


class TransactionCanceled(Exception):
    """A transaction was cancelled; `reasons[i]` is the code for operation i ('None' if it was fine)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


@cache
def get_table() -> Table:
    return Table(get_settings().table_name)
