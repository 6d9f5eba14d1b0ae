"""customers-admin — accounts and API keys, printed as JSON (a new key's secret exactly once).

    customers-admin --local accounts create --name "Acme"
    customers-admin --local keys create --account acct_… --mode test [--scope customers:read ...]
    customers-admin --table customers-api-prod --region eu-west-1 keys list --account acct_…
    customers-admin --stack customers-api-prod keys revoke key_…
    customers-admin --local import --format cstar customers.json [--dry-run] [--on-conflict update] [--resume]
    customers-admin --api https://… --key sk_live_… export --format ndjson --out customers.ndjson
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from customers_core.dal.table import Table
from customers_core.logic import api_keys

from customers_admin import migrate

ROOT = Path(__file__).resolve().parents[2]


def default_stack_file() -> Path:
    """The running local stack's stack.json: the one under the working folder's .local/ (where the
    README's commands run), else this checkout's."""
    here = Path.cwd() / ".local" / "stack.json"
    return here if here.exists() else ROOT / ".local" / "stack.json"


def _table(args: argparse.Namespace) -> Table:
    import boto3  # noqa: PLC0415 — only once a command runs
    from botocore.config import Config  # noqa: PLC0415

    # import and export send many large requests, which DynamoDB checks itself: botocore's own check of
    # every parameter was a quarter of an import's CPU (docs/benchmarks.md, "Import into the local stack").
    config = Config(parameter_validation=args.group not in migrate.GROUPS)
    if args.local:
        stack_file = Path(args.stack_file)
        if not stack_file.exists():
            raise api_keys.AdminError(f"{stack_file} not found: start the local stack with `make run` first")
        stack = json.loads(stack_file.read_text())
        from local_stack.stack import REGION  # noqa: PLC0415 — only for --local

        return Table(stack["table_name"], boto3.client(  # type: ignore[call-overload]
            "dynamodb", endpoint_url=stack["dynamodb_endpoint"], region_name=REGION, config=config,
            aws_access_key_id="local", aws_secret_access_key="local"))  # noqa: S106 — not a secret
    session = boto3.session.Session(region_name=args.region)
    name = args.table
    if args.stack:
        outputs = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]["Outputs"]
        name = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "TableName")
    if not name:
        raise api_keys.AdminError("say where: --local, --table NAME or --stack STACK_NAME")
    return Table(name, session.client("dynamodb", config=config))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="customers-admin", description="Manage accounts and API keys.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local stack (reads .local/stack.json)")
    where.add_argument("--table", help="a deployed stage's table name")
    where.add_argument("--stack", help="a deployed stage's CloudFormation stack (reads its TableName output)")
    where.add_argument("--api", help="the API's base URL, for import/export over HTTP (with --key)")
    parser.add_argument("--key", help="a secret key for --api")
    parser.add_argument("--region", help="AWS region of --table/--stack")
    parser.add_argument("--stack-file", default=str(default_stack_file()), help=argparse.SUPPRESS)
    groups = parser.add_subparsers(dest="group", required=True)

    accounts = groups.add_parser("accounts").add_subparsers(dest="action", required=True)
    create_account = accounts.add_parser("create", help="create an account (a tenant)")
    create_account.add_argument("--name", required=True)

    key_cmds = groups.add_parser("keys").add_subparsers(dest="action", required=True)
    create_key = key_cmds.add_parser("create", help="create a key; prints its secret once")
    create_key.add_argument("--account", required=True)
    create_key.add_argument("--mode", choices=["test", "live"], required=True)
    create_key.add_argument("--scope", action="append", choices=api_keys.SCOPES_CHOICES,
                            help="restrict the key (rk_…) to this scope; repeat for more")
    list_keys = key_cmds.add_parser("list", help="an account's keys (never their secrets)")
    list_keys.add_argument("--account", required=True)
    revoke = key_cmds.add_parser("revoke", help="revoke a key (effective within 60 s)")
    revoke.add_argument("key_id")
    migrate.add_parsers(groups)  # import, export (api.md §12)
    return parser


def run(args: argparse.Namespace) -> Any:
    table = _table(args)
    match (args.group, args.action):
        case ("accounts", "create"):
            return api_keys.create_account(table, args.name)
        case ("keys", "create"):
            return api_keys.create_key(table, args.account, args.mode, args.scope)
        case ("keys", "list"):
            return {"object": "list", "data": api_keys.list_keys(table, args.account)}
        case ("keys", "revoke"):
            return api_keys.revoke_key(table, args.key_id)
    raise api_keys.AdminError(f"unknown command {args.group} {args.action}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.group in migrate.GROUPS:
        return migrate.main(args, _table)
    try:
        result = run(args)
    except api_keys.AdminError as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False), file=sys.stderr)
        return 2
    # Real characters (an account named "Café…" prints as such), not \u escapes.
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
