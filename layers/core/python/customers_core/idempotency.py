"""Idempotency keys (api.md §8) for every POST, scoped to the caller's account and mode.

The first request with a key takes a lock record (a conditional put); when it finishes, the record
keeps its response for 24 h and later requests with the key replay it (`Idempotent-Replayed: true`).
The same key on another endpoint or with other parameters is a 400 of type `idempotency_error` (code
`idempotency_key_reused`); while the first is still running, a 409 `idempotency_key_in_use`. Requests
rejected by validation (400, 401, 403, 413, 415) and server errors are not stored, so they can be
corrected or retried.

Why not Powertools' idempotency utility: it keys records per function (a key reused on another
endpoint would run again instead of failing with 400), puts every record of a function under one
static partition key (a hot partition shared by all tenants), and works on the handler's event or a
function's arguments rather than on (account, mode, key). docs/decisions.md has the details."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from customers_core import keys
from customers_core.auth import Principal
from customers_core.dal.table import Table, condition_failed
from customers_core.errors import ApiError, Conflict, IdempotencyError, InvalidRequest
from customers_core.http import decode_body

KEY_MAX = 255
RETENTION_SECONDS = 24 * 3600
LOCK_SECONDS = 60  # a first request that died without finishing frees its key after this
MAX_STORED = 350_000  # bytes; DynamoDB items stop at 400 KB
_NOT_STORED = {400, 401, 403, 413, 415}

Result = dict[str, Any]


def _fingerprint(event: dict[str, Any]) -> str:
    """The request's parameters, independent of encoding (JSON and form give the same parameters)."""
    try:
        canonical = json.dumps(decode_body(event), sort_keys=True, separators=(",", ":"))
    except ApiError:
        canonical = "raw:" + str(event.get("body") or "")
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {KEY_MAX} characters.", param="Idempotency-Key",
                             code="idempotency_key_invalid")


def guarded(table: Table, who: Principal, key: str, event: dict[str, Any], request_id: str,
            run: Callable[[], Result]) -> Result:
    """Run the request once per key; replay or refuse the others."""
    check_key(key)
    record_key = keys.idempotency_record(who.tenant, hashlib.sha256(key.encode()).hexdigest())
    endpoint = f"{event['requestContext']['http']['method']} {event.get('rawPath', '')}"
    fingerprint = _fingerprint(event)
    now = time.time()
    try:
        table.put({**record_key, "entity": "idempotency", "endpoint": endpoint, "fingerprint": fingerprint,
                   "state": "running", "owner": request_id, "locked_until": int(now + LOCK_SECONDS),
                   "expires_at": int(now + RETENTION_SECONDS)},
                  condition="attribute_not_exists(pk) OR expires_at < :now OR "
                            "(#state = :running AND locked_until < :now)",
                  names={"#state": "state"}, values={":now": int(now), ":running": "running"})
    except ClientError as exc:
        if not condition_failed(exc):
            raise
        return _answer_repeat(table, record_key, endpoint, fingerprint)

    result = run()
    status = int(result.get("statusCode", 500))
    body = str(result.get("body") or "")
    encoded = body.encode()
    stored: dict[str, Any] = {"encoding": "text", "body": body}
    if len(encoded) > MAX_STORED:
        packed = base64.b64encode(zlib.compress(encoded, 6)).decode()
        stored = {"encoding": "zlib", "body": packed} if len(packed) <= MAX_STORED else {}
    # Only the request that holds the record may finish it (a taken-over lock belongs to another).
    if status in _NOT_STORED or status >= 500 or not stored:
        table.delete(record_key, condition="#owner = :owner", names={"#owner": "owner"}, values={":owner": request_id})
        return result
    headers = {k: v for k, v in (result.get("headers") or {}).items() if k.lower() == "content-type"}
    response = json.dumps({"status": status, "headers": headers, "request_id": request_id, **stored})
    table.update(record_key, "SET #state = :done, saved = :response", condition="#owner = :owner",
                 names={"#owner": "owner", "#state": "state"},
                 values={":done": "done", ":response": response, ":owner": request_id})
    return result


def _answer_repeat(table: Table, record_key: dict[str, str], endpoint: str, fingerprint: str) -> Result:
    record = table.get(record_key)
    if record is None:  # expired and removed between our put and this read: tell the caller to retry
        raise Conflict("The idempotency key's previous request has just expired; retry the request.",
                       code="idempotency_key_in_use")
    if record.get("endpoint") != endpoint or record.get("fingerprint") != fingerprint:
        raise IdempotencyError("Keys for idempotent requests can only be used with the same parameters they were "
                               "first used with, on the same endpoint.", param="Idempotency-Key")
    if record.get("state") != "done":
        raise Conflict("There is currently another in-progress request using this Idempotency-Key; retry "
                       "after it completes.", code="idempotency_key_in_use")
    saved = json.loads(record["saved"])
    body = saved["body"]
    if saved.get("encoding") == "zlib":
        body = zlib.decompress(base64.b64decode(body)).decode()
    return {"statusCode": saved["status"], "body": body, "isBase64Encoded": False,
            "headers": {**saved.get("headers", {}), "Idempotent-Replayed": "true",
                        "Original-Request": saved.get("request_id", "")}}
