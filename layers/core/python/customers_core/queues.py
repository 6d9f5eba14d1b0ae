"""The SQS client, made on first use (it honours AWS_ENDPOINT_URL_SQS: moto's server locally)."""

from __future__ import annotations

from functools import cache
from typing import Any

from customers_core import caches


@caches.per_process
@cache
def sqs() -> Any:
    from customers_core import awsclients  # noqa: PLC0415 — only functions that send or re-time messages pay

    return awsclients.client("sqs")
