"""Idempotency keys (api.md §8) for every POST, scoped to the caller's account and mode.

A keyed request's answer is stored in a record that later requests with the key replay for 24 h
(`Idempotent-Replayed: true`); the same key on another endpoint or with other parameters is a 400 of
type `idempotency_error` (code `idempotency_key_reused`).

The record is written in the same transaction as the change it answers (`receipt`): a customer write
is one TransactWriteItems, and the record rides in it. So the change and its answer commit together
or not at all — a retry after a crash at any point either replays the committed answer or runs as a
new request at once; nothing is left locked — and a keyed write costs no extra round trip. Two
requests racing with one key both run; the one whose transaction commits first is the answer, and
the other's transaction fails on the record and replays it.

Work that is not one transaction (an array of creates, a webhook endpoint, re-sending an event) calls
`hold_key()` first: the record is taken as a lock (`running`) before anything is written and finished
with the answer afterwards; meanwhile the same key gets 409 `idempotency_key_in_use`, and a lock
whose request died frees itself after LOCK_SECONDS.

An answer given without any write (a 404, a 409 conflict) is stored after the fact, so its retry gets
the same answer. A route's own answer headers (`Upsert-Result`) are kept with it (`answer_header`),
and a secret in an answer (a webhook endpoint's) is kept encrypted with KMS, never in plain text
(`seal_in_answer`): its replay decrypts it. Requests rejected by validation (400, 401, 403, 413,
415) or by the rate limit (429) and server errors are not stored, so they can be corrected or
retried.

Why not Powertools' idempotency utility: it keys records per function (a key reused on another
endpoint would run again instead of failing with 400), puts every record of a function under one
static partition key (a hot partition shared by all tenants), and cannot join the change's own
transaction. docs/decisions.md has the details."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from customers_core import keys, secretbox
from customers_core.auth import Principal
from customers_core.dal.table import ConditionFailed, ReceiptTaken, Table, serialize
from customers_core.errors import ApiError, Conflict, IdempotencyError, InvalidRequest
from customers_core.http import compact_json, decode_body

KEY_MAX = 255
RETENTION_SECONDS = 24 * 3600
LOCK_SECONDS = 60  # a held record whose request died frees its key after this
MAX_STORED = 350_000  # bytes; DynamoDB items stop at 400 KB
_NOT_STORED = {400, 401, 403, 413, 415, 429}
_JSON_HEADERS = {"Content-Type": "application/json"}
# A record may be (re)written where there is none, or the old one has expired, or a lock was abandoned.
_FREE = "attribute_not_exists(pk) OR expires_at < :now OR (#state = :running AND locked_until < :now)"

Result = dict[str, Any]


@dataclass
class _Intent:
    table: Table
    record_key: dict[str, str]
    endpoint: str
    fingerprint: str
    request_id: str
    now: int
    held: bool = False
    receipts: int = 0  # receipts handed to a transaction
    headers: dict[str, str] = field(default_factory=dict)  # the route's own answer headers
    sealed: tuple[str, ...] = ()  # fields of the answer kept encrypted


# The KMS encryption context of a secret kept in a stored answer: the functions that replay one may
# decrypt with this purpose only (template.yaml), not the endpoints' own secrets.
SEALED_PURPOSE = "idempotent-answer"


_current: ContextVar[_Intent | None] = ContextVar("idempotency_intent", default=None)


def _fingerprint(event: dict[str, Any], params: Any = None) -> str:
    """The request's parameters, independent of encoding (JSON and form give the same parameters).
    `params`: the body as the caller already decoded it (else it is decoded here)."""
    try:
        decoded = decode_body(event) if params is None else params
        canonical = json.dumps(decoded, sort_keys=True, separators=(",", ":"))
    except ApiError:
        canonical = "raw:" + str(event.get("body") or "")
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_hash(key: str) -> str:
    """How an Idempotency-Key names its record (the key itself is never stored)."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {KEY_MAX} characters.", param="Idempotency-Key",
                             code="idempotency_key_invalid")


def _record(intent: _Intent, status: int, body: str) -> dict[str, Any] | None:
    """The finished record of an answer, or None when the answer is too large to keep. The body is
    kept zlib-compressed in a binary attribute: a customer object (mostly Stripe's null billing
    fields) shrinks to about half, so a typical record stays within the 1 KB a write unit covers."""
    sealed = _sealed(intent, body) if intent.sealed else None
    if sealed is not None:
        body = sealed
    packed = zlib.compress(body.encode(), 9)
    if len(packed) > MAX_STORED:
        return None
    headers = {**_JSON_HEADERS, **(intent.headers if 200 <= status < 300 else {})}
    saved = json.dumps({"status": status, "headers": headers,
                        "request_id": intent.request_id, "encoding": "zlib-binary",
                        **({"sealed": list(intent.sealed)} if sealed is not None else {})}, separators=(",", ":"))
    return {**intent.record_key, "entity": "idempotency", "endpoint": intent.endpoint,
            "fingerprint": intent.fingerprint, "state": "done", "owner": intent.request_id,
            "expires_at": intent.now + RETENTION_SECONDS, "saved": saved, "body": packed}


