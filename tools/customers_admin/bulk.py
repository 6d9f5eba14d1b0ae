"""The bulk path's creates: a batch of customers written in a few large calls instead of two calls
each, with exactly the items the API writes for each of them.

For every record, the same steps as `POST /v1/customers` with its idempotency key: the customer item
(`logic.customers.new_customer_item`), its answer, and its idempotency record as the transaction
operation the API would send (`idempotency.receipt`, taken under `idempotency.guarded`, which writes
nothing itself when the answer rides in a transaction); then `dal.customers.customer_writes` gives
the operations `write_customer` would send — the customer, its email and external_id markers, the
receipt, a counter update — and the items it puts beside them (index entries, search tokens).

What changes is only how they travel:

1. The items beside the transactions go first, all of the batch's at once, 25 to a BatchWriteItem
   (an item whose customer then does not commit is deleted again, as the API deletes the tokens of a
   create that failed; one left behind by a crash names an id that never exists, which search
   ignores). Into DynamoDB Local (`beside_in_transaction`) they ride in the customer's transaction
   instead: it commits, and syncs, each item of a BatchWriteItem on its own.
2. The transactional operations of several customers share one TransactWriteItems (up to 100
   operations), with one counter update for all of them: the counts are added once per transaction
   (`count +24`, `IDX#status#active +24` …) instead of once per customer, on a shard picked at random.
   The conditions are the API's: each marker `attribute_not_exists`, each receipt a free key.
3. A transaction cancelled on a condition, or refused whole, is not retried as a group. A record
   whose idempotency key was used before (a re-run) is answered as the API answers a repeated key
   (`TableTarget.replay`: the first answer, replayed); one whose email or external_id is taken, or
   every record of a transaction refused without saying which, is written alone by the API's own path
   (`TableTarget.create_one`), which answers as the API does (409 `email_taken` …). Their beside items
   are deleted; the others go again as a group. A transaction that met a concurrent one
   (`TransactionConflict`) is sent again on another counter shard.

So the table ends as if each record had been created by the API, and each create still commits with
its idempotency record: a re-run replays, a crash leaves nothing half written but garbage tokens.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from customers_core import idempotency, ids, keys
from customers_core.auth import Principal
from customers_core.dal import customers as dal
from customers_core.dal.table import Item, Table, TransactionCanceled, serialize
from customers_core.http import compact_json
from customers_core.logic.customers import new_customer_item
from customers_core.models.customer import CustomerParams, customer_object
from pydantic import ValidationError

MAX_OPERATIONS = 100  # TransactWriteItems' limit
MAX_BYTES = 3_500_000  # … and 4 MB a transaction: some room for what the estimate leaves out
CONFLICT_ATTEMPTS = 8


class _NotBatched(Exception):
    """This record goes the API's own way (its answer is too large to keep in a transaction)."""


@dataclass
class Create:
    """One record's create, ready to send."""

    index: int  # its place in the batch
    answer: dict[str, Any]
    operations: list[dict[str, Any]]  # its transaction's operations, the counter update left out
    labels: list[str]
    counts: dict[str, int]  # what its counter update adds
    beside: list[Item]
    size: int  # about its bytes in the request


