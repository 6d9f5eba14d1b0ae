"""The bulk path's creates (customers_admin.bulk), against moto's DynamoDB: the items a record leaves in
the table are exactly those `POST /v1/customers` leaves (the customer, its markers, index entries,
search tokens, counts and idempotency record), however they travel; many customers share each
transaction and its one counter update; a record that meets a taken email or a used key is answered
as the API answers it, and the rest of its transaction still commits."""

from __future__ import annotations

import io
import json
import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from customers_admin import bulk, importing
from customers_admin.importing import Options
from customers_admin.targets import TableTarget
from customers_core import keys
from customers_core.dal.table import Table, deserialize

BODIES: list[dict[str, Any]] = [
    {"email": "ada@example.com", "name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace",
     "external_id": "src-1", "tags": ["vip", "beta"], "sentiment": "happy", "phone": "+44 20 7946 0000",
     "metadata": {"plan": "pro", "source_created": "1700000000"}, "custom_fields": {"seats": 4},
     "address": {"city": "London", "country": "GB"}},
    {"email": "grace@example.com", "external_id": "src-2", "status": "inactive"},
    {"external_id": "src-3", "name": "No Email"},
]


def _items(table: Table, tenant: str) -> list[dict[str, Any]]:
    client = table.client
    out, start = [], None
    while True:
        page = client.scan(TableName=table.name, **({"ExclusiveStartKey": start} if start else {}))
        out += [deserialize(i) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return [i for i in out if str(i["pk"]).startswith(tenant)]


_ID = re.compile(r"(cus|req)_[0-9A-Za-z]{20,}")


def _normalized(table: Table, tenant: str) -> tuple[list[str], Counter[str]]:
    """Every item of the tenant, with ids, times and the tenant replaced (sorted), and the counts
    summed over the counter shards."""
    items, counts = [], Counter[str]()
    for stored in _items(table, tenant):
        if str(stored["sk"]).startswith("CUSTOMERS#"):  # a counter shard: which one is chance
            counts.update({k: v for k, v in stored.items() if isinstance(v, int) and not isinstance(v, bool)})
            continue
        item = dict(stored)
        for name in ("created", "updated", "written_ms", "expires_at"):
            if name in item:
                item[name] = "T"
        if item.get("entity") == "idempotency":  # its answer, compressed
            answer = json.loads(zlib.decompress(bytes(item["body"].value)))
            item["body"] = {k: ("T" if k in ("created", "updated") else v) for k, v in answer.items()}
        text = json.dumps(item, sort_keys=True, default=str).replace(tenant, "TENANT")
        text = text.replace(tenant.split("#")[1], "ACCOUNT")
        items.append(_ID.sub(lambda m: m.group(1) + "_ID", text))
    return sorted(items), counts


def _accounts(table: Table, n: int) -> list[TableTarget]:
    from customers_core.logic import api_keys

    return [TableTarget(table, api_keys.create_account(table, f"bulk {i}")["id"], False, "unit")
            for i in range(n)]


@pytest.mark.parametrize("beside_in_transaction", [False, True], ids=["batch-write", "all-in-transactions"])
def test_a_bulk_create_leaves_exactly_what_the_api_leaves(table: Table, beside_in_transaction: bool) -> None:
    api, bulk_target = _accounts(table, 2)
    bulk_target.beside_in_transaction = beside_in_transaction
    idempotency_keys = [f"import-test-{i}" for i in range(len(BODIES))]
    one_by_one = [api.create_one(body, key) for body, key in zip(BODIES, idempotency_keys, strict=True)]
    together = bulk_target.create_many(BODIES, idempotency_keys)
    assert [a.status for a in one_by_one] == [a.status for a in together] == [200] * len(BODIES)
    assert not any(a.replayed for a in together)
    for first, second in zip(one_by_one, together, strict=True):
        assert {k: v for k, v in first.body.items() if k not in ("id", "created", "updated")} == \
               {k: v for k, v in second.body.items() if k not in ("id", "created", "updated")}
    api_items, api_counts = _normalized(table, api.who.tenant)
    bulk_items, bulk_counts = _normalized(table, bulk_target.who.tenant)
    assert bulk_items == api_items
    assert bulk_counts == api_counts and bulk_counts["count"] == len(BODIES)


def test_many_customers_share_a_transaction_and_one_counter_update(table: Table, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    (target,) = _accounts(table, 1)
    sent: list[list[dict[str, Any]]] = []
    transact = table.transact_write

    def recorded(ops: list[dict[str, Any]]) -> None:
        sent.append(list(ops))
        transact(ops)

    monkeypatch.setattr(table, "transact_write", recorded)
    bodies = [{"email": f"c{i}@example.com", "external_id": f"src-{i}"} for i in range(60)]
    answers = target.create_many(bodies, [f"key-{i}" for i in range(60)])
    assert all(a.status == 200 for a in answers)
    # 4 operations a customer (customer, email and external_id markers, idempotency record), and one
    # counter update a transaction: 24 customers to a transaction of 97 operations.
    assert [len(ops) for ops in sent] == [97, 97, 4 * 12 + 1]
    assert [sum("Update" in op for op in ops) for ops in sent] == [1, 1, 1]
    from customers_core.dal import customers as dal

    assert dal.count_customers(table, target.who.tenant) == 60
    assert dal.count_customers(table, target.who.tenant, "status", "active") == 60


def test_a_taken_email_and_a_used_key_are_answered_as_the_api_answers_them(table: Table) -> None:
    (target,) = _accounts(table, 1)
    assert target.create_one({"email": "taken@example.com"}, "elsewhere").status == 200
    first = target.create_many([{"email": "once@example.com", "external_id": "src-once"}], ["key-once"])[0]
    bodies = [{"email": f"n{i}@example.com", "external_id": f"src-n{i}"} for i in range(5)]
    bodies[1] = {"email": "TAKEN@example.com", "external_id": "src-taken"}
    bodies[3] = {"email": "once@example.com", "external_id": "src-once"}
    keys_ = [f"key-n{i}" for i in range(5)]
    keys_[3] = "key-once"  # the same record with the same key: a re-run
    answers = target.create_many(bodies, keys_)
    assert [a.status for a in answers] == [200, 409, 200, 200, 200]
    assert answers[1].code == "email_taken"
    assert answers[3].replayed and answers[3].body == first.body  # the first answer, replayed
    assert not any(a.replayed for i, a in enumerate(answers) if i != 3)
    from customers_core.dal import customers as dal

    assert dal.count_customers(table, target.who.tenant) == 1 + 1 + 3
    # No search token of the refused create is left behind: every token names a live customer.
    live = {i["id"] for i in _items(table, target.who.tenant) if i.get("entity") == "customer"}
    assert {i["customer_id"] for i in _items(table, target.who.tenant) if i.get("entity") == "search_token"} == live


def test_a_key_used_with_other_parameters_is_refused_as_the_api_refuses_it(table: Table) -> None:
    (target,) = _accounts(table, 1)
    assert target.create_many([{"email": "a@example.com"}], ["key-a"])[0].status == 200
    again = target.create_many([{"email": "b@example.com"}], ["key-a"])[0]
    assert again.status == 400 and "idempotency" in json.dumps(again.body)


def test_a_refused_transaction_is_written_one_by_one(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    (target,) = _accounts(table, 1)
    transact = table.transact_write

    def refuse_groups(ops: list[dict[str, Any]]) -> None:
        if len(ops) > 6:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "too big"}}, "TransactWriteItems")
        transact(ops)

    monkeypatch.setattr(table, "transact_write", refuse_groups)
    bodies = [{"email": f"r{i}@example.com", "external_id": f"src-r{i}"} for i in range(4)]
    answers = target.create_many(bodies, [f"key-r{i}" for i in range(4)])
    assert [a.status for a in answers] == [200] * 4
    assert {a.body["email"] for a in answers} == {b["email"] for b in bodies}


