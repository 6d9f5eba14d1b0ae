"""`customers-admin import` into a fresh local stack (customers_admin.bench_import.measure): records per
second through the bulk path (`--local`) and through HTTP (`--api`), where the CPU goes, DynamoDB
Local's own write rates, and what bounds the import on DynamoDB Local, computed from the same run.
`python -m benchmarks --only import [--import-count N] --out docs/benchmarks.md` runs this section alone."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customers_admin import bench_import

from benchmarks import cost

# The section's heading for the default count; a run of another count names its own (heading()), and
# replace_section finds the section by what comes before the count.
HEADING = "## Import into the local stack: 10,000 records (`customers-admin import`)"
HEADING_PREFIX = HEADING.partition(" 10,000")[0]
COMMAND = ".venv/bin/python -m benchmarks --only import --out docs/benchmarks.md"
GOAL = 200  # records/s the import is meant to reach
WRITES = ("TransactWriteItems", "BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem")


def _filesystem(path: Path) -> str:
    """The type of the file system holding `path` (/proc/mounts: the longest mount point above it)."""
    resolved, best, kind = str(path.resolve()), "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        point = fields[1] if len(fields) > 2 else ""
        if point and (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def run(count: int, data_dir: Path | None = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Both targets and the engine's rates (bench_import.measure), in `data_dir` or a fresh temporary
    folder (on the system's temporary file system, as `make run`'s .local/ on this machine's disk)."""
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
            return run(count, Path(folder), log)
    started, clock = datetime.now(UTC), time.monotonic()
    measured = bench_import.measure(count, data_dir, ["local", "api"], True, 8,
                                    (lambda row: log(f"import: {json.dumps(row)}")) if log else None)
    return {**measured, "count": count, "filesystem": _filesystem(data_dir), "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(), "seconds": round(time.monotonic() - clock)}


def _when(report: dict[str, Any]) -> str:
    started = datetime.fromisoformat(report["started"]) if "started" in report else datetime.now(UTC)
    finished = datetime.fromisoformat(report["finished"]) if "finished" in report else started
    return f"{started:%Y-%m-%d} between {started:%H:%M} and {finished:%H:%M} UTC"


def bound(result: dict[str, Any]) -> list[str]:
    """What bounds the bulk path on DynamoDB Local, from one `--local` run's figures."""
    items = sum(n for op, n in result["dynamodb_items_per_record"].items() if op in WRITES)
    jvm_ms = result["cpu_ms_per_record"].get("dynamodb_local", 0.0)
    if not items or not jvm_ms:
        return []
    rate, goal_ms = result["records_per_second"], 1000 / GOAL
    ceiling, cores = 1000 / jvm_ms, jvm_ms * rate / 1000
    busiest, sqlite = result["jvm_busiest_thread"], result.get("jvm_sqlite_thread") or {}
    sqlite_ms = sqlite.get("cpu_ms_per_record") if sqlite.get("name") else None
    on_sqlite = (f", which took {sqlite_ms} ms per record here and was on a CPU {sqlite['busy']:.0%} of the "
                 "import's time" if sqlite_ms else "")
    reached = f", and this run reached {rate / ceiling:.0%} of it"
    if (cores > 1 or rate > ceiling) and sqlite_ms:
        reached = (f" if all the JVM's CPU were on that serial path; but here the JVM kept more than one core busy "
                   f"(its busiest thread: `{busiest['name']}`, {busiest['cpu_ms_per_record']} ms per record), so "
                   f"some ran beside it, and the firmer bound is the SQLite thread's: 1000 / {sqlite_ms} ms ≈ "
                   f"{1000 / sqlite_ms:,.0f} records/s")
    need = f"{jvm_ms / goal_ms:.1f}× less than measured" if jvm_ms > goal_ms else "as it is in this run"
    return [
        "",
        f"**What bounds the bulk path here.** Each record made the import write {items:.1f} items (the customer, "
        "its markers, index entries and search tokens, a share of a counter update). DynamoDB Local's JVM spent "
        f"{jvm_ms:.1f} ms of CPU per record during the import, {jvm_ms / items * 1000:,.0f} µs per item written, "
        f"and at {rate} records/s kept {cores:.2f} cores busy. DynamoDB Local locks for every write (`javap -c` "
        "on DynamoDBLocal.jar): PutItem takes the table's write lock (`LocalDBAccess.getLockForTable` → "
        "`WriteLockWithTimeout`), BatchWriteItem the table's read lock for each item (`ReadLockWithTimeout`), "
        "TransactWriteItems — the bulk path's call — the database's queue lock for the whole transaction "
        "(`beginTransaction`); and it runs all SQLite work, whatever the lock, on one thread "
        f"(`SQLiteQueue[shared-local-instance.db]`{on_sqlite}). So one table's writes are serial: the ceiling is "
        f"about 1000 / {jvm_ms:.1f} ms ≈ **{ceiling:,.0f} records/s** whatever the client does (more threads, "
        f"larger calls){reached}. The goal of {GOAL} records/s "
        f"would need the JVM's CPU per record under {goal_ms:.0f} ms ({need}). DynamoDB itself has no such lock; "
        "the import against AWS is not measured here.",
    ]


def render(report: dict[str, Any], command: str = COMMAND) -> list[str]:
    results, engine = report["results"], report["engine"]
    count = report.get("count") or (results[0]["records"] if results else 0)
    commands = {r["target"]: r["command"] for r in results}
    lines = [
        "", heading(count), "",
        f"Produced by `{command}` on {_when(report)}{f', in {report['seconds']} s' if 'seconds' in report else ''} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; the machine is "
        "shared, so each run shows its 1-minute load average).",
        "",
        f"A fresh local stack (`python -m local_stack`, as `make run` starts it, the per-account limit off, its "
        f"data on {report.get('filesystem', 'disk')}), a `cstar` page of {count:,} synthetic records "
        "(`customers_admin.samples`), imported into a new empty account for each target with the user's command, "
        "timed from start to exit (checking the file, then writing): "
        f"`{commands.get('local', 'customers-admin --local import …')}` (the bulk path: many records' items in "
        f"one TransactWriteItems) and `{commands.get('api', 'customers-admin --api URL --key KEY import …')}` "
        f"(HTTP: array creates of 100). Then it checks that the account holds exactly {count:,} customers and "
        f"waits for the stream to have made all {count:,} `customer.created` events (counted every "
        f"{bench_import.EVENTS_POLL_S} s, so that time is known to about that). The CPU time of each process comes "
        "from /proc: the import's, DynamoDB Local's JVM (and its busiest and SQLite threads), and the stack's "
        "own (its HTTP API and the stream poller that makes the events); the import's DynamoDB calls are counted "
        "by operation "
        "(`tools/customers_admin/bench_import.py`). The last table is DynamoDB Local's own write rates on the "
        "same stack after the imports: 4 threads, about 2,000 items of 200 bytes per call shape, in a partition "
        "of their own.",
        *bench_import.tables(results, engine),
    ]
    if not bench_import.complete(results):
        lines += ["", "**Not every record was imported in this run**: see the customers column."]
    bulk = next((r for r in results if r["target"] == "local"), None)
    return lines + (bound(bulk) if bulk else [])


def heading(count: int) -> str:
    return HEADING.replace("10,000", f"{count:,}")


def replace_section(document: str, section: list[str]) -> str:
    return cost.replace_section(document, section, HEADING_PREFIX)
