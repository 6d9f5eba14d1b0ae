"""List filters on metadata (`GET /v1/customers?metadata[plan]=pro`, api.md §11), read from the search
index: the `metadata` tokens that `metadata['plan']:'pro'` in a search reads (dal.customers.search_tokens).
No item and no write of its own.

The customers holding one value are one sort-key range of one token partition:
`T#TOK#metadata#<2 chars>`, sort keys `plan=pro#<cus_id>` (the value lower-cased, escaped), in id order,
that is by creation time. So one filter drives the list like an attribute filter's index entries do:
a consistent Query of that range, newest first (ascending for `ending_before`), the cursor and a
`created` range as sort-key bounds, `Limit` = what the page still needs; then one consistent BatchGet
of the candidates, on which every filter is checked — the value exactly (tokens ignore case and a
change's removed tokens are deleted after it), the other metadata filters, status, sentiment, tag and
created. A page of `limit` reads limit + 1 token entries and limit + 1 customers when the candidates
match (the extra one tells `has_more`); candidates that fail a check cost one more round, each twice
the last (at most 1,000 candidates; a BatchGet takes 100 keys a call)."""

from __future__ import annotations

from collections.abc import Callable

from customers_core import keys
from customers_core.dal import customers as dal
from customers_core.dal.table import Item, Table

ROUND_MAX = 1000  # candidates a later round reads at most (the first reads what the page needs)
# A cursor page that has found at least one customer stops after examining this many candidates
# (has_more then says the list goes on): a rare combination costs a bounded read per page.
EXAMINE_CAP = 1000
UPPER = "~"  # sorts after every character of an id


def driver(filters: dict[str, str]) -> tuple[str, str]:
    """The filter whose token range is read: the longest value (likely the rarest, as search ranks its
    clauses), the first given on a tie. The others are checked on the candidates."""
    return max(filters.items(), key=lambda pair: len(pair[1]))


def holds(item: Item, filters: dict[str, str]) -> bool:
    """Every filter's key has exactly that value (case included)."""
    metadata = item.get("metadata") or {}
    return all(metadata.get(key) == value for key, value in filters.items())


def read(table: Table, tenant: str, filters: dict[str, str], *, lower: str | None, upper: str | None,
         forward: bool, want: int | None, accept: Callable[[Item], bool], cursor: str | None = None,
         capped: bool = False) -> tuple[list[Item], bool]:
    """Up to `want` customers (all when None) with ids in [lower, upper] other than `cursor` (a bound
    of the range, not a result) that hold every filter and pass `accept`, in list order (newest first,
    or oldest first when `forward`). Returns them and whether the range was read to its end. `capped`:
    stop after EXAMINE_CAP candidates once one was found."""
    key, value = driver(filters)
    token = dal.escape_token(dal.metadata_token(key, value))
    prefix, partition = keys.search_token_prefix(token), keys.search_bucket(tenant, "metadata", token)
    low, high = prefix + (lower or ""), prefix + (upper or UPPER)
    found: list[Item] = []
    start = None
    size = want + (1 if cursor else 0) if want is not None else ROUND_MAX
    examined = 0
    while want is None or len(found) < want:
        if capped and found and examined >= EXAMINE_CAP:
            return found, False
        sort_keys, start = table.sort_keys(partition, lower=low, upper=high, newest_first=not forward,
                                           limit=size, start=start)
        candidates = [i for i in (sk[len(prefix):] for sk in sort_keys) if i != cursor]
        examined += len(candidates)
        fetched = dal.get_customers(table, tenant, candidates) if candidates else {}
        for customer_id in candidates:
            item = fetched.get(customer_id)
            if item is not None and not item.get("deleted") and holds(item, filters) and accept(item):
                found.append(item)
        if not start:
            return (found if want is None else found[:want]), True
        size = min(size * 2, ROUND_MAX)
    return found[:want], False
