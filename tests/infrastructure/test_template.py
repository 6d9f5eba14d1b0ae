"""The template validates, lints clean (with the serverless rules) and builds for arm64 offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from local_stack import template

from tests.conftest import EVENTS, ROOT
from tests.infrastructure.conftest import run_tool, tool


def test_sam_validate_lint_is_clean():
    result = run_tool([str(tool(".venv-sam", "sam")), "validate", "--lint", "--region", "us-east-1"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_with_serverless_rules_is_clean():
    result = run_tool([str(tool(".venv-sam", "cfn-lint")), "template.yaml", "-a", "cfn_lint_serverless.rules"])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sam-cache")


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_sam_build_succeeds_for_every_stage_on_arm64_without_a_container(tmp_path: Path, build_cache: Path,
                                                                         stage: str):
    build_dir = tmp_path / "build"
    result = run_tool([str(tool(".venv-sam", "sam")), "build", "--config-env", stage, "--build-dir", str(build_dir),
                       "--cached", "--cache-dir", str(build_cache)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    layer = build_dir / "CoreLayer" / "python"
    assert (layer / "customers_core" / "api.py").exists()
    assert list(layer.glob("pydantic_core/*aarch64*.so")), "the layer's compiled wheels are not arm64"
    for name, fn in template.functions().items():
        assert (build_dir / name / fn.handler.split(".")[0]).with_suffix(".py").exists()
    built = yaml.load((build_dir / "template.yaml").read_text(), Loader=template._CfnLoader)
    assert built["Globals"]["Function"]["Architectures"] == ["arm64"]


def test_every_function_has_an_events_sample():
    for fn in template.functions().values():
        assert (EVENTS / f"{fn.code_dir.name}.json").exists(), f"events/{fn.code_dir.name}.json is missing"


def test_every_function_uses_python_313_on_arm64_and_the_core_layer():
    globals_ = template.load()["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13" and globals_["Architectures"] == ["arm64"]
    assert globals_["Layers"] == [{"Ref": "CoreLayer"}]
    assert (ROOT / "layers" / "core" / "python" / "customers_core").is_dir()


def test_no_function_may_touch_the_table_with_a_wildcard_action():
    for name, res in template.resources("AWS::Serverless::Function").items():
        for policy in res["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not any(a.endswith("*") for a in actions), f"{name} has a wildcard action"


def test_samconfig_has_dev_staging_and_prod_with_valid_stages():
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    allowed = template.load()["Parameters"]["Stage"]["AllowedValues"]
    for stage in ("dev", "staging", "prod"):
        deploy = config[stage]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"customers-api-{stage}"
        assert f"Stage={stage}" in deploy["parameter_overrides"] and stage in allowed


def test_the_default_routes_method_table_matches_the_template():
    import re

    from local_stack.runtime import load_environment

    module = load_environment(template.functions()["RouteNotFoundFunction"])
    declared: dict[str, set[str]] = {}
    for fn in template.functions().values():
        for route in fn.routes:
            if route.path != "$default":
                declared.setdefault(re.sub(r"\{\w+\}", "[^/]+", route.path), set()).add(route.method)
    assert {path: set(methods) for path, methods in module.ROUTES.items()} == declared


def test_the_generated_routes_module_is_current():
    """Routes are declared in the template alone; customers_core/routes.py is made from it."""
    assert template.ROUTES_MODULE.read_text() == template.routes_module(), "run `make routes`"


def test_only_the_local_stack_may_allow_http_webhooks():
    """The flag that admits http://127.0.0.1 endpoints is set by the local stack alone, never deployed."""
    assert "WEBHOOK_ALLOW_LOCAL_HTTP" not in (ROOT / "template.yaml").read_text()
    assert "WEBHOOK_ALLOW_LOCAL_HTTP" not in (ROOT / "samconfig.toml").read_text()


def test_only_create_and_rotate_encrypt_and_only_delivery_decrypts_webhook_secrets():
    """Create and rotate may decrypt only what idempotency stored for them: a KMS encryption context
    with purpose idempotent-answer, which an endpoint's own secret never has."""
    from customers_core.idempotency import SEALED_PURPOSE

    kms_actions: dict[str, set[str]] = {}
    for logical_id, resource in template.resources("AWS::Serverless::Function").items():
        for policy in resource["Properties"].get("Policies") or []:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                for action in actions:
                    if action.startswith("kms:"):
                        condition = (statement.get("Condition") or {}).get("StringEquals") or {}
                        purpose = condition.get("kms:EncryptionContext:purpose")
                        kms_actions.setdefault(logical_id, set()).add(f"{action}({purpose})" if purpose else action)
    answer = f"kms:Decrypt({SEALED_PURPOSE})"
    assert kms_actions == {"CreateWebhookEndpointFunction": {"kms:Encrypt", answer},
                           "RotateWebhookSecretFunction": {"kms:Encrypt", answer},
                           "WebhookDeliveryFunction": {"kms:Decrypt"}}


def test_every_route_authenticates_and_counts_its_callers_requests_and_the_edge_policy_is_narrow():
    """Every route's function reads API-key items (authentication) and updates the account's rate
    items (the per-account limit), and the shared policy allows nothing else."""
    for logical_id, resource in template.resources("AWS::Serverless::Function").items():
        routed = any(e["Type"] == "HttpApi" for e in (resource["Properties"].get("Events") or {}).values())
        policies = resource["Properties"].get("Policies") or []
        assert ({"Ref": "ApiEdgePolicy"} in policies) == routed, logical_id
    policy = template.resources("AWS::IAM::ManagedPolicy")["ApiEdgePolicy"]["Properties"]["PolicyDocument"]
    table = {"Fn::GetAtt": ["CustomersTable", "Arn"]}
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table,
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["APIKEY#*"]}}},
        {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": table,
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ACCT#*#RATE"]}}}]
    from customers_core import keys

    assert keys.api_key_lookup("abc")["pk"] == "APIKEY#abc"
    assert keys.rate_window(keys.tenant("acct_x", True), "read", 1)["pk"] == "ACCT#acct_x#L#RATE"