def request_event(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The API Gateway event a request with this body would be (what the idempotency record's endpoint
    and fingerprint are taken from)."""
    return {"requestContext": {"http": {"method": method}}, "rawPath": path, "isBase64Encoded": False,
            "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def prepare(table: Table, who: Principal, index: int, body: dict[str, Any], key: str, *,
            beside_in_transaction: bool = False) -> Create | None:
    """The record's create as the API would write it, or None when it must go the API's own way (the
    body is refused, or its answer is too large to ride in a transaction). `beside_in_transaction`:
    its index entries and search tokens go in the transaction too (for DynamoDB Local), when they fit."""
    try:
        params = CustomerParams.model_validate(body)
    except (ValidationError, ValueError):
        return None
    request_id = ids.new_id(ids.REQUEST)
    made: dict[str, Any] = {}

    def run() -> dict[str, Any]:
        item = new_customer_item(who, params, {"request_id": request_id, "idempotency_key": key})
        answer = customer_object(item)
        receipt = idempotency.receipt(200, answer)
        if receipt is None:
            raise _NotBatched
        made.update(item=item, answer=answer, receipt=receipt, body=compact_json(answer))
        return {"statusCode": 200, "body": made["body"]}

    try:
        idempotency.guarded(table, who, key, request_event("POST", "/v1/customers", body), request_id, run)
    except _NotBatched:
        return None
    operations, labels, beside = dal.customer_writes(who.tenant, made["item"], None, made["receipt"])
    counts: dict[str, int] = {}
    kept_operations, kept_labels = [], []
    for operation, label in zip(operations, labels, strict=True):
        if label == "count":
            counts = counts_of(operation)
        else:
            kept_operations.append(operation)
            kept_labels.append(label)
    if beside_in_transaction and len(kept_operations) + len(beside) < MAX_OPERATIONS:
        kept_operations += [{"Put": {"Item": serialize(item)}} for item in beside]
        kept_labels += ["beside"] * len(beside)
        beside = []
    # Its bytes in the request, about: the customer item twice (itself, and its answer in the receipt,
    # compressed), and a little for each small item.
    size = 2 * len(made["body"]) + 300 * len(kept_operations)
    return Create(index, made["answer"], kept_operations, kept_labels, counts, beside, size)


def counts_of(operation: dict[str, Any]) -> dict[str, int]:
    """What a counter update (`ADD #c0 :c0, …`) adds, by count name."""
    update = operation["Update"]
    names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
    return {names[f"#c{i}"]: int(values[f":c{i}"]["N"]) for i in range(len(names))}


def counter_update(tenant: str, counts: dict[str, int]) -> dict[str, Any]:
    """One ADD of all these counts to one of the account's counter shards, picked at random."""
    shard = random.randrange(dal.COUNTER_SHARDS)  # noqa: S311 — spreading load, not secrecy
    live = {name: delta for name, delta in counts.items() if delta}
    return {"Update": {"Key": serialize(keys.customer_counter(tenant, shard)),
                       "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(live))),
                       "ExpressionAttributeNames": {f"#c{i}": name for i, name in enumerate(live)},
                       "ExpressionAttributeValues": {f":c{i}": {"N": str(d)} for i, d in enumerate(live.values())}}}


def groups(creates: list[Create]) -> list[list[Create]]:
    """The creates packed into transactions, in order: up to 100 operations each (one of them the
    counter update) and about 3.5 MB."""
    out: list[list[Create]] = []
    current: list[Create] = []
    operations = size = 0
    for create in creates:
        if current and (operations + len(create.operations) + 1 > MAX_OPERATIONS or size + create.size > MAX_BYTES):
            out.append(current)
            current, operations, size = [], 0, 0
        current.append(create)
        operations += len(create.operations)
        size += create.size
    if current:
        out.append(current)
    return out


@dataclass
class Written:
    """The answers of a batch: created[i] for the records written together; those whose idempotency
    key was used before (a re-run: the API replays the first answer); and those that must go the API's
    own way, alone (by index)."""

    created: dict[int, dict[str, Any]]
    replayed: list[int]
    one_by_one: list[int]


def write(table: Table, who: Principal, bodies: list[dict[str, Any]], keys_: list[str],
          with_retries: Callable[[Callable[[], Any]], Any], *, beside_in_transaction: bool = False) -> Written:
    """Write the batch's creates together where they can be; say which must go one by one."""
    creates: list[Create] = []
    written = Written({}, [], [])
    for index, (body, key) in enumerate(zip(bodies, keys_, strict=True)):
        create = prepare(table, who, index, body, key, beside_in_transaction=beside_in_transaction)
        if create is None:
            written.one_by_one.append(index)
        else:
            creates.append(create)
    beside = [item for create in creates for item in create.beside]
    if beside:
        with_retries(partial(table.batch_write, puts=beside))
    pending = groups(creates)
    while pending:
        group = pending.pop(0)
        refused = _commit(table, who.tenant, group, with_retries)
        if not refused:
            written.created.update((c.index, c.answer) for c in group)
            continue
        gone = [{"pk": item["pk"], "sk": item["sk"]} for c in group if c.index in refused for item in c.beside]
        if gone:
            with_retries(partial(table.batch_write, deletes=gone))
        for index, why in refused.items():
            (written.replayed if why == "receipt" else written.one_by_one).append(index)
        rest = [c for c in group if c.index not in refused]
        if rest:
            pending.insert(0, rest)
    written.replayed.sort()
    written.one_by_one.sort()
    return written


def _commit(table: Table, tenant: str, group: list[Create],
            with_retries: Callable[[Callable[[], Any]], Any]) -> dict[int, str]:
    """Send one group's transaction. Empty when it committed; else the creates that cannot be written
    together, each with why: `receipt` (its idempotency key was used before: that answers first, as in
    the API), `alone` (another of its conditions failed — an email or external_id taken —, or DynamoDB
    refused the transaction without saying which of them)."""
    owners: list[tuple[int, str]] = []
    operations: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for create in group:
        operations += create.operations
        owners += [(create.index, label) for label in create.labels]
        for name, delta in create.counts.items():
            counts[name] = counts.get(name, 0) + delta
    everyone = {c.index: "alone" for c in group}
    for attempt in range(CONFLICT_ATTEMPTS):
        sent = [*operations, counter_update(tenant, counts)] if any(counts.values()) else list(operations)
        try:
            with_retries(partial(table.transact_write, sent))
        except TransactionCanceled as exc:
            refused: dict[int, str] = {}
            for (index, label), reason in zip(owners, exc.reasons, strict=False):
                if reason not in ("None", "TransactionConflict"):  # a used key answers first, as in the API
                    refused[index] = "receipt" if label == "receipt" or refused.get(index) == "receipt" else "alone"
            if refused:
                return refused
            if "TransactionConflict" in exc.reasons and attempt < CONFLICT_ATTEMPTS - 1:
                # It met a concurrent transaction: again, after a jittered wait, on another counter shard.
                time.sleep(random.uniform(0, 0.005 * 2 ** attempt))  # noqa: S311 — jitter, not crypto
                continue
            return everyone
        except Exception as exc:  # refused whole (say a ValidationException): each on its own
            if getattr(exc, "response", None) is None:
                raise
            return everyone
        return {}
    return everyone
