"""Work that runs beside a request's own DynamoDB calls instead of after them, so it adds no serial
round trip: the search-token puts beside a customer's transaction, a rate-limit reservation beside a
request's first read, an API-key lookup refreshed before its cache entry expires.

One pool per process (Lambda runs one request at a time per environment; the local stack serves many
in one process). Work submitted here sees the submitting request's context variables."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from functools import cache
from typing import Any


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="beside")


def submit[T](fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
    return _pool().submit(copy_context().run, fn, *args, **kwargs)
