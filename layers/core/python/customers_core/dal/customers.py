"""Customer items with everything that must change with them, in one transaction: uniqueness markers
(email, external_id, wallets), index entries (status, sentiment, tags), the account's counts and the
request's idempotency record; and the search tokens, whose puts run beside that transaction."""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from customers_core import beside, keys
from customers_core.addresses import lookup_key
from customers_core.dal import data_rights
from customers_core.dal.table import (
    TABLE_ERRORS,
    ConditionFailed,
    Item,
    ReceiptTaken,
    Table,
    TransactionCanceled,
    deserialize,
    serialize,
)
from customers_core.observability import logger

UNIQUE_FIELDS = {"email": keys.email_marker, "external_id": keys.external_id_marker}
INDEXED_COPIES = ("status", "sentiment", "tags", "created")
# Counts are kept on this many items per account and mode, one picked at random per write: with 16,
# 50 creates at once rarely meet on one item, and total_count is still one Query of ≤ 4 KB.
COUNTER_SHARDS = 16
CONFLICT_ATTEMPTS = 8  # a transaction that met a concurrent one on an item is sent again
conflict_retries = 0  # transactions sent again after a TransactionConflict (tests read it)


class Taken(Exception):
    """Another live customer of the account+mode holds this unique value."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class Stale(Exception):
    """The customer changed since it was read (version condition or a concurrent transaction)."""


def unique_value(field: str, item: Item | None) -> str | None:
    """The value a uniqueness marker holds for a live item (emails lower-cased), else None."""
    if not item or item.get("deleted") or not item.get(field):
        return None
    value = str(item[field])
    return value.lower() if field == "email" else value


def index_entries(tenant: str, item: Item | None) -> dict[str, Item]:
    """The index entries a live customer has, by the name of their count (`IDX#tag#vip`), each
    carrying copies of the filterable attributes so combined filters can be checked on the entry
    without reading the customer. Base-table items in their value's partition: a list filter reads
    them consistently, and writing one costs no GSI write."""
    if not item or item.get("deleted"):
        return {}
    copies = {k: item[k] for k in INDEXED_COPIES if k in item}
    pairs = [("status", item.get("status", "active")), ("sentiment", item.get("sentiment", "neutral"))]
    pairs += [("tag", tag) for tag in item.get("tags") or []]
    return {keys.count_name(attribute, value): {**keys.customer_index_entry(tenant, item["id"], attribute, value),
                                                "entity": "customer_index", "customer_id": item["id"], **copies}
            for attribute, value in pairs}


def wallet_markers(tenant: str, item: Item | None) -> dict[tuple[str, str], Item]:
    """The uniqueness markers of a live customer's wallets, by key."""
    if not item or item.get("deleted"):
        return {}
    markers = {}
    for wallet in item.get("wallets") or []:
        key = keys.wallet_marker(tenant, lookup_key(wallet["address"]), wallet["network"], wallet.get("chain_id"))
        markers[(key["pk"], key["sk"])] = {**key, "entity": "wallet_marker", "customer_id": item["id"],
                                           "wallet_id": wallet["id"]}
    return markers


MAX_TRANSACTION = 100
_SEARCH_FIELDS = {"name": 10, "email": 8}  # words indexed per field, at most


def escape_token(token: str) -> str:
    return token.replace("%", "%25").replace("#", "%23")[:200]


def search_tokens(item: Item | None) -> set[tuple[str, str]]:
    """(field, token) pairs a live customer is found by: words of name and email (prefix queries
    read a range of them), and exact values of phone, external_id, status, tags and metadata; plus
    ("created", "") for created-range queries. Tokens are lower-cased; '#' is escaped."""
    if not item or item.get("deleted"):
        return set()
    from customers_core.search.query import words  # noqa: PLC0415 — the parser stays out of plain writes

    tokens = {("created", "")}
    if item.get("name"):
        tokens |= {("name", w) for w in list(dict.fromkeys(words(str(item["name"]))))[:_SEARCH_FIELDS["name"]]}
    if item.get("email"):
        local, _, domain = str(item["email"]).lower().rpartition("@")
        labels = domain.split(".")[:-1]  # not the TLD: every .com customer in one partition helps no one
        email_words = list(dict.fromkeys(words(local) + [w for label in labels for w in words(label)]))
        tokens |= {("email", w) for w in email_words[:_SEARCH_FIELDS["email"]]}
    if item.get("phone"):
        tokens.add(("phone", normalize_phone(str(item["phone"]))))
    if item.get("external_id"):
        tokens.add(("external_id", str(item["external_id"]).lower()))
    # No status token: a status clause reads the status's index entries (logic.search).
    tokens |= {("tag", str(t).lower()) for t in item.get("tags") or []}
    tokens |= {("metadata", metadata_token(k, str(v))) for k, v in (item.get("metadata") or {}).items()}
    return {(field, escape_token(token)) for field, token in tokens}


