"""`python tools/benchmarks/recorded_stack.py [--record FILE] -- <local_stack arguments>`

Runs the local stack (`python -m local_stack`) of whichever tree is first on PYTHONPATH, with every
AWS call and every function invocation recorded to FILE (one JSON object a line) for the cost
benchmark (benchmarks/cost.py). Production code is not changed; this launcher wraps, in its own
process only:

- `botocore.client.BaseClient._make_api_call`: every DynamoDB, SQS and KMS call, with its timing,
  the function invocation it belongs to, and what billing needs: for a DynamoDB write, each item as
  it was before and after (read with a separate, unrecorded client); for a read, the size of every
  item it read (a Query is repeated unrecorded without its projection and filter to see them);
  for SQS, payload sizes. DynamoDB Streams calls are not recorded (Lambda's stream reads are free).
- `local_stack.runtime.FunctionPool.invoke`: each invocation's function, start, end and handler
  time (without environment start-up and without this recorder's own probes), and the bytes the
  function wrote to stdout/stderr by log level (Powertools logs JSON lines to stdout).
- `concurrent.futures.ThreadPoolExecutor.submit`: work a handler hands to a thread (the rate
  counter, parallel deliveries) stays attributed to its invocation.

Without --record it only launches the stack, so a benchmark starts every tree the same way.

It is run as a script (not `-m benchmarks…`) so that, for an older revision checked out elsewhere,
that tree's `local_stack` and `customers_core` come first on PYTHONPATH while this recorder stays
the current one. It imports nothing from the `benchmarks` package."""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
import sys
import threading
import time
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    sys.path.pop(0)  # this folder is not a package root; the tree's packages come from PYTHONPATH

_local = threading.local()
_ids = itertools.count(1)
_LEVEL = re.compile(r'"level"\s*:\s*"(\w+)"')


class Invocation:
    def __init__(self, function: str) -> None:
        self.id = next(_ids)
        self.function = function
        self.log: dict[str, int] = {}
        self.overhead: list[tuple[float, float]] = []  # this recorder's own time inside the invocation
        self.acquire_s = 0.0
        self.lock = threading.Lock()

    def add_log(self, level: str, size: int) -> None:
        with self.lock:
            self.log[level] = self.log.get(level, 0) + size

    def add_overhead(self, start: float, end: float) -> None:
        if end > start:
            with self.lock:
                self.overhead.append((start, end))


def current() -> Invocation | None:
    return getattr(_local, "inv", None)


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


class Recorder:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 — open for the process's life
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=_plain)
        with self._lock:
            self._file.write(line + "\n")


