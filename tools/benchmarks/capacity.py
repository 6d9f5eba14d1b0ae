"""DynamoDB items read and capacity consumed per operation, from DynamoDB's own ConsumedCapacity,
for accounts of different sizes: the per-page figures must not grow with the account."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal import customers as customers_dal
from customers_core.dal.table import Table, serialize
from customers_core.logic import customers as logic
from customers_core.logic import search
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.search import SearchParams
from local_stack import processes, template
from local_stack.stack import aws_client
from ulid import ULID

from benchmarks.consumption import Consumption


def _seed(table: Table, who: Principal, count: int) -> list[str]:
    """`count` customers written as the service writes them (same items, markers, index entries and
    search tokens), loaded with BatchWriteItem for speed. 10% inactive, 5% angry, 20% tagged vip."""
    ids: list[str] = []
    batch: list[dict[str, Any]] = []
    per_value: dict[str, int] = {}  # the counter item's per-attribute counts, as the service keeps them
    start = time.time() - count  # one a second, oldest first, so created ranges select slices

    def write(chunk: list[dict[str, Any]]) -> None:
        pending = {table.name: [{"PutRequest": {"Item": serialize(i)}} for i in chunk]}
        while pending:
            pending = table.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    for n in range(count):
        params = CustomerParams.model_validate({
            "email": f"user{n}@example.com", "external_id": f"ext-{n}", "name": f"User {n}",
            "status": "inactive" if n % 10 == 0 else "active", "sentiment": "angry" if n % 20 == 0 else "neutral",
            "tags": ["vip"] if n % 5 == 0 else []})
        item = logic.new_customer_item(who, params, {})
        created = int(start + n)
        item["created"] = item["updated"] = created
        cid = f"cus_{keys_ulid(created, n)}"
        item.update({**keys.customer(who.tenant, cid), **keys.customer_list_index(who.tenant, cid), "id": cid})
        ids.append(cid)
        batch.append(item)
        entries = customers_dal.index_entries(who.tenant, item)
        batch.extend(entries.values())
        for counted in entries:  # the entry's sort key (IDX#<attribute>#<value>) names its count
            per_value[counted] = per_value.get(counted, 0) + 1
        batch.extend(customers_dal.token_items(who.tenant, item).values())
        for field, marker in customers_dal.UNIQUE_FIELDS.items():
            value = str(item[field]).lower() if field == "email" else str(item[field])
            batch.append({**marker(who.tenant, value), "entity": f"{field}_marker", "customer_id": cid})
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [batch[i:i + 25] for i in range(0, len(batch), 25)]))
    table.put({**keys.customer_counter(who.tenant, 0), "count": count, **per_value})  # one shard holds them
    return ids


def keys_ulid(created: int, n: int) -> str:
    """A customer id for second `created`, unique by `n` (seeded ids are made, not drawn)."""
    return str(ULID.from_bytes((created * 1000).to_bytes(6, "big") + n.to_bytes(10, "big")))


def _operations(table: Table, who: Principal, ids: list[str], size: int) -> dict[str, Callable[[], Any]]:
    """Each measured operation, on the middle customer of an account of `size` seeded customers."""
    mid = ids[len(ids) // 2]
    middle_created = int(time.time()) - size // 2

    def listing(**query: Any) -> Callable[[], Any]:
        return lambda: logic.list_customers(table, who, ListCustomersParams.model_validate(query))

    def searching(query: str) -> Callable[[], Any]:
        return lambda: search.search_customers(table, who, SearchParams(query=query, limit=10))

    new_id: list[str] = []
    return {
        "create": lambda: new_id.append(logic.create_customer(
            table, who, CustomerParams.model_validate({"email": "new@example.com", "tags": ["x"]}),
            {})["id"]),
        "retrieve": lambda: logic.retrieve_customer(table, who, mid),
        "update (name)": lambda: logic.update_customer(
            table, who, mid, CustomerParams.model_validate({"name": "Renamed"}), {}),
        "update (tags, status)": lambda: logic.update_customer(
            table, who, mid, CustomerParams.model_validate({"tags": ["a", "b"], "status": "inactive"}),
            {}),
        "delete": lambda: logic.delete_customer(table, who, new_id[0], {}),
        "list, 10 per page": listing(limit=10),
        "list, next page (starting_after)": listing(limit=10, starting_after=mid),
        "list, page=5 page_size=10": listing(page=5, page_size=10),
        "list, email=": listing(email=f"user{size // 3}@example.com"),
        "list, external_id=": listing(external_id=f"ext-{size // 3}"),
        "list, status=inactive": listing(limit=10, status="inactive"),
        "list, sentiment=angry": listing(limit=10, sentiment="angry"),
        "list, tag=vip": listing(limit=10, tag="vip"),
        "list, created[lte]= (a middle second)": listing(limit=10, created={"lte": middle_created}),
        "list, tag=vip & status=inactive": listing(limit=10, tag="vip", status="inactive"),
        "list, include[]=total_count (unfiltered)": listing(limit=10, include=["total_count"]),
        "list, tag=vip & include[]=total_count": listing(limit=10, tag="vip", include=["total_count"]),
        "search, one clause (email:)": searching(f'email:"user{size // 3}@example.com"'),
        "search, one clause (external_id:)": searching(f'external_id:"ext-{size // 3}"'),
        "search, three clauses (name:, status:, tag:)": searching(
            f'name:"user {size // 3 // 10 * 10 + 5}" status:"active" tag:"vip"'),
        # 11 matches in any account: n-1 without its last digit is the prefix of itself and of ten numbers.
        "search, a prefix (name~, 11 matches)": searching(f'name~"{str(size - 1)[:-1]}"'),
        "list, search= (the same prefix)": listing(limit=10, search=str(size - 1)[:-1]),
    }


def _measure(usage: Consumption, action: Callable[[], Any]) -> tuple[int, float]:
    before = replace(usage)
    action()
    return usage.items_read - before.items_read, usage.capacity - before.capacity


def run(sizes: tuple[int, ...]) -> dict[int, dict[str, tuple[int, float]]]:
    results: dict[int, dict[str, tuple[int, float]]] = {}
    with fresh_table("bench-capacity") as (table, usage):
        for size in sizes:
            who = Principal(f"acct_bench{size}", False, frozenset(), "key_bench")
            ids = _seed(table, who, size)
            ops = _operations(table, who, ids, size)
            results[size] = {name: _measure(usage, action) for name, action in ops.items()}
    return results


@contextmanager
def fresh_table(name: str) -> Iterator[tuple[Table, Consumption]]:
    """The service's table (template.yaml's definition, no stream: nothing reads one here) in a
    DynamoDB Local of its own, in memory, and what its client consumes; stopped afterwards."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = processes.free_port()
        proc = processes.start_dynamodb_local(port, Path(data_dir), Path(data_dir) / "ddb.log", in_memory=True)
        try:
            client = aws_client("dynamodb", f"http://127.0.0.1:{port}")
            usage = Consumption().install(client)
            definition = template.table_definition(name)
            definition.pop("StreamSpecification", None)
            client.create_table(**definition)
            yield Table(name, client), usage
        finally:
            processes.stop(proc)


