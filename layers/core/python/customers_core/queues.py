"""The SQS client, made on first use (it honours AWS_ENDPOINT_URL_SQS: moto's server locally)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def sqs() -> Any:
    import boto3  # noqa: PLC0415 — deferred: only functions that send or re-time messages pay for it

    return boto3.client("sqs")