def metadata_token(key: str, value: str) -> str:
    """A metadata value as search finds it: `key=value`, the value lower-cased."""
    return f"{key}={value.lower()}"


def normalize_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return ("+" if phone.strip().startswith("+") else "") + digits


def token_items(tenant: str, item: Item | None) -> dict[tuple[str, str], Item]:
    """The customer's search-token items, by key, each stamped with the customer's version when it was
    written (drop_stale_tokens deletes only tokens no newer than the change that removed them)."""
    out: dict[tuple[str, str], Item] = {}
    for field, token in search_tokens(item):
        assert item is not None
        key = keys.search_token(tenant, field, token, item["id"])
        out[(key["pk"], key["sk"])] = {**key, "entity": "search_token", "customer_id": item["id"],
                                       "version": item.get("version", 0)}
    return out


def settle_change(table: Table, record: dict[str, Any]) -> int:
    """What a customer change (a stream record) leaves for after its request, done by the stream
    fan-out: a create's index entries are made sure of (its request put them beside its transaction:
    one eventually consistent read each, and a put only if the request died before they landed);
    a change's removed search tokens are deleted. The number of items written."""
    change = record.get("dynamodb") or {}
    if not change.get("NewImage"):
        return 0
    new = deserialize(change["NewImage"])
    if new.get("entity") != "customer":
        return 0
    if not change.get("OldImage"):
        return _ensure_entries(table, new)
    return drop_stale_tokens(table, deserialize(change["OldImage"]), new)


def _ensure_entries(table: Table, new: Item) -> int:
    tenant = keys.tenant(str(new["account_id"]), bool(new.get("livemode")))
    entries = list(index_entries(tenant, new).values())
    present = {(i["pk"], i["sk"]) for i in table.batch_get([{"pk": e["pk"], "sk": e["sk"]} for e in entries],
                                                           consistent=False)}
    missing = [e for e in entries if (e["pk"], e["sk"]) not in present]
    if missing:
        table.batch_write(puts=missing)
    return len(missing)


def drop_stale_tokens(table: Table, old: Item, new: Item) -> int:
    """After a customer change, delete the search tokens the change removed; the number deleted. A
    token put again by a later change carries a newer version and is kept (the conditional delete
    fails). Until this runs, a stale token costs a search one read of the customer, never a wrong
    result."""
    if old.get("entity") != "customer":
        return 0
    tenant = keys.tenant(str(old["account_id"]), bool(old.get("livemode")))
    stale = token_items(tenant, old).keys() - token_items(tenant, new).keys()

    def drop(key: tuple[str, str]) -> int:
        try:
            gone = table.delete({"pk": key[0], "sk": key[1]}, values={":v": int(old.get("version", 0))},
                                condition="attribute_not_exists(version) OR version <= :v")
        except ConditionFailed:
            return 0
        return int(gone is not None)

    return sum(future.result() for future in [beside.submit(drop, key) for key in stale])


