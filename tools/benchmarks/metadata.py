"""`GET /v1/customers?metadata[key]=value` (api.md §11) by account size: items read, capacity units and
round trips of each filtered list, in accounts of 1,000 and 50,000 customers, on DynamoDB Local.

The accounts are loaded straight into the table with BatchWriteItem (50,000 creates through the API
would take hours on DynamoDB Local): each customer is the item the service writes, with its index
entries, external_id marker and search tokens (logic.customers.new_customer_item,
dal.customers.index_entries, dal.customers.token_items), so the reads are the service's own. The
metadata: `plan` pro for 10% of the customers (team 30%, free 60%), `region` eu, us or apac by
turns, and `cohort` = the customer's number (every value held by one customer)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal import customers as customers_dal
from customers_core.dal.table import Table, serialize
from customers_core.http import decode_form, parse_query
from customers_core.logic import customers as logic
from customers_core.logic import search
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.search import SearchParams
from ulid import ULID

from benchmarks import cost
from benchmarks.capacity import fresh_table

HEADING = "## Metadata filters, by account size"
COMMAND = ".venv/bin/python -m benchmarks --only metadata --out docs/benchmarks.md"
PLANS = ("pro",) + ("team",) * 3 + ("free",) * 6  # pro: 10%


def _customer_id(created: int, n: int) -> str:
    return f"cus_{ULID.from_bytes((created * 1000).to_bytes(6, 'big') + n.to_bytes(10, 'big'))}"


def seed(table: Table, who: Principal, count: int) -> list[str]:
    """`count` customers as the service writes them, oldest first, one a second; their ids."""
    ids: list[str] = []
    batch: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    start = int(time.time()) - count
    for n in range(count):
        params = CustomerParams.model_validate({
            "external_id": f"ext-{n}", "status": "inactive" if n % 7 == 0 else "active",
            "metadata": {"plan": PLANS[n % 10], "region": ("eu", "us", "apac")[n % 3], "cohort": str(n)}})
        item = logic.new_customer_item(who, params, {})
        cid = _customer_id(start + n, n)
        item.update({**keys.customer(who.tenant, cid), **keys.customer_list_index(who.tenant, cid), "id": cid,
                     "created": start + n, "updated": start + n})
        ids.append(cid)
        entries = customers_dal.index_entries(who.tenant, item)
        for name in entries:
            counts[name] = counts.get(name, 0) + 1
        batch += [item, *entries.values(), *customers_dal.token_items(who.tenant, item).values(),
                  {**keys.external_id_marker(who.tenant, f"ext-{n}"), "entity": "external_id_marker",
                   "customer_id": cid}]

    def write(chunk: list[dict[str, Any]]) -> None:
        pending = {table.name: [{"PutRequest": {"Item": serialize(i)}} for i in chunk]}
        while pending:
            pending = table.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [batch[i:i + 25] for i in range(0, len(batch), 25)]))
    table.put({**keys.customer_counter(who.tenant, 0), "count": count, **counts})
    return ids


def operations(table: Table, who: Principal, ids: list[str]) -> dict[str, Callable[[], Any]]:
    """Each measured request, by its query string (the list's) or search query."""
    middle = ids[len(ids) // 2]
    middle_created = int(ULID.from_str(middle[4:]).milliseconds // 1000)
    pro_in_middle = next(i for n, i in enumerate(ids) if n >= len(ids) // 2 and n % 10 == 0)

    def listing(query: str) -> Callable[[], Any]:
        params = ListCustomersParams.model_validate(decode_form(parse_query(query)))
        return lambda: logic.list_customers(table, who, params)

    return {
        "metadata[plan]=pro (10%), limit=10": listing("metadata[plan]=pro&limit=10"),
        "… next page (starting_after a middle pro customer)": listing(
            f"metadata[plan]=pro&limit=10&starting_after={pro_in_middle}"),
        "… previous page (ending_before it)": listing(f"metadata[plan]=pro&limit=10&ending_before={pro_in_middle}"),
        "metadata[plan]=pro, limit=100": listing("metadata[plan]=pro&limit=100"),
        "metadata[plan]=free (60%), limit=10": listing("metadata[plan]=free&limit=10"),
        "metadata[cohort]=<one customer's>": listing(f"metadata[cohort]={len(ids) // 3}&limit=10"),
        "metadata[plan]=pro & metadata[region]=eu (a third of them)": listing(
            "metadata[plan]=pro&metadata[region]=eu&limit=10"),
        "metadata[plan]=pro & status=inactive (a seventh of them)": listing(
            "metadata[plan]=pro&status=inactive&limit=10"),
        "metadata[plan]=pro & created[lte]=<a middle second>": listing(
            f"metadata[plan]=pro&created[lte]={middle_created}&limit=10"),
        "metadata[plan]=pro & include[]=total_count": listing("metadata[plan]=pro&limit=10&include[]=total_count"),
        "search metadata['plan']:'pro', limit=10 (the same tokens)": lambda: search.search_customers(
            table, who, SearchParams(query="metadata['plan']:'pro'", limit=10)),
    }


def run(sizes: tuple[int, ...]) -> dict[str, Any]:
    """Per account size: each operation's (items read, capacity units, round trips); and seeding time."""
    results: dict[int, dict[str, tuple[int, float, int]]] = {}
    seeded: dict[int, float] = {}
    with fresh_table("bench-metadata") as (table, usage):
        for size in sizes:
            who = Principal(f"acct_meta{size}", False, frozenset(), "key_bench")
            started = time.perf_counter()
            ids = seed(table, who, size)
            seeded[size] = time.perf_counter() - started
            results[size] = {}
            for name, action in operations(table, who, ids).items():
                before = replace(usage)
                action()
                results[size][name] = (usage.items_read - before.items_read, usage.capacity - before.capacity,
                                       usage.calls - before.calls)
    return {"results": results, "seeded_s": seeded}


def render(report: dict[str, Any], command: str = COMMAND) -> list[str]:
    results: dict[int, dict[str, tuple[int, float, int]]] = report["results"]
    sizes = sorted(results)
    lines = [
        HEADING, "",
        f"Produced by `{command}`. Items read (what DynamoDB examined: query entries and fetched customers), "
        "read capacity units as DynamoDB Local reports them, and round trips, of one request each, in an "
        f"account of each size loaded straight into the table ({', '.join(f'{s:,}' for s in sizes)} customers: "
        + ", ".join(f"{report['seeded_s'][s]:.0f} s" for s in sizes) + " with BatchWriteItem; "
        "`tools/benchmarks/metadata.py`). `plan` is pro for 10% of the customers, team 30%, free 60%; `region` "
        "eu, us or apac by turns; `cohort` is one customer's own; a seventh are inactive.", "",
        "| request | " + " | ".join(f"{s:,} customers: items read / RCU / round trips" for s in sizes)
        + f" | items read, {sizes[0]:,} → {sizes[-1]:,} |",
        "|---|" + "---:|" * (len(sizes) + 1),
    ]
    for name in results[sizes[0]]:
        cells = [f"{results[s][name][0]} / {results[s][name][1]:g} / {results[s][name][2]}" for s in sizes]
        small, large = results[sizes[0]][name][0], results[sizes[-1]][name][0]
        growth = f"{large / small:.2f}×" if small else "n/a"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
    lines += [
        "",
        "A page reads the driving filter's token entries (one consistent Query, `Limit` = page + 1) and the "
        "customers they name (one consistent BatchGet), and checks every filter on the customers: limit + 1 "
        "entries and limit + 1 customers, 2 round trips, whatever the account's size. A cursor is one of the "
        "entries (its own is read and skipped). A second filter that most candidates fail costs more rounds "
        "(each reads twice as many candidates as the last, at most 1,000): its reads follow how rare the "
        "combination is among the driving value's customers, not the account's size; a cursor page stops "
        "after 1,000 candidates once it has a customer. `include[]=total_count` reads every candidate of "
        "the driving value (it grows with how many hold it, here 10% of the account).",
    ]
    return lines


def replace_section(document: str, section: list[str]) -> str:
    """docs/benchmarks.md with this section replaced (or appended)."""
    return cost.replace_section(document, section, HEADING)
