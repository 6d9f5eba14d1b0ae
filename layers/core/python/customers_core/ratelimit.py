"""Per-account rate limiting (api.md §3: 429 `rate_limited` with `Retry-After`).

Each account+mode may make `limit` reads (GET) and `limit` writes (everything else) per second, as
Stripe limits reads and writes separately. The shared count is one counter item per account, mode,
kind and second (TTL a minute; the stream's filter drops these items), taken with a conditional
UpdateItem, so it never passes the limit under any concurrency and across every function.

Writing that item on every request would cost one write unit per request, more than the read the
request itself makes. So each execution environment (one per Lambda container) takes its share in
two ways (docs/decisions.md, "rate limit"):
- an allowance of `limit // 20` requests per tenant per second that it admits without asking the
  table: an account that sends a few requests a second, the common case, costs no write at all;
- beyond that, reservations of `limit // 10` tokens at a time (one UpdateItem, which also accounts
  the allowance already used), so a busy container writes once per ten requests. The reservation
  runs beside the request's first read (customers_core.beside); the request's writes wait for it
  (dal.table.write_gate), so a refused request writes nothing and the limit adds no round trip.
Reserved tokens that a container does not use are lost with the second, so the limit is never
exceeded by reservations; it can be exceeded only by allowances, when more than 20 environments each
serve the same account below their allowance in the same second (a burst makes environments busy,
and a busy one reserves). A burst beyond the limit is refused within the second it happens in.

HTTP API stage throttling stays as the global backstop (its 429 is API Gateway's own body).

A limiter that cannot reach the table admits the request (fails open) and logs why: an outage of the
counter must not become an outage of the API."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from customers_core import beside, caches, keys
from customers_core.dal.table import TABLE_ERRORS, ConditionFailed, Table
from customers_core.errors import RateLimited
from customers_core.observability import logger

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEEP_SECONDS = 60
ALLOWANCE_SHARE = 20  # a container admits limit // 20 per tenant and second without a write
CHUNK_SHARE = 10  # and reserves limit // 10 tokens per write beyond that


def kind_of(method: str) -> str:
    return "read" if method.upper() in _READS else "write"


def reserve(table: Table, tenant: str, kind: str, second: int, amount: int, limit: int) -> bool:
    """Add `amount` to the second's shared count unless that would pass `limit`. True if taken."""
    try:
        table.update(keys.rate_window(tenant, kind, second), "ADD #n :amount SET expires_at = :expires",
                     condition="attribute_not_exists(#n) OR #n <= :room", names={"#n": "n"},
                     values={":amount": amount, ":room": limit - amount, ":expires": second + _KEEP_SECONDS})
    except ConditionFailed:
        return False
    return True


@dataclass
class _Window:
    second: int
    used: int = 0  # requests this environment admitted in this second
    granted: int = 0  # of which the shared count knows (reserved tokens, used or not)
    refused: bool = False


class Limiter:
    """One execution environment's view of every tenant's current second."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()  # several requests at once where one process serves many (local stack)

    def admit(self, table: Table, tenant: str, method: str, limit: int, *,
              now: float | None = None) -> Future[None] | None:
        """Count this request in its second. None: admitted here and now. A Future: a reservation is
        being made beside the request (customers_core.beside); its result() raises RateLimited if the
        tenant's `limit` is used up. Raises RateLimited at once when this environment already knows."""
        if limit <= 0:
            return None
        second = int(time.time() if now is None else now)
        kind = kind_of(method)
        with self._lock:
            window = self._window(tenant, kind, second)
            if self._take_local(window, limit):
                return None
            if window.refused:
                raise _refusal(kind, limit)
        return beside.submit(self._reserve, table, tenant, kind, second, limit)

    def _window(self, tenant: str, kind: str, second: int) -> _Window:
        window = self._windows.get((tenant, kind))
        if window is None or window.second != second:
            if len(self._windows) > 10_000:
                self._windows.clear()
            window = self._windows[(tenant, kind)] = _Window(second)
        return window

    @staticmethod
    def _take_local(window: _Window, limit: int) -> bool:
        if not window.refused and (window.used < window.granted or
                                   (window.granted == 0 and window.used < limit // ALLOWANCE_SHARE)):
            window.used += 1
            return True
        return False

    def _reserve(self, table: Table, tenant: str, kind: str, second: int, limit: int) -> None:
        with self._lock:  # one reservation at a time per environment (several where one process serves many)
            window = self._window(tenant, kind, second)
            if self._take_local(window, limit):  # another request's reservation made room meanwhile
                return
            if not window.refused:
                unaccounted = window.used - window.granted  # the allowance, once a reservation is needed
                amounts = dict.fromkeys((unaccounted + max(1, limit // CHUNK_SHARE), unaccounted + 1))
                try:
                    # A full chunk if there is room for it, else just this request.
                    taken = next((amount for amount in amounts
                                  if reserve(table, tenant, kind, second, amount, limit)), 0)
                except TABLE_ERRORS as exc:
                    code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
                    logger.warning("rate limiter unavailable; request admitted",
                                   extra={"error": code or type(exc).__name__})
                    window.used += 1
                    return
                if taken:
                    window.granted += taken
                    window.used += 1
                    return
                window.refused = True  # the rest of this second is refused without asking again
                logger.warning("rate limit reached", extra={"kind": kind, "limit": limit})  # once a second
        raise _refusal(kind, limit)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


def _refusal(kind: str, limit: int) -> RateLimited:
    return RateLimited(f"Too many {kind} requests for this account: at most {limit} per second. Retry after the "
                       "time in Retry-After.", retry_after=1)


limiter = Limiter()
caches.on_reset(limiter.reset)


def admit(table: Table, tenant: str, method: str, limit: int, *, now: float | None = None) -> None:
    """This environment's limiter, waited for: admit the request or raise RateLimited."""
    pending = limiter.admit(table, tenant, method, limit, now=now)
    if pending is not None:
        pending.result()
