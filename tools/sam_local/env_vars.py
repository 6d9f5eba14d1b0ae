"""`python -m sam_local.env_vars`: the `--env-vars` file that aims `sam local invoke` and `sam local
start-api` at the running local stack (`make run`), and the events/ samples' API key in its table.

SAM passes a function only the variables template.yaml declares for it (samcli/local/lambdafn/
env_vars.py), so the file sets those: the Globals' and each function's own, resolved as the local
stack resolves them (its table, queues and KMS key, from .local/stack.json), and the endpoints boto3
reads (AWS_ENDPOINT_URL_DYNAMODB, _SQS, _KMS), which the template declares empty for this purpose.
The container reaches the stack's 127.0.0.1 ports at the Docker bridge's gateway address
(sam_local.prepare sets that up), so every URL here names that address. Credentials and region are
SAM's own (`region = "us-east-1"` in samconfig.toml; fake keys when none are configured), which
DynamoDB Local and moto accept.

The samples in events/ carry a test-mode key (`Authorization: Bearer sk_test_SAMPLE…`) of a sample
account; it is stored in the stack's table (as customers-admin would store a key: its SHA-256 only),
so `sam local invoke CreateCustomerFunction -e events/create_customer.json` is authenticated."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from local_stack import template
from local_stack.stack import STAGE

ROOT = template.ROOT
STACK_FILE = ROOT / ".local" / "stack.json"
ENDPOINT_VARIABLES = {"dynamodb": "AWS_ENDPOINT_URL_DYNAMODB", "sqs": "AWS_ENDPOINT_URL_SQS",
                      "kms": "AWS_ENDPOINT_URL_KMS"}
# The account the events/ samples' key belongs to (tests/infrastructure/test_events_samples.py seeds
# the same key, account, customer and endpoint into moto).
SAMPLE_ACCOUNT = "acct_01JSAMPLE0000000000000000A"


def rehost(url: str, host: str) -> str:
    """`url` with its host replaced (the port and path kept)."""
    parts = urlsplit(url)
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def env_vars(info: dict[str, Any], host: str) -> dict[str, dict[str, str]]:
    """The --env-vars document for a stack described as stack.json describes it (table_name,
    dynamodb_endpoint, sqs_endpoint, queues, kms_key_id), its endpoints reached at `host`."""
    queues = {logical_id: rehost(url, host) for logical_id, url in info["queues"].items()}
    refs = {**template.parameter_defaults(), "Stage": STAGE, template.table_logical_id(): info["table_name"],
            **queues, **dict.fromkeys(template.kms_keys(), info["kms_key_id"])}
    if os.environ.get("LOG_LEVEL"):
        refs["LogLevel"] = os.environ["LOG_LEVEL"]
    sqs = rehost(info["sqs_endpoint"], host)
    endpoints = {"dynamodb": rehost(info["dynamodb_endpoint"], host), "sqs": sqs, "kms": sqs}  # moto serves KMS
    document = {"Parameters": {**template.global_environment(refs),
                               **{ENDPOINT_VARIABLES[service]: url for service, url in endpoints.items()}}}
    for logical_id, function in template.functions().items():
        own = template.resolve_environment(function.environment, refs)
        if own:
            document[logical_id] = own
    return document


def undeclared_endpoints() -> list[str]:
    """The endpoint variables template.yaml does not declare for every function (SAM would drop them)."""
    declared = set((template.load().get("Globals", {}).get("Function", {}).get("Environment") or {})
                   .get("Variables") or {})
    return [name for name in ENDPOINT_VARIABLES.values() if name not in declared]


def sample_secret() -> str:
    """The API key the events/ samples send."""
    event = json.loads((ROOT / "events" / "create_customer.json").read_text())
    return str(event["headers"]["authorization"].removeprefix("Bearer "))


def store_sample_key(info: dict[str, Any]) -> None:
    """The samples' key, stored in the stack's table for the sample account (test mode, every scope)."""
    from customers_core import keys  # noqa: PLC0415 — only when a stack is there to write to
    from customers_core.auth import SCOPES  # noqa: PLC0415
    from customers_core.dal.table import Table  # noqa: PLC0415
    from customers_core.logic.api_keys import hash_secret  # noqa: PLC0415
    from local_stack.stack import aws_client  # noqa: PLC0415

    table = Table(info["table_name"], aws_client("dynamodb", info["dynamodb_endpoint"]))
    table.put({**keys.api_key_lookup(hash_secret(sample_secret())), "entity": "api_key",
               "account_id": SAMPLE_ACCOUNT, "livemode": False, "scopes": list(SCOPES),
               "key_id": "key_sample", "revoked": False})


def stack_running(info: dict[str, Any]) -> bool:
    """DynamoDB Local of that stack accepts connections (stack.json outlives a crashed stack)."""
    parts = urlsplit(info["dynamodb_endpoint"])
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=2):
            return True
    except OSError:
        return False


def write(stack_file: Path, out: Path, *, sample_key: bool = True) -> Path:
    from sam_local.prepare import gateway_address  # noqa: PLC0415 — asks Docker

    info = json.loads(stack_file.read_text())
    out.write_text(json.dumps(env_vars(info, gateway_address()), indent=2) + "\n")
    if sample_key:
        store_sample_key(info)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sam_local.env_vars", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-file", type=Path, default=STACK_FILE, help="the running stack's stack.json")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: sam-env.json beside it)")
    parser.add_argument("--if-running", action="store_true", help="do nothing (and succeed) when no stack runs")
    parser.add_argument("--no-sample-key", action="store_true", help="do not store the events/ samples' key")
    args = parser.parse_args(argv)
    running = args.stack_file.exists() and stack_running(json.loads(args.stack_file.read_text()))
    if not running:
        if args.if_running:
            return 0
        print(f"sam-local: no local stack runs ({args.stack_file} is missing or stale): start one with `make run`",
              file=sys.stderr)
        return 1
    missing = undeclared_endpoints()
    if missing:
        print(f"sam-local: template.yaml does not declare {', '.join(missing)} in Globals.Function.Environment; "
              "SAM passes only declared variables, so the functions would call AWS", file=sys.stderr)
        return 1
    out = write(args.stack_file, args.out or args.stack_file.with_name("sam-env.json"),
                sample_key=not args.no_sample_key)
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    key = "" if args.no_sample_key else " (and the events/ samples' key is in its table)"
    print(f"==> sam-local: {shown} aims sam local at the stack of {args.stack_file}{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
