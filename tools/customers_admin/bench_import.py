"""How fast `customers-admin import` writes into a local stack: records per second for N records.

    python -m customers_admin.bench_import --count 10000 --data-dir /tmp/import-bench [--target local api]

It starts a fresh local stack in `--data-dir` (`python -m local_stack`, as `make run` does, with the
per-account limit off so the HTTP run measures the import, not the limit), writes a `cstar` page of N
synthetic records (`customers_admin.samples`), and for each target imports it into a new empty account
by running the command a user runs (`customers-admin --local …` — the bulk path — or `--api … --key
…`), timed from start to exit. It then checks that the account holds exactly N customers and waits for
the stream to have made every `customer.created` event (counted every 10 s). Prints one JSON line
per run and Markdown tables; the stack is stopped at the end. `measure()` is the same run for code:
`make bench` runs it (tools/benchmarks/bulk_import.py) for its section of docs/benchmarks.md.

Where the time goes: the CPU seconds of the import's process, of DynamoDB Local's JVM and of the
stack's own process (its HTTP API, and the stream poller that makes the events), during the import
and until the last event; and the DynamoDB calls the import made, by operation, per record (the
command runs in a process of this module that counts botocore's calls, then runs `customers-admin`'s
own `main` with the user's arguments).

`--engine` also measures what the stack's DynamoDB Local itself takes, whatever writes it: items per
second written by single PutItems, BatchWriteItems of 25, and TransactWriteItems of 25 and 100 (4
threads each, on the stack's table, in a partition of their own), with the JVM's CPU per item.
`--target` with no value skips the imports.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from local_stack.processes import stop as stop_process

from customers_admin import samples

SCRIPT = Path(sys.executable).parent / "customers-admin"
ROOT = Path(__file__).resolve().parents[2]
COUNTED = "--run-counting-calls"  # this module as customers-admin, counting DynamoDB calls into a file
EVENTS_POLL_S = 10  # how often run_one counts the events made (see there)
SQLITE_THREAD = "SQLiteQueue"  # DynamoDB Local's SQLite thread: SQLiteQueue[shared-local-instance.db], cut to 15
TARGETS = {"local": "`--local` (bulk path)", "api": "`--api` (HTTP array creates)"}


def _counting_cli(calls_file: Path, argv: list[str]) -> int:
    """`customers-admin ARGV`, with every DynamoDB call counted (by operation: calls, and items for
    the batch and transaction calls) into `calls_file` at the end."""
    import atexit  # noqa: PLC0415
    from collections import Counter  # noqa: PLC0415

    import boto3  # noqa: PLC0415

    from customers_admin import cli  # noqa: PLC0415

    calls: Counter[str] = Counter()
    items: Counter[str] = Counter()

    def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] += 1
        if operation == "TransactWriteItems":
            items[operation] += len(params.get("TransactItems", []))
        elif operation in ("BatchWriteItem", "BatchGetItem"):
            items[operation] += sum(len(v if isinstance(v, list) else v.get("Keys", []))
                                    for v in params.get("RequestItems", {}).values())
        else:
            items[operation] += 1

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb.*", count)
    atexit.register(lambda: calls_file.write_text(json.dumps({op: [calls[op], items[op]] for op in sorted(calls)})))
    return cli.main(argv)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    return _cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def _cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _threads(pid: int) -> dict[str, tuple[str, float]]:
    """Each thread of a process: its name (cut to 15 bytes by Linux) and CPU seconds (/proc)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[task.name] = ((task / "comm").read_text().strip(), _cpu_seconds_of(task / "stat"))
        except OSError:
            continue
    return out


def _busiest(before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]],
             prefix: str = "") -> tuple[str, float]:
    """The thread (of those whose name starts with `prefix`) that used the most CPU between two
    readings: its name and CPU seconds. DynamoDB Local runs every SQLite job on one thread
    (SQLITE_THREAD), which bounds what it writes; in a short run the JIT compiler may be busier."""
    used = {tid: (name, cpu - before.get(tid, (name, 0.0))[1]) for tid, (name, cpu) in after.items()
            if name.startswith(prefix)}
    return max(used.values(), key=lambda thread: thread[1], default=("", 0.0))


