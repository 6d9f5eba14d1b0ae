"""Deploying per stage and operating it, checked without an AWS account: checkov, stage settings,
alarms, and what a deploy without credentials does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib

import pytest
from local_stack import template

from tests.conftest import ROOT
from tests.infrastructure.conftest import run_tool, tool

STAGES = ("dev", "staging", "prod")


def test_checkov_finds_no_failed_checks_in_the_expanded_template(tmp_path):
    """checkov does not expand Fn::ForEach, so it reads the template as CloudFormation will see it
    (make validate does the same), with .checkov.yaml's settings."""
    expanded = tmp_path / "template.json"
    subprocess.run([sys.executable, "-m", "local_stack.template", "--expanded", str(expanded)], check=True, cwd=ROOT)
    result = run_tool([str(tool(".venv-checkov", "checkov")), "-f", str(expanded), "--compact", "--skip-download"])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"Failed checks: 0\b", result.stdout), result.stdout[-2000:]
    # Every resource was read: the generated log groups too (checkov's own view of the YAML lacks them).
    for name in template.resources("AWS::Logs::LogGroup"):
        assert f"AWS::Logs::LogGroup.{name}" in result.stdout, name


def test_every_checkov_suppression_says_why():
    for name, resource in template.load()["Resources"].items():
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
            assert len(str(skip.get("comment", ""))) > 20, f"{name}: {skip['id']} has no reason"
    # The checks skipped for every function live in .checkov.yaml, each under a comment saying why.
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    skipped = [i for i, line in enumerate(lines) if re.fullmatch(r"  - CKV_\w+", line)]
    assert skipped
    for i in skipped:
        reason = []
        for line in reversed(lines[:i]):
            if not line.lstrip().startswith("#"):
                break
            reason.append(line)
        assert len(" ".join(reason)) > 40, f"{lines[i].strip()} has no reason"


def _find_in_maps(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        value = node.get("Fn::FindInMap")
        if isinstance(value, list) and value[0] == "StageConfig":
            found.add(value[2])
        for child in node.values():
            _find_in_maps(child, found)
    elif isinstance(node, list):
        for child in node:
            _find_in_maps(child, found)
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_resolves_every_setting_and_parameter(stage):
    loaded = template.load()
    settings = loaded["Mappings"]["StageConfig"][stage]
    assert _find_in_maps(loaded["Resources"], set()) <= set(settings), "a StageConfig key is missing"
    assert set(loaded["Mappings"]["StageConfig"]["dev"]) == set(settings), "stages must define the same keys"
    deploy = tomllib.loads((ROOT / "samconfig.toml").read_text())[stage]["deploy"]["parameters"]
    overrides = dict(pair.split("=", 1) for pair in deploy["parameter_overrides"].split())
    assert overrides["Stage"] == stage and set(overrides) <= set(loaded["Parameters"])
    for name, parameter in loaded["Parameters"].items():
        assert name in overrides or "Default" in parameter, f"{name} has neither an override nor a default"
        if "AllowedValues" in parameter and name in overrides:
            assert overrides[name] in parameter["AllowedValues"]
    assert deploy["stack_name"] == f"customers-api-{stage}" and "CAPABILITY_IAM" in deploy["capabilities"]
    assert f"stage={stage}" in deploy["tags"]


def test_protection_and_snapstart_follow_the_stage():
    loaded = template.load()
    config = loaded["Mappings"]["StageConfig"]
    # Off everywhere: its cache is billed per function and hour whether or not anything runs
    # (docs/decisions.md, "what a request costs"); the SnapStart parameter turns it on for a stage.
    assert [config[s]["SnapStart"] for s in STAGES] == ["off", "off", "off"]
    protected = loaded["Conditions"]["IsProtected"]["Fn::Or"]
    assert {c["Fn::Equals"][1] for c in protected} == {"prod", "staging"}
    table = loaded["Resources"]["CustomersTable"]["Properties"]
    assert table["DeletionProtectionEnabled"] == {"Fn::If": ["IsProtected", True, False]}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]["Fn::If"][0] == "IsProtected"
    functions = loaded["Resources"]
    for name in ("StreamFanoutFunction", "WebhookDeliveryFunction"):
        assert "ReservedConcurrentExecutions" in functions[name]["Properties"], name


