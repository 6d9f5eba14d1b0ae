"""The cost benchmark's pure parts (tools/benchmarks/cost_model.py, prices.py): units as DynamoDB
bills them, serial round trips, idle cost from a template, and a source for every price."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from benchmarks import cost_model as cm
from benchmarks import prices
from benchmarks.recorded_stack import CountingStream, Invocation, _local, _union_seconds

SHAPE = cm.TableShape(("pk", "sk"), (cm.Gsi("gsi1", "gsi1pk", "gsi1sk"),))


def item(size: int, **extra: str) -> dict:
    """An item of exactly `size` bytes: pk, sk and a padding string (plus `extra` string attributes)."""
    base = {"pk": {"S": "P"}, "sk": {"S": "S"}, **{k: {"S": v} for k, v in extra.items()}}
    used = cm.item_size(base) + len("pad")
    assert size >= used
    return {**base, "pad": {"S": "x" * (size - used)}}


def test_item_size_follows_dynamodbs_rules() -> None:
    assert cm.item_size({"name": {"S": "Ada"}}) == 4 + 3
    assert cm.item_size({"n": {"N": "12345"}}) == 1 + 3 + 1  # 5 significant digits: 3 bytes, + 1
    assert cm.item_size({"n": {"N": "-0.0100"}}) == 1 + 1 + 1  # leading/trailing zeros trimmed: "1"
    assert cm.item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 3 + 3
    # a map: 3 bytes, plus each element's name, value and 1 byte
    assert cm.item_size({"m": {"M": {"plan": {"S": "pro"}}}}) == 1 + 3 + (4 + 3 + 1)
    assert cm.item_size({"l": {"L": [{"S": "a"}, {"N": "1"}]}}) == 1 + 3 + (1 + 1) + (2 + 1)
    assert cm.item_size({"b": {"B": "AAEC"}}) == 1 + 3  # base64 of 3 raw bytes
    assert cm.item_size(item(1500)) == 1500


def test_single_item_writes_by_the_larger_image_per_started_kb() -> None:
    assert cm.item_write_units("Put", None, item(1024), ok=True, transactional=False) == 1
    assert cm.item_write_units("Put", None, item(1025), ok=True, transactional=False) == 2
    assert cm.item_write_units("Update", item(900), item(2100), ok=True, transactional=False) == 3
    assert cm.item_write_units("Update", item(2100), item(900), ok=True, transactional=False) == 3
    assert cm.item_write_units("Delete", item(3000), None, ok=True, transactional=False) == 3
    assert cm.item_write_units("Put", None, {"pk": {"S": "x"}}, ok=True, transactional=False) == 1  # at least 1


def test_a_failed_condition_still_costs_by_the_existing_item() -> None:
    assert cm.item_write_units("Put", item(2500), item(2500), ok=False, transactional=False) == 3
    assert cm.item_write_units("Put", None, None, ok=False, transactional=False) == 1


def test_transactions_cost_two_units_per_item_per_kb_whatever_dynamodb_local_says() -> None:
    record = {"op": "TransactWriteItems", "tx": True, "writes": [
        {"kind": "Put", "old": None, "new": item(1500), "ok": True},  # 2 KB → 4
        {"kind": "Update", "old": item(100), "new": item(120), "ok": True},  # 2
        {"kind": "Delete", "old": item(200), "new": None, "ok": True},  # 2
        {"kind": "ConditionCheck", "old": item(300), "new": item(300), "ok": True},  # 2
    ]}
    assert cm.write_units(record, cm.TableShape(("pk", "sk"))) == (10.0, 0.0)


def test_gsi_writes_put_update_delete_and_key_change() -> None:
    indexed = {"gsi1pk": "A", "gsi1sk": "1"}
    # a new item with the index's keys: one index put
    assert cm.gsi_write_units(None, item(500, **indexed), SHAPE) == 1
    # no index keys: nothing
    assert cm.gsi_write_units(None, item(500), SHAPE) == 0
    # a change of a projected attribute, same key: the larger entry
    assert cm.gsi_write_units(item(1000, **indexed), item(1100, **indexed), SHAPE) == 2
    # nothing projected changed: nothing
    same = item(500, **indexed)
    assert cm.gsi_write_units(same, dict(same), SHAPE) == 0
    # the key changed: delete the old entry, put the new one
    assert cm.gsi_write_units(item(500, **indexed), item(500, gsi1pk="B", gsi1sk="1"), SHAPE) == 2
    # leaves the index (sparse): delete
    assert cm.gsi_write_units(item(500, **indexed), item(500), SHAPE) == 1
    # KEYS_ONLY: a non-key change does not touch the index
    keys_only = cm.TableShape(("pk", "sk"), (cm.Gsi("gsi1", "gsi1pk", "gsi1sk", "KEYS_ONLY"),))
    assert cm.gsi_write_units(item(500, **indexed), item(900, **indexed), keys_only) == 0


def test_gsi_writes_are_not_doubled_in_a_transaction() -> None:
    record = {"op": "TransactWriteItems", "tx": True, "writes": [
        {"kind": "Put", "old": None, "new": item(1100, gsi1pk="A", gsi1sk="1"), "ok": True},
        {"kind": "ConditionCheck", "old": item(100, gsi1pk="A", gsi1sk="2"), "new": None, "ok": True}]}
    assert cm.write_units(record, SHAPE) == (6.0, 2.0)
    failed = {"op": "PutItem", "writes": [{"kind": "Put", "old": None, "new": None, "ok": False}]}
    assert cm.write_units(failed, SHAPE) == (1.0, 0.0)


def test_read_units() -> None:
    get = {"op": "GetItem", "items": [item(5000)], "consistent": True}
    assert cm.read_units(get) == 2
    assert cm.read_units({**get, "consistent": False}) == 1
    assert cm.read_units({"op": "GetItem", "items": [], "missing": 1, "consistent": True}) == 1
    # a Query page: its items' sizes summed, then 4 KB blocks; a GSI query is eventually consistent
    page = {"op": "Query", "items": [item(536)] * 11, "consistent": False, "index": "gsi1"}
    assert cm.read_units(page) == 1.0
    assert cm.read_units({**page, "consistent": True}) == 2.0
    assert cm.read_units({"op": "Query", "items": [], "consistent": True}) == 1.0
    # BatchGetItem: each item rounded on its own, an absent key still a read
    batch = {"op": "BatchGetItem", "items": [item(100), item(4100)], "missing": 1, "consistent": True}
    assert cm.read_units(batch) == 1 + 2 + 1


def test_sqs_requests_per_64kb_chunk() -> None:
    assert cm.sqs_requests({"op": "SendMessage", "payloads": [200]}) == 1
    assert cm.sqs_requests({"op": "SendMessageBatch", "payloads": [40_000, 40_000]}) == 2
    assert cm.sqs_requests({"op": "DeleteMessageBatch"}) == 1


def test_serial_round_trips() -> None:
    # rate counter beside the read (overlap), then two calls one after the other (touching is serial)
    calls = [(0.0, 10.0), (2.0, 5.0), (10.0, 20.0), (20.0, 25.0)]
    assert cm.merge_intervals(calls) == [(0.0, 10.0), (10.0, 20.0), (20.0, 25.0)]
    assert cm.serial_round_trips(calls) == 3
    assert cm.merged_groups(calls) == 3
    # one read alone, the counter beside it
    assert cm.serial_round_trips([(25.0, 37.0), (29.0, 77.0)]) == 1
    # a search: token read, then the customers, while the counter spans both: two in turn
    search = [(3.0, 9.0), (10.0, 21.0), (5.0, 30.0)]
    assert cm.merged_groups(search) == 1
    assert cm.serial_round_trips(search) == 2
    assert cm.serial_round_trips([]) == 0


TINY_TEMPLATE = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"},
                   "SnapStart": {"Type": "String", "Default": "stage-default"}},
    "Mappings": {"StageConfig": {"dev": {"SnapStart": "off"}, "prod": {"SnapStart": "on"}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "UseSnapStart": {"Fn::Or": [{"Fn::Equals": [{"Ref": "SnapStart"}, "on"]}, {"Fn::And": [
            {"Fn::Equals": [{"Ref": "SnapStart"}, "stage-default"]},
            {"Fn::Equals": [{"Fn::FindInMap": ["StageConfig", {"Ref": "Stage"}, "SnapStart"]}, "on"]}]}]},
    },
    "Globals": {"Function": {"MemorySize": 512, "Tracing": "Active",
                             "SnapStart": {"ApplyOn": {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}},
                             "LoggingConfig": {"LogFormat": "JSON"}}},
    "Resources": {
        "Api": {"Type": "AWS::Serverless::Function", "Properties": {"MemorySize": 1024}},
        "Worker": {"Type": "AWS::Serverless::Function", "Properties": {
            "Tracing": "PassThrough", "LoggingConfig": {"SystemLogLevel": "WARN"},
            "Events": {"Queue": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}}}}}},
        "Q": {"Type": "AWS::SQS::Queue"},
        "MathAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": [
            {"Id": "rate", "Expression": "100 * e / r"},
            {"Id": "e", "MetricStat": {"Period": 300}}, {"Id": "r", "MetricStat": {"Period": 300}}]}},
        "FastAlarm": {"Type": "AWS::CloudWatch::Alarm", "Condition": "IsProd", "Properties": {"Period": 10}},
        "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
    },
}


def test_idle_cost_per_stage_from_the_templates_settings() -> None:
    dev = cm.idle_cost(cm.Context(TINY_TEMPLATE, cm.stage_parameters(TINY_TEMPLATE, None, "dev")))
    prod = cm.idle_cost(cm.Context(TINY_TEMPLATE, cm.stage_parameters(TINY_TEMPLATE, None, "prod")))
    polls = 5 * 730 * 3600 / 20 * 0.40 / 1e6
    assert dev == pytest.approx({"alarms": 0.20, "dashboards": 3.0, "KMS keys": 1.0, "SnapStart cache": 0.0,
                                 "SQS polling": polls})
    snap = (1024 + 512) / 1024 * 730 * 3600 * 0.0000015046
    assert prod == pytest.approx({"alarms": 0.20 + 0.30, "dashboards": 3.0, "KMS keys": 1.0,
                                  "SnapStart cache": snap, "SQS polling": polls})


def test_stage_parameters_and_function_settings() -> None:
    samconfig = '[prod.deploy.parameters]\nparameter_overrides = "Stage=prod SnapStart=off LogLevel=INFO"\n'
    params = cm.stage_parameters(TINY_TEMPLATE, samconfig, "prod")
    assert params["SnapStart"] == "off" and params["Stage"] == "prod"
    settings = cm.function_settings(cm.Context(TINY_TEMPLATE, params))
    assert settings["Api"] == cm.FunctionSettings(1024, True, "JSON", None, None, False)
    assert settings["Worker"].memory_mb == 512 and not settings["Worker"].tracing
    assert cm.platform_log_bytes(settings["Api"]) == cm.PLATFORM_LOG_BYTES
    assert cm.platform_log_bytes(settings["Worker"]) == 0  # JSON with system logs at WARN


def test_logs_kept_by_application_log_level_and_access_log_line() -> None:
    info = cm.FunctionSettings(512, False, "JSON", None, "WARN", False)
    assert cm.ingested_function_log_bytes({"INFO": 400, "WARNING": 100, "other": 50}, info) == 150
    text = cm.FunctionSettings(512, False, "Text", None, "WARN", False)  # the level applies to JSON only
    assert cm.ingested_function_log_bytes({"INFO": 400}, text) == 400
    fmt = '{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status"}'
    line = '{"requestId":"Jx2kTiKlIAMEbnA=","routeKey":"GET /v1/customers","status":"200"}\n'
    assert cm.access_log_bytes(fmt, "GET /v1/customers", 200) == len(line)
    assert cm.access_log_bytes(None, "GET /x", 200) == 0


def test_pricing_and_mixes() -> None:
    usage = cm.Usage(http_requests=1, wru=10, rru=4, sqs_requests=2, kms_requests=1, log_bytes=cm.GB)
    usage.add_invocation("Api", 99.2, cm.FunctionSettings(1024, True, "JSON", None, None, False))
    priced = cm.price_usage(usage)
    assert usage.billed_ms == {"Api": 100}
    assert priced["Lambda"] == pytest.approx(0.2e-6 + 0.1 * 0.0000133334)
    assert priced["DynamoDB"] == pytest.approx(10 * 0.625e-6 + 4 * 0.125e-6)
    assert priced["Logs"] == pytest.approx(0.50)
    assert priced["X-Ray"] == pytest.approx(0.05 * 5e-6)
    mix = cm.compose({"a": dict.fromkeys(cm.COMPONENTS, 1.0), "b": dict.fromkeys(cm.COMPONENTS, 3.0)},
                     {"a": 0.75, "b": 0.25})
    assert mix["Lambda"] == pytest.approx(1.5)
    assert sum(w for w in cm.MIXES["read_heavy"]["weights"].values()) == pytest.approx(1)
    assert sum(w for w in cm.MIXES["write_heavy"]["weights"].values()) == pytest.approx(1)


def test_every_price_has_a_public_source_and_a_date() -> None:
    for name, entry in prices.PRICES.items():
        assert entry.source.startswith("https://aws.amazon.com/"), name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.as_of), name
        assert entry.usd > 0, name
    source = (Path(cm.__file__)).read_text()
    for used in re.findall(r'price\("(\w+)"\)', source):
        assert used in prices.PRICES, used
    assert prices.PRICES["dynamodb_write_request_unit"].usd == pytest.approx(0.625e-6)  # after the Nov 2024 cut


def test_recorder_counts_log_bytes_per_invocation_and_subtracts_its_own_time() -> None:
    sink = io.StringIO()
    stream = CountingStream(sink)
    inv = Invocation("Fn")
    line = '{"level":"INFO","message":"héllo"}\n'
    _local.inv = inv
    try:
        stream.write(line)
        stream.write("plain\n")
    finally:
        _local.inv = None
    stream.write("outside any invocation\n")
    assert inv.log == {"INFO": len(line.encode()), "other": 6}
    assert sink.getvalue().endswith("outside any invocation\n")
    assert _union_seconds([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]) == pytest.approx(4.0)


def test_the_cost_section_replaces_its_old_self_in_the_report() -> None:
    from benchmarks.cost import replace_section

    document = "# Benchmarks\n\n## A\n\ntext\n\n## What a request costs (old)\n\nold\n\n## Z\n\nlast\n"
    new = replace_section(document, ["", "## What a request costs (measured)", "", "new"])
    assert new == "# Benchmarks\n\n## A\n\ntext\n\n## What a request costs (measured)\n\nnew\n\n## Z\n\nlast\n"
    assert replace_section("# Benchmarks\n", ["## What a request costs", "x"]).endswith("## What a request costs\nx\n")
