"""Per-account rate limiting (api.md §3: 429 `rate_limited` with `Retry-After`).

Each account+mode may make `limit` reads (GET) and `limit` writes (everything else) per second, as
Stripe limits reads and writes separately. A request adds one to its second's counter item with a
conditional UpdateItem, so the count is exact under any concurrency and across every function. A
write over the limit is refused before it does any work; a read is counted while it runs (it has
nothing to undo), so the limit costs reads no extra round trip (customers_core.api). The counter
items expire after a minute (TTL) and the stream's filter drops them, so they cost one write per
request and nothing more.

HTTP API stage throttling stays as the global backstop (its 429 is API Gateway's own body); this is
the per-tenant limit that keeps one busy account from using up everyone's share.

A limiter that cannot reach the table admits the request (fails open) and logs why: an outage of the
counter must not become an outage of the API."""

from __future__ import annotations

import time

from botocore.exceptions import BotoCoreError, ClientError

from customers_core import keys
from customers_core.dal.table import Table, condition_failed
from customers_core.errors import RateLimited
from customers_core.observability import logger

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEEP_SECONDS = 60


def kind_of(method: str) -> str:
    return "read" if method.upper() in _READS else "write"


def admit(table: Table, tenant: str, method: str, limit: int, *, now: float | None = None) -> None:
    """Count this request in its second; RateLimited once the second's `limit` is used up."""
    if limit <= 0:
        return
    moment = time.time() if now is None else now
    second = int(moment)
    kind = kind_of(method)
    try:
        table.update(keys.rate_window(tenant, kind, second), "ADD #n :one SET expires_at = :expires",
                     condition="attribute_not_exists(#n) OR #n < :limit", names={"#n": "n"},
                     values={":one": 1, ":limit": limit, ":expires": second + _KEEP_SECONDS})
    except ClientError as exc:
        if condition_failed(exc):
            raise RateLimited(
                f"Too many {kind} requests for this account: at most {limit} per second. Retry after the "
                "time in Retry-After.", retry_after=1) from None
        logger.warning("rate limiter unavailable; request admitted",
                       extra={"error": exc.response.get("Error", {}).get("Code")})
    except BotoCoreError as exc:
        logger.warning("rate limiter unavailable; request admitted", extra={"error": type(exc).__name__})