def render(results: dict[int, dict[str, tuple[int, float]]]) -> list[str]:
    sizes = sorted(results)
    header = "| operation | " + " | ".join(f"{s:,} customers: items read / capacity units" for s in sizes) + \
        f" | growth {sizes[0]:,} → {sizes[-1]:,} |"
    lines = [header, "|---|" + "---:|" * (len(sizes) + 1)]
    for name in results[sizes[0]]:
        cells = [f"{results[s][name][0]} / {results[s][name][1]:g}" for s in sizes]
        small, large = results[sizes[0]][name][1], results[sizes[-1]][name][1]
        growth = f"{large / small:.2f}×" if small else ("1.00×" if not large else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
    return lines


def _write_row(table: Table, usage: Consumption, who: Principal) -> dict[str, float]:
    body = {"email": "ada.lovelace@analytical.org", "name": "Ada Lovelace", "phone": "+44 20 7946 0000",
            "external_id": "user-42", "tags": ["vip", "beta"], "metadata": {"plan": "pro", "seats": "40"}}
    made: list[str] = []

    def update(fields: dict[str, Any]) -> Callable[[], Any]:
        return lambda: logic.update_customer(table, who, made[0], CustomerParams.model_validate(fields), {})

    row = {"create (name, email, phone, external_id, 2 tags, 2 metadata)": _measure(usage, lambda: made.append(
        logic.create_customer(table, who, CustomerParams.model_validate(body), {})["id"]))[1]}
    row["update (name)"] = _measure(usage, update({"name": "Ada King"}))[1]
    row["update (one metadata value)"] = _measure(usage, update({"metadata": {"plan": "team"}}))[1]
    row["update (description: not indexed)"] = _measure(usage, update({"description": "x"}))[1]
    return row


def write_cost() -> dict[str, dict[str, float]]:
    """Capacity units of a create and of updates, with the search index and without it (the index
    switched off for the comparison only), on a fresh table."""
    results: dict[str, dict[str, float]] = {}
    with fresh_table("bench-writes") as (table, usage):
        who = Principal("acct_writes1", False, frozenset(), "key_bench")
        results["with search tokens"] = _write_row(table, usage, who)
        # The same writes with the index switched off, by the benchmark alone (nothing else does).
        with mock.patch.object(customers_dal, "search_tokens", lambda item: set()):
            who = Principal("acct_writes0", False, frozenset(), "key_bench")
            results["without search tokens"] = _write_row(table, usage, who)
    return results


def render_write_cost(results: dict[str, dict[str, float]]) -> list[str]:
    labels = list(results)
    lines = ["| write | " + " | ".join(f"{label} (capacity units)" for label in labels) + " | ratio |",
             "|---|" + "---:|" * (len(labels) + 1)]
    for op in results[labels[0]]:
        with_, without = results[labels[0]][op], results[labels[1]][op]
        ratio = f"{with_ / without:.2f}×" if without else "n/a"
        lines.append(f"| {op} | {with_:g} | {without:g} | {ratio} |")
    return lines