def test_every_function_is_watched_by_an_alarm_and_every_alarm_notifies_the_topic():
    """A route's function failing or throttled is an API 5xx, which the API's 5xx-rate alarm watches;
    the stream and queue functions answer no request, so each has its own errors and throttles alarms."""
    alarms = template.resources("AWS::CloudWatch::Alarm")
    watched: dict[str, set[str]] = {}
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}],
                                                     {"Ref": "AWS::NoValue"}]}
        for dimension in props.get("Dimensions", []):
            if dimension["Name"] == "FunctionName":  # !Ref X, or !Sub "${X}" where Fn::ForEach makes it
                value = dimension["Value"]
                if "Ref" in value:
                    function = value["Ref"]
                else:
                    sub = re.fullmatch(r"\$\{(\w+)\}", value["Fn::Sub"])
                    assert sub is not None, value
                    function = sub[1]
                watched.setdefault(function, set()).add(props["MetricName"])
    for name, function in template.functions().items():
        if not function.routes:
            assert {"Errors", "Throttles"} <= watched.get(name, set()), f"{name} lacks an errors or throttles alarm"
    names = {str(a["Properties"]["AlarmName"]["Fn::Sub"]) for a in alarms.values()}
    for expected in ("api-5xx-rate", "api-latency-p99", "stream-iterator-age", "stream-failures-not-empty",
                     "webhook-dead-letters-not-empty", "webhook-failure-rate"):
        assert any(n.endswith(expected) for n in names), expected
    assert template.resources("AWS::CloudWatch::Dashboard")


def _without_credentials(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"), SAM_CLI_TELEMETRY="0",
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    return env


def test_a_deploy_without_credentials_fails_fast_and_says_what_to_do(tmp_path):
    started = time.monotonic()
    preflight = subprocess.run([sys.executable, "-m", "customers_admin.preflight", "--stage", "staging"],
                               check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
                               env=_without_credentials(tmp_path))
    assert preflight.returncode == 2 and "No AWS credentials" in preflight.stderr
    assert "customers-api-staging" in preflight.stderr and "AWS_PROFILE" in preflight.stderr
    deploy = subprocess.run([str(tool(".venv-sam", "sam")), "deploy", "--config-env", "dev", "--no-progressbar"],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=_without_credentials(tmp_path))
    assert deploy.returncode != 0 and "Unable to locate credentials" in deploy.stdout + deploy.stderr
    assert time.monotonic() - started < 120  # the timeout above would have failed it: no hang on the network


def test_preflight_passes_with_credentials_without_calling_aws(tmp_path):
    env = {**_without_credentials(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}
    result = subprocess.run([sys.executable, "-m", "customers_admin.preflight", "--stage", "dev"],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0 and "customers-api-dev" in result.stdout


def test_no_handler_imports_the_xray_sdk_or_the_openapi_machinery():
    """Cold start: tracing is Lambda's own (Tracing: PassThrough), so the X-Ray SDK must not load; the
    OpenAPI parameter classes are for `make openapi` only."""
    code = (
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'layers' / 'core' / 'python')!r})\n"
        f"for n, p in {[(n, str(f.code_dir / 'app.py')) for n, f in template.functions().items()]!r}:\n"
        "    spec = importlib.util.spec_from_file_location(n, p)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('aws_xray_sdk', "
        "'aws_lambda_powertools.event_handler.openapi.params', 'email_validator'))))\n"
    )
    env = {**os.environ, "TABLE_NAME": "cold-start", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                            check=True)
    assert result.stdout.strip() == "[]", result.stdout