def customer_writes(tenant: str, new: Item, old: Item | None, receipt: dict[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], list[str], list[Item]]:
    """What write_customer sends: the transaction's operations with a label each (`receipt`,
    `customer`, `taken:<field>`, `release`, `count`, `index`), and the items put beside it (a
    create's index entries, added search tokens). The bulk import (customers_admin.bulk) sends the
    same operations for many creates at once."""
    operations: list[dict[str, Any]] = []
    labels: list[str] = []

    def add(label: str, operation: dict[str, Any]) -> None:
        labels.append(label)
        operations.append(operation)

    if receipt is not None:
        add("receipt", receipt)
    if old is None:
        add("customer", {"Put": {"Item": serialize(new), "ConditionExpression": "attribute_not_exists(pk)"}})
    else:
        add("customer", {"Put": {"Item": serialize(new), "ConditionExpression": "version = :v",
                                 "ExpressionAttributeValues": {":v": {"N": str(old["version"])}}}})
    for field, marker in UNIQUE_FIELDS.items():
        before, after = unique_value(field, old), unique_value(field, new)
        if before == after:
            continue
        if before:
            add("release", {"Delete": {"Key": serialize(marker(tenant, before)),
                                       "ConditionExpression": "customer_id = :id",
                                       "ExpressionAttributeValues": {":id": {"S": new["id"]}}}})
        if after:
            item = {**marker(tenant, after), "entity": f"{field}_marker", "customer_id": new["id"]}
            add(f"taken:{field}", {"Put": {"Item": serialize(item), "ConditionExpression": "attribute_not_exists(pk)"}})
    old_wallets, new_wallets = wallet_markers(tenant, old), wallet_markers(tenant, new)
    for key in old_wallets.keys() - new_wallets.keys():
        add("release", {"Delete": {"Key": serialize({"pk": key[0], "sk": key[1]}),
                                   "ConditionExpression": "customer_id = :id",
                                   "ExpressionAttributeValues": {":id": {"S": new["id"]}}}})
    for key in new_wallets.keys() - old_wallets.keys():
        add("taken:wallet", {"Put": {"Item": serialize(new_wallets[key]),
                                     "ConditionExpression": "attribute_not_exists(pk)"}})
    old_entries, new_entries = index_entries(tenant, old), index_entries(tenant, new)
    counts = _count_changes(old, new, old_entries.keys(), new_entries.keys())
    if counts:
        add("count", _count(tenant, counts))
    # A create's index entries are put beside its transaction with its search tokens (a new id: if
    # the transaction fails they are removed, and no other write can need them); a change's go in
    # the transaction, so a list never shows a customer under a value it no longer has.
    beside_puts = list(new_entries.values()) if old is None else []
    for name in old_entries.keys() - new_entries.keys():
        add("index", {"Delete": {"Key": serialize({"pk": old_entries[name]["pk"], "sk": old_entries[name]["sk"]})}})
    for name, entry in new_entries.items():
        if old is not None and old_entries.get(name) != entry:
            add("index", {"Put": {"Item": serialize(entry)}})
    old_tokens, new_tokens = token_items(tenant, old), token_items(tenant, new)
    # Search tokens are not in the transaction: an added one is a plain put beside it (half the
    # price, no extra round trip), and a removed one is deleted by the stream fan-out
    # (drop_stale_tokens). Search checks every candidate against the customer item, so a stale
    # token, or one put for a write that then fails, costs a read and never gives a wrong result.
    return operations, labels, beside_puts + [new_tokens[key] for key in new_tokens.keys() - old_tokens.keys()]


def write_customer(table: Table, tenant: str, new: Item, old: Item | None,
                   receipt: dict[str, Any] | None = None) -> None:
    """Write `new` (a create when `old` is None, else a change of `old`, possibly to a tombstone)
    and everything that must change with it, all or nothing; with `receipt` (the request's
    idempotency record, customers_core.idempotency) in the same transaction."""
    operations, labels, added = customer_writes(tenant, new, old, receipt)
    # A transaction holds 100 operations: a write that moves very many wallets and tags at once
    # writes the rest right after, before the request returns.
    later = operations[MAX_TRANSACTION:]
    operations, labels = operations[:MAX_TRANSACTION], labels[:MAX_TRANSACTION]
    table.pass_gate()  # a request refused by its rate limit writes nothing, tokens included
    putting = beside.submit(table.batch_write, puts=added) if added else None
    try:
        _commit(table, operations, labels, changing=old is not None)
    except Exception:
        if putting is not None:
            putting.exception()  # wait for it either way
            if old is None:  # a create that did not happen: its new id's tokens can only be garbage
                table.batch_write(deletes=[{"pk": t["pk"], "sk": t["sk"]} for t in added])
            else:
                _leave_traced(table, tenant, str(old["id"]), [(str(t["pk"]), str(t["sk"])) for t in added])
        raise
    if putting is not None:
        putting.result()
    for start in range(0, len(later), MAX_TRANSACTION):
        table.transact_write(later[start:start + MAX_TRANSACTION])


def _leave_traced(table: Table, tenant: str, customer_id: str, tokens: list[tuple[str, str]]) -> None:
    """The search tokens a change put beside a transaction that then failed (its email was taken,
    another writer won, the customer was deleted or redacted meanwhile) hold values the customer may
    never have had. A concurrent write of the same value may need them, so they stay, named by a
    reference in the customer's partition that a redaction deletes them by (logic.data_rights.sweep);
    then, if the customer is already gone for good, they and the reference are deleted now (a
    redaction that commits after this read finds the reference; one that committed before may have
    swept already). Only on this failure path: one put and one read. Best effort: the request
    answers its own failure (409, a retry, 404) whatever happens here; a failure is logged, by id."""
    digest = hashlib.sha256("\n".join(f"{pk}\t{sk}" for pk, sk in sorted(tokens)).encode()).hexdigest()[:32]
    try:
        data_rights.put_reference(table, tenant, customer_id, keys.TOKENS_REFERENCE, digest, None, tokens=tokens)
        current = get_customer(table, tenant, customer_id)
        if current is None or current.get("deleted"):
            reference = keys.customer_reference(tenant, customer_id, keys.TOKENS_REFERENCE, digest)
            table.batch_write(deletes=[*({"pk": pk, "sk": sk} for pk, sk in tokens), reference])
    except TABLE_ERRORS as exc:  # the values are never returned (search checks the customer item)
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
        logger.warning("failed change's search tokens not traced", extra={
            "customer_id": customer_id, "tokens": len(tokens), "error": code or type(exc).__name__})


