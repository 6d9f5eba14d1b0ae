"""`sam local invoke` and `sam local start-api`, for real: every function of template.yaml run by SAM CLI
in a Lambda container (arm64: under QEMU on an x86_64 machine) against a running local stack.

- Every function is invoked once with its events/ sample, two at a time, each against its own copy of
  the samples' data. The data is seeded into the stack's DynamoDB Local (its KMS key and queues into
  the stack's moto) by the very fixture the in-process test uses (test_events_samples.py), and each
  answer is checked by that test's expectations: what `sam local invoke -e` answers is what the
  in-process imitation answers. The delivery sample's POST goes out for real (to the sample's host,
  unreachable here); its check is the batch response and the attempt recorded on the delivery.
- `sam local start-api` creates and retrieves a customer with the stack's API key, and refuses a
  request without one.
- The README's `sam local invoke` block runs as written, in a folder laid out like the checkout.

`make sam-local` (part of `make test`) prepares Docker, emulation and the base image; without them
every test here fails, saying what is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from customers_core import keys
from customers_core.dal import webhooks as webhooks_dal
from customers_core.dal.table import Table
from local_stack import template
from local_stack.stack import aws_client
from sam_local import env_vars, prepare, run

from tests.conftest import EVENTS, ROOT, clear_caches, function_environment, load_event
from tests.e2e.conftest import local_stack
from tests.infrastructure import test_events_samples as samples

# The first invocation test's setup runs all of them (minutes under emulation): beyond the 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SAMPLE_TABLE = "customers-api-dev"  # the name the in-process fixture seeds
# Invocations at once: a cold start under emulation keeps one core busy for 8-20 s; these machines have two.
WORKERS = 2
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def ready() -> None:
    """Docker, emulation and the base image are there, and the template lets SAM reach the stack."""
    missing = prepare.problems()
    if missing:
        pytest.fail("sam local cannot run here: " + "; ".join(missing) + ". `make sam-local` sets it up "
                    "(`make test` runs it first).")
    undeclared = env_vars.undeclared_endpoints()
    if undeclared:
        pytest.fail(f"template.yaml does not declare {', '.join(undeclared)} (Globals.Function.Environment): SAM "
                    "passes a function only the variables its template declares, so the functions would call AWS")
    if run.emulated() and run.timeout_parameter() is None:
        pytest.fail("the functions run under emulation here, where a cold start takes 8-20 s, and the template's "
                    "Globals.Function.Timeout is a literal: it must be a parameter that local runs can raise")


@pytest.fixture(scope="module")
def built(ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """template.yaml built (as `sam build` builds it: arm64, no container); its built template."""
    build_dir = tmp_path_factory.mktemp("sam-local") / "build"
    result = run.build(build_dir, build_dir.parent / "cache")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir / "template.yaml"


@pytest.fixture(scope="module")
def stack(ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("stack"), RATE_LIMIT_PER_SECOND="1000000") as info:
        yield info


def _aim_boto3_at(stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's default boto3 clients (the seeding fixture's) talk to the stack."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ENDPOINT_URL_DYNAMODB": stack["dynamodb_endpoint"], "AWS_ENDPOINT_URL_SQS":
                        stack["sqs_endpoint"], "AWS_ENDPOINT_URL_KMS": stack["sqs_endpoint"],
                        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                        "AWS_DEFAULT_REGION": run.REGION}.items():
        monkeypatch.setenv(name, value)
    function_environment(monkeypatch)
    clear_caches()


def _copy_table(ddb: Any, source: str, target: str) -> None:
    ddb.create_table(**template.table_definition(target))
    items = [item for page in ddb.get_paginator("scan").paginate(TableName=source) for item in page["Items"]]
    for at in range(0, len(items), 25):
        ddb.batch_write_item(RequestItems={target: [{"PutRequest": {"Item": item}} for item in items[at:at + 25]]})


@pytest.fixture(scope="module")
def invoked(built: Path, stack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
            ) -> dict[str, tuple[str, run.Invocation | None]]:
    """Every function invoked once by `sam local invoke` with its sample, WORKERS at a time, each
    against its own copy of the samples' data: seeded by test_events_samples' own fixture (here into
    the stack's DynamoDB Local and moto instead of moto in-process), then copied to one table per
    function. Returns, per function, its table and what SAM answered (None: no events/ sample)."""
    folder = tmp_path_factory.mktemp("invocations")
    ddb = aws_client("dynamodb", stack["dynamodb_endpoint"])
    with pytest.MonkeyPatch.context() as monkeypatch:
        _aim_boto3_at(stack, monkeypatch)
        samples.seeded.__wrapped__(None, monkeypatch)  # type: ignore[attr-defined]
        # The queues and KMS key the seeding made, under the logical ids the functions name them by.
        queues = {**stack["queues"]}
        for function in template.functions().values():
            for name, value in function.environment.items():
                if isinstance(value, dict) and "Ref" in value and name.endswith("_QUEUE_URL") and name in os.environ:
                    queues[value["Ref"]] = os.environ[name]
        kms_key_id = os.environ["WEBHOOK_KEY_ID"]
        clear_caches()
    gateway = prepare.gateway_address()
    jobs = {}
    for n, (logical_id, function) in enumerate(sorted(template.functions().items())):
        table = f"sam-local-{n}-{function.code_dir.name.replace('_', '-')}"
        _copy_table(ddb, SAMPLE_TABLE, table)
        aimed = folder / f"{logical_id}.json"
        info = {**stack, "table_name": table, "queues": queues, "kms_key_id": kms_key_id}
        aimed.write_text(json.dumps(env_vars.env_vars(info, gateway)))
        jobs[logical_id] = (table, EVENTS / f"{function.code_dir.name}.json", aimed)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = {logical_id: pool.submit(run.invoke, built, logical_id, event, aimed) if event.exists() else None
                   for logical_id, (_, event, aimed) in jobs.items()}
        return {logical_id: (jobs[logical_id][0], future.result() if future else None)
                for logical_id, future in answers.items()}


def _delivery_attempted(answer: Any, table: Table) -> bool:
    """The delivery sample's message was handled (the batch reports no failure) and its attempt, a real
    POST to the sample's endpoint, is recorded on the delivery."""
    message = json.loads(load_event("webhook_delivery")["Records"][0]["body"])
    attempts = webhooks_dal.list_attempts(table, keys.tenant(message["account_id"], False), message["event_id"],
                                          message["endpoint_id"])
    return answer == {"batchItemFailures": []} and len(attempts) == 1


@pytest.mark.parametrize("logical_id", sorted(template.functions()))
def test_sam_local_invoke_runs_the_function_with_its_sample_against_the_local_stack(
        invoked: dict[str, tuple[str, run.Invocation | None]], stack: dict[str, Any], logical_id: str):
    table_name, result = invoked[logical_id]
    assert result is not None, f"events/{template.functions()[logical_id].code_dir.name}.json is missing"
    assert result.answer is not None, result.why_not()
    if logical_id == "WebhookDeliveryFunction":  # the in-process check counts its fake POSTs
        table = Table(table_name, aws_client("dynamodb", stack["dynamodb_endpoint"]))
        assert _delivery_attempted(result.answer, table), (result.answer, result.stderr[-3000:])
        return
    assert logical_id in samples.EXPECTATIONS, f"no expectation for {logical_id} in test_events_samples.EXPECTATIONS"
    assert samples.EXPECTATIONS[logical_id](result.answer), (result.answer, result.stderr[-3000:])


def test_sam_local_start_api_creates_and_retrieves_a_customer_with_an_api_key(
        built: Path, stack: dict[str, Any], tmp_path: Path):
    import requests

    aimed = env_vars.write(Path(stack["data_dir"]) / "stack.json", tmp_path / "sam-env.json", sample_key=False)
    with run.start_api(built, aimed, tmp_path / "start-api.log") as api:
        key = {"Authorization": f"Bearer {stack['secret_key']}"}
        created = requests.post(f"{api}/v1/customers", headers=key, timeout=300,
                                data={"email": "sam.local@example.com", "name": "Sam Local", "metadata[via]": "sam"})
        assert created.status_code == 200, created.text
        customer = created.json()
        assert customer["object"] == "customer" and customer["id"].startswith("cus_")
        retrieved = requests.get(f"{api}/v1/customers/{customer['id']}", headers=key, timeout=300)
        assert retrieved.status_code == 200, retrieved.text
        assert retrieved.json() == customer
        refused = requests.get(f"{api}/v1/customers/{customer['id']}", timeout=300)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_missing", refused.text
    # The same customer through the local stack's own API: one table behind both.
    through_stack = requests.get(f"{stack['api_url']}/v1/customers/{customer['id']}", headers=key, timeout=30)
    assert through_stack.json() == customer


def readme_sam_block() -> str:
    blocks = re.findall(r"^```sh\n(sam build.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "README.md has one sh block starting with `sam build`"
    return str(blocks[0])


def test_the_readme_sam_local_invoke_example_runs_as_written_against_the_local_stack(
        ready: None, stack: dict[str, Any], tmp_path: Path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copyfile(template.TEMPLATE, checkout / "template.yaml")  # SAM resolves paths from its real location
    for name in ("samconfig.toml", "functions", "layers", "events", ".venv", ".venv-sam"):
        (checkout / name).symlink_to(ROOT / name)
    (checkout / ".local").mkdir()
    # What `make sam-local` does with make run's stack up: the env-vars file, and the samples' key.
    assert env_vars.main(["--stack-file", str(Path(stack["data_dir"]) / "stack.json"),
                          "--out", str(checkout / ".local" / "sam-env.json")]) == 0
    path = os.pathsep.join([str(ROOT / ".venv-sam" / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))},
           "PATH": path, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_sam_block()], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["statusCode"] == 200, (answer, done.stderr[-3000:])
    assert json.loads(answer["body"])["email"] == "ada@example.com"
