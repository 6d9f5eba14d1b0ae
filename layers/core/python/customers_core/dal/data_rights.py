"""What a customer's export and redaction read and rewrite besides the customer item (api.md §11):
the references in the customer's own partition, and the stored idempotent answers they lead to.

A customer's partition (`T#CUS#<cus_id>`) holds its item (`CUS`) and small reference items
(keys.customer_reference): `EVT#<evt_id>` for each event about it, put by the stream fan-out as it
makes the event, and `IDEM#<sha256(key)>` for a stored answer that no event names (a keyed change
that made no event; a keyed event retry). One consistent Query reads the item and every reference:
no scan, no index, and nothing written by a customer's own request."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable
from typing import Any, NamedTuple

from customers_core import keys
from customers_core.dal.table import ConditionFailed, Item, Table

ANSWER_LEVEL = 9  # as idempotency.py compresses a stored answer


def put_reference(table: Table, tenant: str, customer_id: str, kind: str, target: str, expires_at: int | None,
                  endpoints: list[str] | None = None, tokens: list[tuple[str, str]] | None = None) -> None:
    """One reference (a put of a small item: one write unit; a tokens reference ~0.3 KB per token),
    gone with what it names (TTL; none for tokens, which last until a redaction deletes them). An
    event's carries the endpoints it is sent to: its deliveries are read with it; a tokens reference
    the tokens' keys."""
    item: Item = {**keys.customer_reference(tenant, customer_id, kind, target), "entity": "customer_reference"}
    if expires_at is not None:
        item["expires_at"] = expires_at
    if endpoints:
        item["endpoints"] = list(endpoints)
    if tokens:
        item["tokens"] = [{"pk": pk, "sk": sk} for pk, sk in tokens]
    table.put(item)


class References(NamedTuple):
    """What a customer's partition holds: its item (None if there is none), the events about it by
    id (oldest first) with the endpoints each was sent to, the hashes of the idempotency keys whose
    answers it is in, and the keys of search tokens failed changes left (dal.customers)."""
    customer: Item | None
    events: dict[str, list[str]]
    answers: list[str]
    tokens: list[tuple[str, str]]


def customer_and_references(table: Table, tenant: str, customer_id: str) -> References:
    """The customer item and its references: consistent Query pages of its partition."""
    found = References(None, {}, [], [])
    start: dict[str, Any] | None = None
    while True:
        items, start = table.query_page(keys.customer_partition(tenant, customer_id), start=start)
        for item in items:
            sort_key = str(item["sk"])
            if sort_key == keys.CUSTOMER_SK:
                found = found._replace(customer=item)
            elif sort_key.startswith(keys.EVENT_REFERENCE):
                endpoints = [str(e) for e in item.get("endpoints") or []]
                found.events[sort_key.removeprefix(keys.EVENT_REFERENCE)] = endpoints
            elif sort_key.startswith(keys.ANSWER_REFERENCE):
                found.answers.append(sort_key.removeprefix(keys.ANSWER_REFERENCE))
            elif sort_key.startswith(keys.TOKENS_REFERENCE):
                found.tokens.append((keys.customer_partition(tenant, customer_id), sort_key))  # itself, then them
                found.tokens.extend((str(k["pk"]), str(k["sk"])) for k in item.get("tokens") or [])
        if start is None:
            return found


def get_answers(table: Table, tenant: str, key_hashes: Iterable[str]) -> list[Item]:
    """The stored idempotency records of these key hashes that still exist (one consistent BatchGet)."""
    wanted = [keys.idempotency_record(tenant, h) for h in dict.fromkeys(key_hashes)]
    return table.batch_get(wanted) if wanted else []


def answer_text(record: Item) -> str | None:
    """The answer body a record replays (JSON text), None while its request still runs."""
    try:
        saved = json.loads(record.get("saved") or "{}")
    except ValueError:
        return None
    if saved.get("encoding") == "zlib-binary" and record.get("body") is not None:
        return zlib.decompress(bytes(record["body"])).decode()
    if isinstance(saved.get("body"), str):  # the forms before the body had its own attribute
        body = str(saved["body"])
        return zlib.decompress(base64.b64decode(body)).decode() if saved.get("encoding") == "zlib" else body
    return None


def replace_answer(table: Table, record: Item, text: str) -> bool:
    """Rewrite what a record replays (its status and headers stay), unless its key was used again by
    another request meanwhile (then False). One UpdateItem."""
    saved = {k: v for k, v in json.loads(record["saved"]).items() if k != "body"}
    saved["encoding"] = "zlib-binary"
    try:
        table.update({"pk": record["pk"], "sk": record["sk"]}, "SET body = :body, saved = :saved",
                     values={":body": zlib.compress(text.encode(), ANSWER_LEVEL), ":owner": record.get("owner"),
                             ":saved": json.dumps(saved, separators=(",", ":"))},
                     names={"#owner": "owner"}, condition="#owner = :owner")
    except ConditionFailed:
        return False
    return True


def delete_keys(table: Table, item_keys: Iterable[tuple[str, str]]) -> int:
    """Unconditional deletes (BatchWriteItem, 25 a call) of items that only this customer can own
    (their keys end in its id); the number asked for."""
    unique = list(dict.fromkeys(item_keys))
    if unique:
        table.batch_write(deletes=[{"pk": pk, "sk": sk} for pk, sk in unique])
    return len(unique)