def test_the_groups_respect_the_transaction_limits() -> None:
    def create(index: int, operations: int, size: int = 1000) -> bulk.Create:
        return bulk.Create(index, {"id": f"cus_{index}"}, [{}] * operations, ["x"] * operations, {}, [], size)

    assert [len(g) for g in bulk.groups([create(i, 4) for i in range(50)])] == [24, 24, 2]
    assert [len(g) for g in bulk.groups([create(i, 30) for i in range(7)])] == [3, 3, 1]
    assert [len(g) for g in bulk.groups([create(i, 4, 1_000_000) for i in range(7)])] == [3, 3, 1]


def test_an_import_into_a_table_writes_in_transactions_of_many(table: Table, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole command's calls: a transaction for many records, nothing written alone; a re-run reads
    each record's idempotency record once and writes nothing."""
    monkeypatch.setattr(importing, "BATCH", 10)  # moto copies its whole table per transaction: keep it small
    (target,) = _accounts(table, 1)
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps({"id": f"pc_{i}", "email": f"p{i}@example.com"}) + "\n" for i in range(30)))
    calls: Counter[str] = Counter()
    for name in ("transact_write", "batch_write", "put", "get", "update", "delete"):
        original = getattr(table, name)
        monkeypatch.setattr(table, name, lambda *a, _n=name, _o=original, **k: (calls.update([_n]), _o(*a, **k))[1])
    summary = importing.run(target, Options(path, "billstack", concurrency=1, progress=False), out=io.StringIO())
    assert summary.counts["created"] == 30
    assert calls == {"transact_write": 3, "batch_write": 3}  # per batch of 10: its tokens, one transaction
    calls.clear()
    again = importing.run(target, Options(path, "billstack", concurrency=1, progress=False), out=io.StringIO())
    assert again.counts == {"created": 0, "updated": 0, "skipped": 30, "failed": 0}
    # Each batch's transaction is refused (every key is used); the tokens put before it are deleted
    # again, and each record's first answer is read back (replayed): one read a record.
    assert calls == {"batch_write": 3 + 3, "transact_write": 3, "get": 30}
    assert keys.tenant(target.who.account_id, False) == target.who.tenant
