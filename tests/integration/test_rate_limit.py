"""The per-account limiter on the real engine: its conditional counter is exact under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from customers_core import keys, ratelimit
from customers_core.errors import RateLimited

TENANT = keys.tenant("acct_01JRATELIMIT000000000000AA", False)


def test_thirty_concurrent_requests_in_one_second_admit_exactly_the_limit(table):
    second = 1_800_000_000.5

    def attempt(_: int) -> str:
        try:
            ratelimit.admit(table, TENANT, "POST", 10, now=second)
            return "admitted"
        except RateLimited:
            return "refused"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    assert outcomes.count("admitted") == 10 and outcomes.count("refused") == 20
    window = table.get(keys.rate_window(TENANT, "write", int(second)))
    assert window is not None and window["n"] == 10 and window["expires_at"] == int(second) + 60
    # Reads have their own window, and the next second starts afresh.
    ratelimit.admit(table, TENANT, "GET", 10, now=second)
    ratelimit.admit(table, TENANT, "POST", 10, now=second + 1)
