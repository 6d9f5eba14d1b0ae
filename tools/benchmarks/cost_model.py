"""The pure part of the cost benchmark: DynamoDB units as AWS bills them, serial round trips, what a
template's settings cost per request and at idle, and pricing a measured operation. No I/O here
(benchmarks/cost.py measures; tests/unit/test_cost_model.py checks this module)."""

from __future__ import annotations

import math
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from typing import Any

from benchmarks.prices import GB, SECONDS_PER_MONTH, price

KB = 1024
READ_BLOCK = 4 * KB
PLATFORM_LOG_BYTES = 300  # START/END/REPORT lines of one invocation (text format, or JSON at INFO)
XRAY_SAMPLING = 0.05  # the default sampling rule past its reservoir of one trace a second
IDLE_SQS_POLLERS = 5  # long polls an SQS event source mapping keeps open with an empty queue
IDLE_SQS_POLL_SECONDS = 20  # each one's WaitTimeSeconds
COMPONENTS = ("API Gateway", "Lambda", "DynamoDB", "SQS", "KMS", "Logs", "X-Ray")


# ---- item sizes and capacity units -------------------------------------------------------------

def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value (DynamoDB JSON) by DynamoDB's item-size rules."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(_b64_bytes(str(inner)))
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "SS":
        return sum(len(str(v).encode()) for v in inner)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in inner)
    if kind == "BS":
        return sum(value_size({"B": v}) for v in inner)
    raise ValueError(f"unknown attribute type {kind}")


def _b64_bytes(text: str) -> bytes:
    import base64  # noqa: PLC0415

    return base64.b64decode(text)


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item (DynamoDB JSON): its attribute names and values."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def _blocks(size: int, block: int) -> int:
    return max(1, math.ceil(size / block))


@dataclass(frozen=True)
class Gsi:
    name: str
    hash_key: str
    range_key: str | None
    projection: str = "ALL"  # ALL, KEYS_ONLY or INCLUDE
    non_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]  # the table's partition and sort key attribute names
    gsis: tuple[Gsi, ...] = ()