def receipt(status: int, body: dict[str, Any]) -> dict[str, Any] | None:
    """The transaction operation that stores this request's answer beside the change it answers, or
    None when the request has no key (or holds its record already). A write that includes it raises
    ReceiptTaken if the key was used first."""
    intent = _current.get()
    if intent is None or intent.held:
        return None
    item = _record(intent, status, compact_json(body))
    if item is None:
        return None
    intent.receipts += 1
    return {"Put": {"Item": serialize(item), "ConditionExpression": _FREE,
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": serialize({":now": intent.now, ":running": "running"})}}


def answer_header(name: str, value: str) -> None:
    """A header of this request's answer that a replay must give too (set before its write)."""
    intent = _current.get()
    if intent is not None:
        intent.headers[name] = value


def seal_in_answer(*fields: str) -> None:
    """This request's answer carries a secret in `fields`: its stored copy keeps them encrypted."""
    intent = _current.get()
    if intent is not None:
        intent.sealed = tuple(dict.fromkeys((*intent.sealed, *fields)))


def _sealed_context(record_key: dict[str, str]) -> dict[str, str]:
    return {"purpose": SEALED_PURPOSE, "record": record_key["pk"]}


def _sealed(intent: _Intent, body: str) -> str | None:
    """The answer with its secret fields encrypted (None when it has none of them)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict) or not any(isinstance(answer.get(f), str) for f in intent.sealed):
        return None
    context = _sealed_context(intent.record_key)
    return json.dumps({k: {"sealed": secretbox.seal(v, context)} if k in intent.sealed and isinstance(v, str) else v
                       for k, v in answer.items()}, separators=(",", ":"))


def _unsealed(record_key: dict[str, str], body: str, fields: list[str]) -> str:
    answer = json.loads(body)
    context = _sealed_context(record_key)
    for name in fields:
        value = answer.get(name)
        if isinstance(value, dict) and "sealed" in value:
            answer[name] = secretbox.unseal(value["sealed"], context)
    return json.dumps(answer, separators=(",", ":"))


def hold_key() -> None:
    """For work that is not one transaction: take the key as a lock before writing anything. Raises
    ReceiptTaken when the key is in use or used (the guard then answers as for a repeat)."""
    intent = _current.get()
    if intent is None or intent.held:
        return
    try:
        intent.table.put({**intent.record_key, "entity": "idempotency", "endpoint": intent.endpoint,
                          "fingerprint": intent.fingerprint, "state": "running", "owner": intent.request_id,
                          "locked_until": intent.now + LOCK_SECONDS, "expires_at": intent.now + RETENTION_SECONDS},
                         condition=_FREE, names={"#state": "state"},
                         values={":now": intent.now, ":running": "running"})
    except ConditionFailed:
        raise ReceiptTaken from None
    intent.held = True


@contextmanager
def _active(intent: _Intent) -> Iterator[None]:
    token = _current.set(intent)
    try:
        yield
    finally:
        _current.reset(token)


def guarded(table: Table, who: Principal, key: str, event: dict[str, Any], request_id: str,
            run: Callable[[], Result], *, hold: bool = False, params: Any = None) -> Result:
    """Run the request once per key; replay or refuse the others. `hold`: take the key first (for a
    route whose work is not one transaction). `params`: the body, if the caller decoded it already."""
    check_key(key)
    intent = _Intent(table, keys.idempotency_record(who.tenant, key_hash(key)),
                     f"{event['requestContext']['http']['method']} {event.get('rawPath', '')}",
                     _fingerprint(event, params), request_id, int(time.time()))
    try:
        with _active(intent):
            if hold:
                hold_key()
            result = run()
    except ReceiptTaken:
        return _answer_repeat(table, intent)
    status = int(result.get("statusCode", 500))
    storable = status not in _NOT_STORED and status < 500
    if intent.held:  # only the request that holds the record may finish it
        record = _record(intent, status, str(result.get("body") or "")) if storable else None
        if record is None:
            table.delete(intent.record_key, condition="#owner = :owner", names={"#owner": "owner"},
                         values={":owner": request_id})
        else:
            table.put(record, condition="#owner = :owner", names={"#owner": "owner"}, values={":owner": request_id})
    elif storable and not (intent.receipts and 200 <= status < 300):
        # An answer no transaction carried (a 404 or a 409 found before or by a failed write).
        record = _record(intent, status, str(result.get("body") or ""))
        if record is not None:
            try:
                table.put(record, condition=_FREE, names={"#state": "state"},
                          values={":now": intent.now, ":running": "running"})
            except ConditionFailed:
                return _answer_repeat(table, intent)  # another request with the key answered first
    return result


def _answer_repeat(table: Table, intent: _Intent) -> Result:
    record = table.get(intent.record_key)
    if record is None:  # expired and removed between our write and this read: tell the caller to retry
        raise Conflict("The idempotency key's previous request has just expired; retry the request.",
                       code="idempotency_key_in_use")
    if record.get("endpoint") != intent.endpoint or record.get("fingerprint") != intent.fingerprint:
        raise IdempotencyError("Keys for idempotent requests can only be used with the same parameters they were "
                               "first used with, on the same endpoint.", param="Idempotency-Key")
    if record.get("state") != "done":
        raise Conflict("There is currently another in-progress request using this Idempotency-Key; retry "
                       "after it completes.", code="idempotency_key_in_use")
    saved = json.loads(record["saved"])
    if saved.get("encoding") == "zlib-binary":
        body = zlib.decompress(bytes(record["body"])).decode()
    else:  # records written before the body moved to its own attribute (they last 24 h)
        body = saved["body"]
        if saved.get("encoding") == "zlib":
            body = zlib.decompress(base64.b64decode(body)).decode()
    if saved.get("sealed"):
        body = _unsealed(intent.record_key, body, saved["sealed"])
    return {"statusCode": saved["status"], "body": body, "isBase64Encoded": False,
            "headers": {**saved.get("headers", {}), "Idempotent-Replayed": "true",
                        "Original-Request": saved.get("request_id", "")}}
