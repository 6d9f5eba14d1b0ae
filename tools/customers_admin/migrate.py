"""The `import` and `export` subcommands of customers-admin (api.md §12): their arguments, and the
target each run writes to or reads from.

    customers-admin [--local | --stack S | --table T | --api URL --key K] import --format F FILE
        [--dry-run] [--on-conflict skip|update|fail] [--resume]
    customers-admin [--local | --stack S | --table T | --api URL --key K] export --format ndjson|csv [--out FILE]

With --local, --stack or --table the account and mode are `--account` (for --local, the local stack's
own account by default) and `--mode` (test by default); over --api they are the key's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from customers_admin.targets import Target

GROUPS = ("import", "export")
# Spelt out here so that customers-admin's other commands do not load the import's modules
# (tests/unit/test_import_formats.py checks they match customers_admin.formats.FORMATS).
IMPORT_FORMATS = ("billstack", "cstar", "evm", "lunipay", "ndjson", "stellartools", "stripe")
EXPORT_FORMATS = ("ndjson", "csv")
ON_CONFLICT = ("skip", "update", "fail")


class UsageError(Exception):
    pass


def add_parsers(groups: Any) -> None:
    """Register `import` and `export` on customers-admin's subcommands."""
    imp = groups.add_parser("import", help="import customers from another system's export (api.md §12)",
                            description="Import customers from a file: a JSON array, a list-response page or "
                                        "JSON lines. The last line on stdout is the summary JSON.")
    imp.add_argument("--format", required=True, choices=IMPORT_FORMATS, dest="format_name")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing, print a report")
    imp.add_argument("--on-conflict", choices=ON_CONFLICT, default="skip",
                     help="an existing email or external_id: skip the record (default), update that customer, "
                          "or fail the record")
    imp.add_argument("--resume", action="store_true", help="skip the records the checkpoint file says are done")
    imp.add_argument("--checkpoint", type=Path, help="the checkpoint file (default FILE.checkpoint)")
    imp.add_argument("--failures", type=Path, help="the failures file, JSON lines (default FILE.failures.jsonl)")
    imp.add_argument("--concurrency", type=int, default=8, help="batches of 100 written at once (default 8)")
    _scope_arguments(imp)

    exp = groups.add_parser("export", help="export every customer of an account and mode (api.md §12)")
    exp.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="format_name")
    exp.add_argument("--out", type=Path, help="write here (default: stdout; the summary then goes to stderr)")
    _scope_arguments(exp)


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", help="the account (acct_…) with --local/--stack/--table; "
                                          "--local defaults to the local stack's own")
    parser.add_argument("--mode", choices=("test", "live"), default="test",
                        help="test (default) or live, with --local/--stack/--table")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="draw progress on stderr (default: when stderr is a terminal)")


def target_for(args: argparse.Namespace, table_factory: Callable[[argparse.Namespace], Any]) -> Target:
    from customers_admin.targets import HttpTarget, TableTarget  # noqa: PLC0415 — only for import/export

    if getattr(args, "api", None):
        if not getattr(args, "key", None):
            raise UsageError("--api needs --key (a secret key of the account and mode to import into)")
        return HttpTarget(args.api, args.key)
    table = table_factory(args)
    account = args.account
    if not account and args.local:
        account = json.loads(Path(args.stack_file).read_text())["account_id"]
    if not account:
        raise UsageError("say which account: --account acct_…")
    from customers_core.dal import api_keys as accounts  # noqa: PLC0415

    if accounts.get_account(table, account) is None:
        raise UsageError(f"no such account: {account}")
    where = "the local stack" if args.local else f"table {table.name}"
    return TableTarget(table, account, args.mode == "live", f"{where} ({account}, {args.mode})",
                       dynamodb_local=bool(args.local))


def main(args: argparse.Namespace, table_factory: Callable[[argparse.Namespace], Any]) -> int:
    """Run `import` or `export`; 0 when nothing failed, 1 when some record did (or would), 2 on a
    usage error."""
    from customers_core.logic.api_keys import AdminError  # noqa: PLC0415

    from customers_admin import exporting, importing  # noqa: PLC0415 — only for import/export
    from customers_admin.reading import FileError  # noqa: PLC0415

    try:
        target = target_for(args, table_factory)
        if args.group == "export":
            drawn = sys.stderr.isatty() if args.progress is None else args.progress
            exporting.run(target, args.format_name, args.out, progress=drawn, total=target.count() if drawn else None)
            return 0
        if not args.file.is_file():
            raise UsageError(f"no such file: {args.file}")
        options = importing.Options(args.file, args.format_name, on_conflict=args.on_conflict,
                                    dry_run=args.dry_run, resume=args.resume, checkpoint=args.checkpoint,
                                    failures=args.failures, concurrency=args.concurrency, progress=args.progress)
        summary = importing.run(target, options)
    except (UsageError, AdminError, FileError, importing.CheckpointMismatch) as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `… | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 1 if summary.counts["failed"] else 0