def _processes(stack_pid: int) -> dict[str, int]:
    """The local stack's processes: its own (HTTP API, stream poller), DynamoDB Local's JVM, moto."""
    found = {"stack": stack_pid}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if parent == stack_pid:
            found["dynamodb_local" if "DynamoDBLocal.jar" in command else "moto"] = int(entry.name)
    return found


def _cpu(processes: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in processes.items():
        try:
            out[name] = _cpu_seconds(pid)
        except OSError:
            out[name] = 0.0
    return out


def _start(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    data_dir.mkdir(parents=True, exist_ok=True)
    stack_file = data_dir / "stack.json"
    stack_file.unlink(missing_ok=True)
    log = (data_dir / "bench-stack.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "local_stack", "--port", "0", "--data-dir", str(data_dir),
                             "--quiet"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_SECOND": "0"})
    deadline = time.monotonic() + 120
    while not stack_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the local stack did not start; see " + str(data_dir / "bench-stack.log"))
        time.sleep(0.2)
    return proc, json.loads(stack_file.read_text())


def _admin(stack_file: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run([str(SCRIPT), "--local", "--stack-file", str(stack_file), *args], capture_output=True,
                          text=True, check=True)
    return dict(json.loads(done.stdout))


def _get(api: str, key: str, path: str, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{api}{path}", headers={"Authorization": f"Bearer {key}"}, params=params, timeout=60)
    response.raise_for_status()
    return dict(response.json())


def _events(api: str, key: str) -> int:
    count, params = 0, {"type": "customer.created", "limit": 100}
    while True:
        page = _get(api, key, "/v1/events", **params)
        count += len(page["data"])
        if not page["has_more"]:
            return count
        params["starting_after"] = page["data"][-1]["id"]


def run_one(stack: dict[str, Any], stack_file: Path, source: Path, target: str, count: int,
            concurrency: int, processes: dict[str, int]) -> dict[str, Any]:
    account = _admin(stack_file, "accounts", "create", "--name", f"bench {target}")["id"]
    key = _admin(stack_file, "keys", "create", "--account", account, "--mode", "test")["secret"]
    path = source.with_name(f"{source.stem}-{target}{source.suffix}")
    path.write_bytes(source.read_bytes())
    where = (["--api", stack["api_url"], "--key", key] if target == "api"
             else ["--local", "--stack-file", str(stack_file)])
    arguments = [*where, "import", "--format", "cstar", str(path), "--concurrency", str(concurrency),
                 "--no-progress", *(["--account", account] if target == "local" else [])]
    calls_file = path.with_suffix(".calls.json")
    command = [sys.executable, "-m", "customers_admin.bench_import", COUNTED, str(calls_file), *arguments]
    load_before = os.getloadavg()[0]
    cpu_before = _cpu(processes)
    threads_before = _threads(processes["dynamodb_local"])
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_import = _cpu(processes)
    threads_after = _threads(processes["dynamodb_local"])
    busiest = _busiest(threads_before, threads_after)
    sqlite = _busiest(threads_before, threads_after, SQLITE_THREAD)
    load_after = os.getloadavg()[0]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    total = _get(stack["api_url"], key, "/v1/customers", limit=1, **{"include[]": "total_count"})["total_count"]
    events_deadline = time.monotonic() + 900
    events = _events(stack["api_url"], key)
    while events < count and time.monotonic() < events_deadline:
        # Every 10 s, not more often: each poll pages through all the account's customer.created events
        # (a Query per 100), and those reads load DynamoDB Local, the very engine whose event making
        # this waits for. The time to the last event is therefore known to within about 10 s.
        time.sleep(EVENTS_POLL_S)
        events = _events(stack["api_url"], key)
    events_after = time.monotonic() - started
    cpu_events = _cpu(processes)
    calls = json.loads(calls_file.read_text()) if calls_file.exists() else {}
    shown = ["customers-admin", *where[:1], *(["URL", "--key", "KEY"] if target == "api" else []),
             "import", "--format", "cstar", path.name, "--concurrency", str(concurrency)]

    def per_record(seconds_used: float) -> float:
        return round(seconds_used / count * 1000, 2)

    importer = sum(getattr(children_after, f) - getattr(children_before, f) for f in ("ru_utime", "ru_stime"))
    return {"target": target, "records": count, "created": summary["created"], "failed": summary["failed"],
            "seconds": round(seconds, 1), "records_per_second": round(count / seconds, 1),
            "customers_in_account": total, "events_after_s": round(events_after, 1), "events": events,
            "load_average": [round(load_before, 1), round(load_after, 1)],
            # CPU milliseconds per record: during the import, and (the stack's) until the last event
            "cpu_ms_per_record": {"import": per_record(importer),
                                  **{name: per_record(cpu_import[name] - cpu_before[name]) for name in cpu_before}},
            "cpu_ms_per_record_until_events": {name: per_record(cpu_events[name] - cpu_before[name])
                                               for name in cpu_before},
            # DynamoDB Local's busiest thread, and its SQLite thread, during the import: CPU per record
            # and the share of the import's wall time it was busy (near 1: it is the bound)
            "jvm_busiest_thread": {"name": busiest[0], "cpu_ms_per_record": per_record(busiest[1]),
                                   "busy": round(busiest[1] / seconds, 2)},
            "jvm_sqlite_thread": {"name": sqlite[0], "cpu_ms_per_record": per_record(sqlite[1]),
                                  "busy": round(sqlite[1] / seconds, 2)},
            "dynamodb_calls_per_record": {op: round(n / count, 3) for op, (n, _) in calls.items()},
            "dynamodb_items_per_record": {op: round(n / count, 3) for op, (_, n) in calls.items()},
            "command": " ".join(shown), "exit": done.returncode}


def engine_capacity(stack: dict[str, Any], jvm_pid: int) -> list[dict[str, Any]]:
    """Items per second DynamoDB Local writes, by call shape (4 threads, ~2,000 items each), and the
    JVM's CPU: per item, and how many cores it kept busy."""
    import uuid  # noqa: PLC0415
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from customers_core.dal.table import serialize  # noqa: PLC0415
    from local_stack.stack import aws_client  # noqa: PLC0415

    client = aws_client("dynamodb", stack["dynamodb_endpoint"])
    name = stack["table_name"]

    def item() -> dict[str, Any]:
        return serialize({"pk": f"BENCH#{uuid.uuid4()}", "sk": "item", "payload": "x" * 200})

    shapes: list[tuple[str, int, Any]] = [
        ("PutItem", 1, lambda n: client.put_item(TableName=name, Item=item())),
        ("BatchWriteItem", 25, lambda n: client.batch_write_item(
            RequestItems={name: [{"PutRequest": {"Item": item()}} for _ in range(n)]})),
        ("TransactWriteItems", 25, lambda n: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": item()}} for _ in range(n)])),
        ("TransactWriteItems", 100, lambda n: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": item()}} for _ in range(n)])),
    ]
    out = []
    for label, size, call in shapes:
        calls = max(8, 2000 // size)
        jvm = _cpu({"jvm": jvm_pid})["jvm"]
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _, c=call, n=size: c(n), range(calls)))
        seconds = time.monotonic() - started
        jvm = _cpu({"jvm": jvm_pid})["jvm"] - jvm
        out.append({"engine": label, "items_per_call": size, "items_per_second": round(calls * size / seconds),
                    "ms_per_call": round(seconds / calls * 4 * 1000, 1),
                    "jvm_cpu_us_per_item": round(jvm / (calls * size) * 1e6),
                    "jvm_cores": round(jvm / seconds, 2), "load_average": round(os.getloadavg()[0], 1)})
    return out


def measure(count: int, data_dir: Path, targets: list[str], engine: bool, concurrency: int = 8,
            report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Start a fresh local stack in `data_dir`, import a `cstar` page of `count` synthetic records
    with each target's command (run_one), then, with `engine`, measure DynamoDB Local's own write
    rates (engine_capacity); the stack is always stopped. `report` gets each row as it is made.
    {"results": run_one's rows, "engine": engine_capacity's rows}."""
    proc, stack = _start(data_dir)
    results: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    try:
        processes = _processes(proc.pid)
        source = data_dir / f"cstar-{count}.json"
        samples.write(source, "cstar", samples.records("cstar", count), "page")
        for target in targets:
            result = run_one(stack, data_dir / "stack.json", source, target, count, concurrency, processes)
            if report:
                report(result)
            results.append(result)
        if engine:
            rows = engine_capacity(stack, processes["dynamodb_local"])
        for row in rows:
            if report:
                report(row)
    finally:
        stop_process(proc, timeout=30)
    return {"results": results, "engine": rows}


def complete(results: list[dict[str, Any]]) -> bool:
    """Every run created all its records and its account holds exactly that many customers."""
    return all(r["created"] == r["records"] and r["customers_in_account"] == r["records"] for r in results)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [COUNTED]:
        return _counting_cli(Path(argv[1]), argv[2:])
    parser = argparse.ArgumentParser(prog="customers_admin.bench_import", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, required=True, help="the benchmark stack's data (made afresh)")
    parser.add_argument("--target", nargs="*", choices=("local", "api"), default=["local", "api"])
    parser.add_argument("--engine", action="store_true", help="also measure DynamoDB Local's own write rate")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    measured = measure(args.count, args.data_dir, args.target, args.engine, args.concurrency,
                       lambda row: print(json.dumps(row), flush=True))
    print("\n".join(tables(measured["results"], measured["engine"])))
    return 0 if complete(measured["results"]) else 1


def tables(results: list[dict[str, Any]], engine: list[dict[str, Any]]) -> list[str]:
    """The Markdown tables of measure's rows (bench_import's output, and docs/benchmarks.md's section)."""
    lines = ["", "| target | records | seconds | records/s | customers after | all events made after (s) | "
             "load avg (start–end) |", "|---|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {TARGETS.get(r['target'], r['target'])} | {r['records']:,} | {r['seconds']} | "
              f"{r['records_per_second']} | {r['customers_in_account']:,} | {r['events_after_s']}"
              f"{'' if r['events'] >= r['records'] else f' ({r['events']:,} made)'} | "
              f"{r['load_average'][0]}–{r['load_average'][1]} |" for r in results]
    if results:
        lines += ["", "| target | CPU ms per record: the import's process | DynamoDB Local (JVM) | stack (HTTP, "
                  "stream poller) | until the last event: JVM | stack | DynamoDB calls per record (items) |",
                  "|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        cpu, later = r["cpu_ms_per_record"], r["cpu_ms_per_record_until_events"]
        calls = ", ".join(f"{op} {n} ({r['dynamodb_items_per_record'][op]})"
                          for op, n in r["dynamodb_calls_per_record"].items()) or "none (HTTP)"
        lines.append(f"| {TARGETS.get(r['target'], r['target'])} | {cpu['import']} | "
                     f"{cpu.get('dynamodb_local', 0)} | {cpu['stack']} | {later.get('dynamodb_local', 0)} | "
                     f"{later['stack']} | {calls} |")
    if results:
        lines += ["", "| target | DynamoDB Local's thread, during the import | its CPU ms per record | share of the "
                  "import's time it was on a CPU |", "|---|---|---:|---:|"]
    for r in results:
        label = TARGETS.get(r["target"], r["target"])
        for role, key in (("busiest", "jvm_busiest_thread"), ("SQLite", "jvm_sqlite_thread")):
            thread = r.get(key)
            if thread and (role == "busiest" or thread["name"] != r["jvm_busiest_thread"]["name"]):
                lines.append(f"| {label} | {role}: `{thread['name']}` | {thread['cpu_ms_per_record']} | "
                             f"{thread['busy']:.0%} |")
    if engine:
        lines += ["", "| DynamoDB Local, 4 threads | items per call | items/s | ms per call | JVM CPU µs per item | "
                  "JVM cores busy | load avg |", "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {e['engine']} | {e['items_per_call']} | {e['items_per_second']:,} | {e['ms_per_call']} | "
                  f"{e['jvm_cpu_us_per_item']:,} | {e['jvm_cores']} | {e['load_average']} |" for e in engine]
    return lines


if __name__ == "__main__":
    sys.exit(main())