def _commit(table: Table, operations: list[dict[str, Any]], labels: list[str], *, changing: bool) -> None:
    """Send the transaction; again, after a short jittered wait, while it only met a concurrent one
    on some item (a counter shard, a search token); a change whose customer moved on is Stale."""
    global conflict_retries  # noqa: PLW0603 — a process-wide tally, read by tests
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            table.transact_write(operations)
            return
        except TransactionCanceled as exc:
            failed = dict(zip(labels, exc.reasons, strict=False))
            if failed.get("receipt") == "ConditionalCheckFailed":
                raise ReceiptTaken from exc
            for label, reason in failed.items():
                if reason == "ConditionalCheckFailed" and label.startswith("taken:"):
                    raise Taken(label.split(":", 1)[1]) from exc
            if changing and failed.get("customer") in ("ConditionalCheckFailed", "TransactionConflict"):
                raise Stale from exc
            if "TransactionConflict" not in exc.reasons or attempt == CONFLICT_ATTEMPTS - 1:
                if changing:
                    raise Stale from exc
                raise
            conflict_retries += 1
            for operation in operations:  # another shard: the one we met is busy
                if "Update" in operation and operation["Update"]["Key"]["sk"]["S"].startswith("CUSTOMERS#"):
                    operation["Update"]["Key"] = serialize(keys.customer_counter(
                        operation["Update"]["Key"]["pk"]["S"].removesuffix("#COUNT"), _shard()))
            time.sleep(random.uniform(0, 0.005 * 2 ** attempt))  # noqa: S311 — jitter, not crypto


def _shard() -> int:
    return random.randrange(COUNTER_SHARDS)  # noqa: S311 — spreading load, not secrecy


def _live(item: Item | None) -> bool:
    return item is not None and not item.get("deleted")


def _count_changes(old: Item | None, new: Item, before: Any, after: Any) -> dict[str, int]:
    """What the account's counter item must add: the customer count, and one count per index entry
    sort key (`IDX#tag#vip` …), so a single-filter total_count is one read."""
    changes = {"count": int(_live(new)) - int(_live(old))}
    for sort_key in {k for k in set(before) ^ set(after) if k.startswith("IDX#")}:
        changes[sort_key] = 1 if sort_key in after else -1
    return {name: delta for name, delta in changes.items() if delta}


def _count(tenant: str, changes: dict[str, int]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(changes)}
    values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(changes.values())}
    return {"Update": {"Key": serialize(keys.customer_counter(tenant, _shard())),
                       "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes))),
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def get_customer(table: Table, tenant: str, customer_id: str) -> Item | None:
    return table.get(keys.customer(tenant, customer_id))


def get_customers(table: Table, tenant: str, customer_ids: list[str]) -> dict[str, Item]:
    """Many customers by id (BatchGetItem), keyed by id."""
    return {i["id"]: i for i in table.batch_get([keys.customer(tenant, cid) for cid in customer_ids])}


def owner_of(table: Table, tenant: str, field: str, value: str) -> str | None:
    """The id of the live customer holding a unique value (email, external_id), if any."""
    marker = UNIQUE_FIELDS[field](tenant, value.lower() if field == "email" else value)
    item = table.get(marker)
    return str(item["customer_id"]) if item else None


def wallet_owners(table: Table, tenant: str, address: str) -> list[str]:
    """Ids of the live customers holding an address (on any network and chain): one Query."""
    return [str(i["customer_id"]) for i in table.query_partition(keys.wallet_owners_partition(tenant,
                                                                                           lookup_key(address)))]


def _counts(table: Table, tenant: str) -> dict[str, int]:
    """The account's counts summed over its shards: one consistent Query of small items."""
    totals: dict[str, int] = {}
    for shard in table.query_partition(keys.customer_counters_partition(tenant)):
        for name, value in shard.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[name] = totals.get(name, 0) + value
    return totals


def count_values(table: Table, tenant: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Live customers per (attribute, value), all from one read of the account's counters."""
    totals = _counts(table, tenant)
    return {(attribute, value): totals.get(keys.count_name(attribute, value), 0)
            for attribute, value in pairs}


def count_customers(table: Table, tenant: str, attribute: str | None = None, value: str | None = None) -> int:
    """Live customers of the account, or those with one attribute value (status, sentiment, tag)."""
    if attribute is not None:
        return count_values(table, tenant, [(attribute, str(value))])[(attribute, str(value))]
    return _counts(table, tenant).get("count", 0)