def _plain(value: Any) -> Any:
    """JSON for what botocore returns: binary attribute values as base64 (as DynamoDB JSON has them)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


class CountingStream(io.TextIOBase):
    """stdout/stderr as the functions see them: bytes written inside an invocation are counted for
    it (by the JSON line's "level", else "other"), and everything passes through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        inv = current()
        if inv is not None and text:
            found = _LEVEL.search(text)
            inv.add_log(found.group(1).upper() if found else "other", len(text.encode("utf-8", "replace")))
        return int(self._inner.write(text))

    def flush(self) -> None:
        self._inner.flush()

    def fileno(self) -> int:
        return int(self._inner.fileno())

    def isatty(self) -> bool:
        return bool(self._inner.isatty())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._inner, "encoding", "utf-8"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ---- what a DynamoDB call read and wrote -------------------------------------------------------

_WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_READ_OPS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


class Prober:
    """Unrecorded DynamoDB reads: items before and after a write, items a read touched."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._schemas: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def client(self, endpoint: str) -> Any:
        with self._lock:
            if endpoint not in self._clients:
                import boto3  # noqa: PLC0415

                session = boto3.session.Session()
                made = session.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                                      aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106
                made._bench_unrecorded = True
                self._clients[endpoint] = made
            return self._clients[endpoint]

    def key_names(self, endpoint: str, table: str) -> list[str]:
        if table not in self._schemas:
            described = self.client(endpoint).describe_table(TableName=table)["Table"]
            self._schemas[table] = [k["AttributeName"] for k in described["KeySchema"]]
        return self._schemas[table]

    def get(self, endpoint: str, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.client(endpoint).get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def key_of(self, endpoint: str, table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.key_names(endpoint, table) if name in item}

    def query_sizes(self, endpoint: str, op: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The items a Query or Scan page evaluated (before any filter), with every projected attribute."""
        again = {k: v for k, v in params.items()
                 if k in ("TableName", "IndexName", "KeyConditionExpression", "ExpressionAttributeNames",
                          "ExpressionAttributeValues", "ScanIndexForward", "Limit", "ExclusiveStartKey",
                          "ConsistentRead", "Segment", "TotalSegments")}
        used = str(again.get("KeyConditionExpression", ""))
        if "ExpressionAttributeNames" in again:
            again["ExpressionAttributeNames"] = {k: v for k, v in again["ExpressionAttributeNames"].items()
                                                 if re.search(re.escape(k) + r"\b", used)}
            if not again["ExpressionAttributeNames"]:
                del again["ExpressionAttributeNames"]
        if "ExpressionAttributeValues" in again:
            again["ExpressionAttributeValues"] = {k: v for k, v in again["ExpressionAttributeValues"].items()
                                                  if re.search(re.escape(k) + r"\b", used)}
            if not again["ExpressionAttributeValues"]:
                del again["ExpressionAttributeValues"]
        client = self.client(endpoint)
        response = client.query(**again) if op == "Query" else client.scan(**again)
        return list(response.get("Items", []))


PROBER = Prober()


def _before_write(endpoint: str, op: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Each item a write touches, with its image before the write."""
    items: list[dict[str, Any]] = []

    def add(kind: str, table: str, key: dict[str, Any], request: dict[str, Any]) -> None:
        items.append({"kind": kind, "table": table, "key": key, "old": PROBER.get(endpoint, table, key),
                      "request": request})

    if op == "PutItem":
        add("Put", params["TableName"], PROBER.key_of(endpoint, params["TableName"], params["Item"]), params)
    elif op in ("UpdateItem", "DeleteItem"):
        add(op[:-4], params["TableName"], params["Key"], params)
    elif op == "TransactWriteItems":
        for action in params.get("TransactItems", []):
            kind, body = next(iter(action.items()))
            key = body.get("Key") or PROBER.key_of(endpoint, body["TableName"], body.get("Item", {}))
            add(kind, body["TableName"], key, body)
    elif op == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    add("Put", table, PROBER.key_of(endpoint, table, item), request)
                else:
                    add("Delete", table, request["DeleteRequest"]["Key"], request)
    return items


def _after_write(endpoint: str, op: str, touched: list[dict[str, Any]], response: dict[str, Any] | None,
                 error: str | None) -> list[dict[str, Any]]:
    unprocessed: list[Any] = []
    if op == "BatchWriteItem" and response:
        unprocessed = [r for reqs in (response.get("UnprocessedItems") or {}).values() for r in reqs]
    out = []
    for item in touched:
        request = item.pop("request")
        if request in unprocessed:
            continue  # not written, not billed
        new = PROBER.get(endpoint, item["table"], item["key"]) if item["kind"] != "ConditionCheck" else item["old"]
        out.append({"kind": item["kind"], "old": item["old"], "new": new,
                    "ok": error is None})
    return out


def _read_facts(endpoint: str, op: str, params: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Sizes are computed by the benchmark; the recorder keeps the items (or their count)."""
    if op == "GetItem":
        item = response.get("Item")
        if item and "ProjectionExpression" in params:
            item = PROBER.get(endpoint, params["TableName"], params["Key"])
        return {"items": [item] if item else [], "missing": 0 if item else 1,
                "consistent": bool(params.get("ConsistentRead"))}
    if op == "BatchGetItem":
        items, missing, consistent = [], 0, True
        unprocessed = response.get("UnprocessedKeys") or {}
        for table, request in params.get("RequestItems", {}).items():
            consistent = consistent and bool(request.get("ConsistentRead"))
            returned = response.get("Responses", {}).get(table, [])
            if "ProjectionExpression" in request:
                returned = [PROBER.get(endpoint, table, PROBER.key_of(endpoint, table, i)) or i for i in returned]
            items += returned
            asked = len(request.get("Keys", [])) - len((unprocessed.get(table) or {}).get("Keys", []))
            missing += max(0, asked - len(returned))
        return {"items": items, "missing": missing, "consistent": consistent}
    if op in ("Query", "Scan"):
        return {"items": PROBER.query_sizes(endpoint, op, params), "missing": 0,
                "consistent": bool(params.get("ConsistentRead")), "index": params.get("IndexName")}
    if op == "TransactGetItems":
        items = [r.get("Item") for r in response.get("Responses", []) if r.get("Item")]
        return {"items": items, "missing": len(params.get("TransactItems", [])) - len(items),
                "consistent": True, "transactional": True}
    return {}


def _sqs_facts(op: str, params: dict[str, Any], response: dict[str, Any] | None) -> dict[str, Any]:
    def size(message: dict[str, Any], body: str) -> int:
        attributes = message.get("MessageAttributes") or {}
        extra = sum(len(name) + len(str(value.get("DataType", ""))) +
                    len(str(value.get("StringValue", value.get("BinaryValue", ""))))
                    for name, value in attributes.items())
        return len(body.encode()) + extra

    if op == "SendMessage":
        return {"payloads": [size(params, params.get("MessageBody", ""))]}
    if op == "SendMessageBatch":
        return {"payloads": [size(e, e.get("MessageBody", "")) for e in params.get("Entries", [])]}
    if op == "ReceiveMessage":
        messages = (response or {}).get("Messages") or []
        return {"payloads": [size(m, m.get("Body", "")) for m in messages]}
    if op in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
        return {"entries": len(params.get("Entries", []))}
    return {}


def install(recorder: Recorder, root: str) -> None:
    import botocore.client  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 — private, untyped

    def recorded_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if getattr(self, "_bench_unrecorded", False) or service == "dynamodbstreams":
            return original(self, operation_name, api_params)
        inv = current()
        issued = time.time()
        endpoint = self.meta.endpoint_url
        touched: list[dict[str, Any]] = []
        if service == "dynamodb" and operation_name in _READ_OPS and "ReturnConsumedCapacity" not in api_params:
            api_params = {**api_params, "ReturnConsumedCapacity": "TOTAL"}  # only to compare with our own units
        if service == "dynamodb" and operation_name in _WRITE_OPS:
            touched = _before_write(endpoint, operation_name, api_params)
        started = time.time()
        response: dict[str, Any] | None = None
        error: str | None = None
        try:
            response = original(self, operation_name, api_params)
            return response
        except ClientError as exc:
            error = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            raise
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            ended = time.time()
            record: dict[str, Any] = {
                "k": "call", "svc": service, "op": operation_name, "inv": inv.id if inv else None,
                "fn": inv.function if inv else None, "thread": threading.current_thread().name,
                "t0": issued, "ts": started, "t1": ended, "err": error}
            try:
                if service == "dynamodb":
                    record["table"] = api_params.get("TableName")
                    if operation_name in _WRITE_OPS:
                        record["writes"] = _after_write(endpoint, operation_name, touched, response, error)
                        record["tx"] = operation_name == "TransactWriteItems"
                    elif operation_name in _READ_OPS and response is not None:
                        record.update(_read_facts(endpoint, operation_name, api_params, response))
                        consumed = response.get("ConsumedCapacity")
                        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
                        record["reported_rcu"] = sum(float(e.get("CapacityUnits", 0)) for e in entries)
                elif service == "sqs":
                    record.update(_sqs_facts(operation_name, api_params, response))
            except Exception as exc:  # a probe must never break the stack; say so in the record
                record["probe_error"] = repr(exc)
            recorder.write(record)
            if inv is not None:
                inv.add_overhead(issued, started)
                inv.add_overhead(ended, time.time())

    setattr(botocore.client.BaseClient, "_make_api_call", recorded_call)  # noqa: B010

    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    original_submit = ThreadPoolExecutor.submit

    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        inv = current()
        if inv is None:
            return original_submit(self, fn, *args, **kwargs)

        def run(*a: Any, **k: Any) -> Any:
            previous = current()
            _local.inv = inv
            try:
                return fn(*a, **k)
            finally:
                _local.inv = previous

        return original_submit(self, run, *args, **kwargs)

    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]

    from local_stack import runtime  # noqa: PLC0415

    original_invoke = runtime.FunctionPool.invoke
    original_acquire = runtime.FunctionPool._acquire

    def acquire(self: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_acquire(self)
        finally:
            inv = current()
            if inv is not None:
                inv.acquire_s += time.perf_counter() - started

    def invoke(self: Any, event: dict[str, Any]) -> Any:
        inv = Invocation(self.function.logical_id)
        previous = current()
        _local.inv = inv
        route = (event.get("requestContext") or {}).get("routeKey") if isinstance(event, dict) else None
        kind = "authorizer" if isinstance(event, dict) and event.get("type") == "REQUEST" else \
            "api" if route else "records"
        started_wall, started = time.time(), time.perf_counter()
        recorder.write({"k": "inv_start", "id": inv.id, "fn": inv.function, "t0": started_wall})
        result: Any = None
        error = None
        try:
            result = original_invoke(self, event)
            return result
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            wall = time.perf_counter() - started
            _local.inv = previous
            own = _union_seconds(inv.overhead)
            handler_s = max(0.0, wall - inv.acquire_s - own)
            status = result.get("statusCode") if isinstance(result, dict) else None
            recorder.write({"k": "inv", "id": inv.id, "fn": inv.function, "kind": kind, "route": route,
                            "t0": started_wall, "t1": time.time(), "ms": handler_s * 1000, "wall_ms": wall * 1000,
                            "acquire_ms": inv.acquire_s * 1000, "overhead_ms": own * 1000, "log": inv.log,
                            "status": status, "err": error,
                            "records": len(event.get("Records") or []) if isinstance(event, dict) else 0})

    runtime.FunctionPool.invoke = invoke  # type: ignore[method-assign]
    runtime.FunctionPool._acquire = acquire  # type: ignore[method-assign]

    from local_stack import stack  # noqa: PLC0415

    original_start = stack.LocalStack.start

    def start(self: Any) -> dict[str, Any]:
        # Deployed functions publish their Powertools metrics as log lines (EMF): keep them on, so
        # their bytes are measured with the rest of the log.
        self.environment.setdefault("POWERTOOLS_METRICS_DISABLED", "false")
        return dict(original_start(self))

    stack.LocalStack.start = start  # type: ignore[method-assign]
    recorder.write({"k": "start", "t0": time.time(), "root": root, "pid": os.getpid()})


def main() -> int:
    argv = sys.argv[1:]
    record_path = None
    if argv[:1] == ["--record"]:
        record_path, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if record_path:
        sys.stdout = CountingStream(sys.stdout)  # before anything makes a logger that keeps the stream
        sys.stderr = CountingStream(sys.stderr)
        import local_stack  # noqa: PLC0415

        install(Recorder(record_path), os.path.dirname(os.path.dirname(os.path.dirname(local_stack.__file__))))
    from local_stack.__main__ import main as stack_main  # noqa: PLC0415

    sys.argv = ["local_stack", *argv]
    return int(stack_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