def table_shape(loaded_template: dict[str, Any]) -> TableShape:
    """The table's keys and GSIs from a template (the first AWS::DynamoDB::Table)."""
    props = next(r["Properties"] for r in loaded_template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    keys = tuple(k["AttributeName"] for k in props["KeySchema"])
    gsis = []
    for gsi in props.get("GlobalSecondaryIndexes") or []:
        schema = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        projection = gsi.get("Projection") or {}
        gsis.append(Gsi(gsi["IndexName"], schema["HASH"], schema.get("RANGE"), projection.get("ProjectionType", "ALL"),
                        tuple(projection.get("NonKeyAttributes") or ())))
    return TableShape(keys, tuple(gsis))


def _in_index(item: dict[str, Any] | None, gsi: Gsi) -> bool:
    return bool(item) and gsi.hash_key in item and (gsi.range_key is None or gsi.range_key in item)  # type: ignore[operator]


def projected(item: dict[str, Any], gsi: Gsi, shape: TableShape) -> dict[str, Any]:
    if gsi.projection == "ALL":
        return item
    wanted = set(shape.keys) | {gsi.hash_key, gsi.range_key or ""}
    if gsi.projection == "INCLUDE":
        wanted |= set(gsi.non_key)
    return {k: v for k, v in item.items() if k in wanted}


def gsi_write_units(old: dict[str, Any] | None, new: dict[str, Any] | None, shape: TableShape) -> float:
    """Write units that propagating one table write to the GSIs costs: a put or a delete of the
    index entry, an update in place (larger of the projected sizes) when its key stays, a delete
    plus a put when its key changes; nothing when the item is in no index or its projection is
    unchanged."""
    units = 0.0
    for gsi in shape.gsis:
        was, now = _in_index(old, gsi), _in_index(new, gsi)
        if not was and not now:
            continue
        if was and not now:
            units += _blocks(item_size(projected(old or {}, gsi, shape)), KB)
        elif now and not was:
            units += _blocks(item_size(projected(new or {}, gsi, shape)), KB)
        else:
            before, after = projected(old or {}, gsi, shape), projected(new or {}, gsi, shape)
            key_attrs = [gsi.hash_key] + ([gsi.range_key] if gsi.range_key else [])
            if any((old or {}).get(a) != (new or {}).get(a) for a in key_attrs):
                units += _blocks(item_size(before), KB) + _blocks(item_size(after), KB)
            elif before != after:
                units += _blocks(max(item_size(before), item_size(after)), KB)
    return units


def item_write_units(kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None, *, ok: bool,
                     transactional: bool) -> float:
    """Table write units of one item written by a Put, Update, Delete or (transactional)
    ConditionCheck: per started KB of the larger of its sizes before and after, at least one; a
    failed condition still costs (by the item's size as it stands); a transaction doubles each."""
    old_size, new_size = item_size(old), item_size(new)
    if kind == "ConditionCheck" or not ok or kind == "Delete":
        units = _blocks(old_size, KB)
    else:
        units = _blocks(max(old_size, new_size), KB)
    return float(units * (2 if transactional else 1))


def transaction_units(operations: list[dict[str, Any]]) -> float:
    """Write units of a TransactWriteItems from its request alone (DynamoDB Local reports 2 for any
    transaction): each Put by its item's size; each other operation as one small item (the updates,
    deletes and checks here touch markers, tokens and counters), all doubled."""
    return sum(item_write_units("Put", None, body["Item"], ok=True, transactional=True) if "Put" in op
               else item_write_units("Update", None, None, ok=True, transactional=True)
               for op in operations for body in op.values())


def write_units(record: dict[str, Any], shape: TableShape) -> tuple[float, float]:
    """(table units, GSI units) of one recorded write call (PutItem, UpdateItem, DeleteItem,
    BatchWriteItem, TransactWriteItems): each item on its own, GSIs only for what was written."""
    table = gsi = 0.0
    transactional = bool(record.get("tx"))
    for item in record.get("writes") or []:
        ok = bool(item.get("ok", True))
        table += item_write_units(item["kind"], item.get("old"), item.get("new"), ok=ok, transactional=transactional)
        if ok and item["kind"] != "ConditionCheck":
            gsi += gsi_write_units(item.get("old"), item.get("new"), shape)
    return table, gsi


def read_units(record: dict[str, Any]) -> float:
    """Read units of one recorded read call: GetItem/BatchGetItem per item (4 KB blocks, an absent
    item still one block), Query/Scan per page (the items it evaluated, summed, then 4 KB blocks,
    at least one), halved when eventually consistent, doubled when transactional."""
    op = record["op"]
    items = record.get("items") or []
    missing = int(record.get("missing") or 0)
    if op in ("GetItem", "BatchGetItem", "TransactGetItems"):
        units = float(sum(_blocks(item_size(i), READ_BLOCK) for i in items) + missing)
    elif op in ("Query", "Scan"):
        units = float(_blocks(sum(item_size(i) for i in items), READ_BLOCK))
    else:
        return 0.0
    if record.get("transactional") or op == "TransactGetItems":
        return units * 2
    return units if record.get("consistent") else units / 2


DATA_PLANE = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "PutItem", "UpdateItem", "DeleteItem",
              "BatchWriteItem", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement",
              "ExecuteTransaction"}


# ---- serial round trips --------------------------------------------------------------------------

def merge_intervals(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping (start, end) intervals merged; intervals that only touch stay apart."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def serial_round_trips(intervals: list[tuple[float, float]]) -> int:
    """How many round trips run one after another: the longest chain of calls each starting after
    the previous one ended (the most pairwise non-overlapping calls; earliest end first finds it).
    A call beside others (the rate counter beside a read) adds nothing; two calls the handler makes
    in turn count two even if a third, parallel call spans both."""
    count, end = 0, float("-inf")
    for start, stop in sorted(intervals, key=lambda i: (i[1], i[0])):
        if start >= end:
            count += 1
            end = stop
    return count


def merged_groups(intervals: list[tuple[float, float]]) -> int:
    """The groups left once overlapping calls merge (a lower bound of the serial round trips: a
    parallel call spanning two serial ones merges them)."""
    return len(merge_intervals(intervals))


# ---- SQS requests -----------------------------------------------------------------------------------

SQS_CHUNK = 64 * KB


def sqs_requests(record: dict[str, Any]) -> float:
    """Billed requests of one SQS call: one per started 64 KB of its payload (at least one)."""
    payloads = record.get("payloads")
    if payloads:
        return float(_blocks(sum(payloads), SQS_CHUNK))
    return 1.0


# ---- the template: intrinsic functions and conditions ------------------------------------------------

NO_VALUE = object()


@dataclass
class Context:
    """A template evaluated for one set of parameter values (one stage)."""

    template: dict[str, Any]
    parameters: dict[str, str]
    _conditions: dict[str, bool] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template.get("Conditions", {})[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, arg), = value.items()
            if name == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                if arg in self.parameters:
                    return self.parameters[arg]
                return {"AWS::Region": "us-east-1", "AWS::Partition": "aws"}.get(arg, arg)
            if name == "Condition":
                return self.condition(arg)
            if name == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if name == "Fn::Equals":
                left, right = (self.resolve(x) for x in arg)
                return str(left) == str(right)
            if name == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if name == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if name == "Fn::Not":
                return not self.resolve(arg[0])
            if name == "Fn::FindInMap":
                mapping, top, second = (self.resolve(x) for x in arg[:3])
                return self.template["Mappings"][mapping][str(top)][str(second)]
            if name in ("Fn::Sub", "Fn::GetAtt", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::ImportValue"):
                return value  # names and ARNs: nothing the cost depends on
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources that exist for these parameters (their Condition holds)."""
        return {name: res for name, res in self.template.get("Resources", {}).items()
                if "Condition" not in res or self.condition(res["Condition"])}


def stage_parameters(loaded_template: dict[str, Any], samconfig_text: str | None, stage: str) -> dict[str, str]:
    """Parameter values of a stage: the template's defaults, then samconfig.toml's
    `[<stage>.deploy.parameters] parameter_overrides`, then Stage itself."""
    values = {k: str(v["Default"]) for k, v in loaded_template.get("Parameters", {}).items() if "Default" in v}
    if samconfig_text:
        config = tomllib.loads(samconfig_text)
        overrides = ((config.get(stage) or {}).get("deploy") or {}).get("parameters", {}).get("parameter_overrides")
        if isinstance(overrides, list):
            overrides = " ".join(overrides)
        for pair in shlex.split(overrides or ""):
            name, _, value = pair.partition("=")
            values[name] = value
    values["Stage"] = stage
    return values


@dataclass(frozen=True)
class FunctionSettings:
    memory_mb: int
    tracing: bool
    log_format: str  # Text or JSON
    system_log_level: str | None
    application_log_level: str | None
    snapstart: bool


def function_settings(ctx: Context) -> dict[str, FunctionSettings]:
    """Memory, tracing, logging and SnapStart of every function (its own setting, else Globals)."""
    globals_ = ctx.resolve(ctx.template.get("Globals", {}).get("Function", {}))
    out = {}
    for name, res in ctx.resources().items():
        if res["Type"] not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        props = ctx.resolve(res.get("Properties", {}))
        merged = {**globals_, **props} if res["Type"] == "AWS::Serverless::Function" else props
        tracing = merged.get("Tracing") if res["Type"] == "AWS::Serverless::Function" else \
            (merged.get("TracingConfig") or {}).get("Mode")
        logging_config = {**(globals_.get("LoggingConfig") or {}), **(props.get("LoggingConfig") or {})} \
            if res["Type"] == "AWS::Serverless::Function" else (props.get("LoggingConfig") or {})
        snapstart = (merged.get("SnapStart") or {}).get("ApplyOn")
        out[name] = FunctionSettings(int(merged.get("MemorySize", 128)), tracing == "Active",
                                     str(logging_config.get("LogFormat", "Text")),
                                     logging_config.get("SystemLogLevel"), logging_config.get("ApplicationLogLevel"),
                                     snapstart == "PublishedVersions")
    return out


_LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4, "CRITICAL": 5, "FATAL": 5}


def ingested_function_log_bytes(written: dict[str, int], settings: FunctionSettings) -> int:
    """Bytes of what the function wrote that reach CloudWatch Logs: all of it, unless JSON format
    with an ApplicationLogLevel drops lines below it (lines without a level are kept)."""
    threshold = _LEVELS.get(str(settings.application_log_level or "").upper()) \
        if settings.log_format == "JSON" else None
    return sum(size for level, size in written.items()
               if threshold is None or _LEVELS.get(level.upper(), 99) >= threshold)


def platform_log_bytes(settings: FunctionSettings) -> int:
    """Lambda's own START/END/REPORT lines per invocation: none once JSON format raises the system
    log level to WARN or above."""
    if settings.log_format == "JSON" and _LEVELS.get(str(settings.system_log_level or "INFO").upper(), 2) >= 3:
        return 0
    return PLATFORM_LOG_BYTES


def access_log_format(ctx: Context) -> str | None:
    """The HTTP API stage's access-log format, if it writes one."""
    for res in ctx.resources().values():
        if res["Type"] in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Stage"):
            settings = ctx.resolve((res.get("Properties") or {}).get("AccessLogSettings") or {})
            fmt = settings.get("Format")
            if fmt:
                return fmt if isinstance(fmt, str) else str(fmt)
    return None


_SAMPLE_CONTEXT = {"requestId": "Jx2kTiKlIAMEbnA=", "extendedRequestId": "Jx2kTiKlIAMEbnA=",
                   "identity.sourceIp": "203.0.113.10", "requestTime": "02/Dec/2026:06:00:00 +0000",
                   "requestTimeEpoch": "1796191200000", "protocol": "HTTP/1.1", "responseLength": "612",
                   "responseLatency": "42", "integrationLatency": "38", "integrationStatus": "200",
                   "stage": "$default", "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
                   "apiId": "abcdef1234"}


def access_log_bytes(fmt: str | None, route_key: str, status: int) -> int:
    """One access-log line, rendered from the format with this request's route and status and
    typical values for the rest ("-" where API Gateway has nothing, e.g. no error)."""
    if not fmt:
        return 0
    method, _, path = route_key.partition(" ")
    values = {**_SAMPLE_CONTEXT, "routeKey": route_key, "status": str(status), "httpMethod": method,
              "path": path, "resourcePath": path}

    def sub(match: re.Match[str]) -> str:
        return values.get(match.group(1), "-")

    return len(re.sub(r"\$context\.([A-Za-z0-9_.]+[A-Za-z0-9_])", sub, fmt).encode()) + 1  # + newline


# ---- idle (no traffic) ---------------------------------------------------------------------------

def _alarm_metrics(props: dict[str, Any]) -> list[int]:
    """The periods of the metrics an alarm evaluates (a metric-math alarm: each metric it uses)."""
    metrics = props.get("Metrics")
    if metrics:
        return [int((m.get("MetricStat") or {}).get("Period", 60)) for m in metrics if "MetricStat" in m]
    return [int(props.get("Period", 60))]


def idle_cost(ctx: Context) -> dict[str, float]:
    """USD a month with no traffic at all, from the template's settings for one stage: alarms
    (per alarm metric), dashboards, KMS keys, SnapStart's cache of every published version that
    uses it, and SQS event source mappings long-polling empty queues. Storage at ~0 data (items,
    logs, point-in-time recovery) is ~0."""
    costs = dict.fromkeys(("alarms", "dashboards", "KMS keys", "SnapStart cache", "SQS polling"), 0.0)
    settings = function_settings(ctx)
    for name, res in ctx.resources().items():
        kind = res["Type"]
        props = ctx.resolve(res.get("Properties") or {})
        if kind == "AWS::CloudWatch::Alarm":
            for period in _alarm_metrics(props):
                costs["alarms"] += price("alarm_metric_month_high_resolution" if period < 60 else "alarm_metric_month")
        elif kind == "AWS::CloudWatch::CompositeAlarm":
            costs["alarms"] += price("composite_alarm_month")
        elif kind == "AWS::CloudWatch::Dashboard":
            costs["dashboards"] += price("dashboard_month")
        elif kind == "AWS::KMS::Key":
            costs["KMS keys"] += price("kms_key_month")
        elif kind == "AWS::Serverless::Function":
            if settings[name].snapstart:
                costs["SnapStart cache"] += settings[name].memory_mb / 1024 * SECONDS_PER_MONTH * \
                    price("snapstart_cache_gb_second")
            for event in (props.get("Events") or {}).values():
                if event.get("Type") == "SQS":
                    costs["SQS polling"] += _idle_polls() * price("sqs_request")
        elif kind == "AWS::Lambda::EventSourceMapping" and _is_queue(ctx, props.get("EventSourceArn")):
            costs["SQS polling"] += _idle_polls() * price("sqs_request")
    return costs


def _idle_polls() -> float:
    return IDLE_SQS_POLLERS * SECONDS_PER_MONTH / IDLE_SQS_POLL_SECONDS


def _is_queue(ctx: Context, arn: Any) -> bool:
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        target = ctx.template["Resources"].get(arn["Fn::GetAtt"][0], {})
        return target.get("Type") == "AWS::SQS::Queue"
    return isinstance(arn, str) and arn.startswith("arn:aws:sqs:")


# ---- pricing one operation -------------------------------------------------------------------------

@dataclass
class Usage:
    """Everything one operation (request → API function → stream → fan-out → deliveries) used."""

    http_requests: int = 0
    invocations: dict[str, int] = field(default_factory=dict)  # function → invocations
    billed_ms: dict[str, int] = field(default_factory=dict)  # function → billed ms (each rounded up)
    gb_seconds: float = 0.0
    wru: float = 0.0
    wru_gsi: float = 0.0
    rru: float = 0.0
    rru_reported: float = 0.0  # what DynamoDB Local said for the same reads (a cross-check)
    sqs_requests: float = 0.0
    kms_requests: int = 0
    log_bytes: float = 0.0
    traces: float = 0.0
    dynamodb_calls: int = 0

    def add_invocation(self, function: str, handler_ms: float, settings: FunctionSettings) -> None:
        billed = max(1, math.ceil(handler_ms))
        self.invocations[function] = self.invocations.get(function, 0) + 1
        self.billed_ms[function] = self.billed_ms.get(function, 0) + billed
        self.gb_seconds += billed / 1000 * settings.memory_mb / 1024
        if settings.tracing:
            self.traces += XRAY_SAMPLING


def price_usage(usage: Usage) -> dict[str, float]:
    """USD of one operation by component."""
    invocations = sum(usage.invocations.values())
    return {
        "API Gateway": usage.http_requests * price("http_api_request"),
        "Lambda": invocations * price("lambda_request") + usage.gb_seconds * price("lambda_gb_second_arm64"),
        "DynamoDB": (usage.wru + usage.wru_gsi) * price("dynamodb_write_request_unit")
        + usage.rru * price("dynamodb_read_request_unit"),
        "SQS": usage.sqs_requests * price("sqs_request"),
        "KMS": usage.kms_requests * price("kms_request"),
        "Logs": usage.log_bytes / GB * price("logs_ingest_gb"),
        "X-Ray": usage.traces * price("xray_trace_recorded"),
    }


MIXES: dict[str, dict[str, Any]] = {
    "read_heavy": {"endpoints": 1, "weights": {"retrieve": 0.70, "list": 0.20, "update": 0.05, "create": 0.05}},
    "write_heavy": {"endpoints": 2, "weights": {"create": 0.50, "update": 0.30, "retrieve": 0.20}},
}


def compose(per_op_components: dict[str, dict[str, float]], weights: dict[str, float]) -> dict[str, float]:
    """A mix's USD per request by component: the operations' figures weighted by their shares."""
    return {c: sum(w * per_op_components[op][c] for op, w in weights.items()) for c in COMPONENTS}
