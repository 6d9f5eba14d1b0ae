"""`python -m benchmarks --out docs/benchmarks.md`

Measures, in one run on this machine:
- the local stack: time from launch until it answers its first create, and p50/p99 latency of
  every customer operation over a few hundred sequential requests through real HTTP;
- webhooks: time from a write to its first delivery attempt, and deliveries per second with ten
  endpoints that each answer after 50 ms;
- each handler module's cold-start import time in a fresh Python 3.13 process, beside the floor
  `import boto3; boto3.client("dynamodb")` measured in the same run, as a ratio;
- what a request costs (benchmarks/cost.py): every AWS call on each operation's whole path, priced,
  the two request mixes, idle cost per stage, serial round trips and the event pipeline's figures,
  for the working tree and any `--cost-refs` revisions in the same run;
- the metadata filters (benchmarks/metadata.py), `sam local` beside the local stack
  (benchmarks/sam_local.py) and `customers-admin import` of --import-count records into a fresh local
  stack (benchmarks/bulk_import.py), each as a section of its own.

`python -m benchmarks --only cost --json PATH [--cost-refs 585ab21]` runs only the cost section and
writes its figures as JSON (and replaces that section of --out, if given).
`python -m benchmarks --only metadata [--out docs/benchmarks.md]` runs only the metadata filters'
section (benchmarks/metadata.py: items read per page in accounts of --sizes customers).
`python -m benchmarks --only sam-local [--out docs/benchmarks.md]` runs only the section comparing
`sam local start-api` with the local stack (benchmarks/sam_local.py; needs `make sam-local`).
`python -m benchmarks --only import [--import-count 10000] [--out docs/benchmarks.md]` runs only the
bulk-import section (benchmarks/bulk_import.py: customers_admin.bench_import on a fresh local stack).
Each `--only` run prints its section and, with --out, replaces that section of the file (or appends it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from customers_admin import bench_import
from local_stack import template
from local_stack.stack import aws_client

from benchmarks import bulk_import, capacity, cost, metadata, webhooks
from benchmarks import sam_local as sam_local_bench
from benchmarks.trees import worktree

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "core" / "python"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


@contextmanager
def running_stack(rate_limit: str = "1000000") -> Iterator[dict[str, Any]]:
    """A fresh local stack (`make run`'s) in a subprocess, stopped afterwards."""
    with tempfile.TemporaryDirectory() as data_dir:
        proc = subprocess.Popen([sys.executable, "-m", "local_stack", "--port", "0", "--data-dir", data_dir,
                                 "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                # The limiter counts every request (its write is in the figures) but
                                # never refuses one: a benchmark's loops exceed any account's share.
                                env={**os.environ, "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_SECOND": rate_limit},
                                start_new_session=True)
        started = time.perf_counter()
        try:
            stack_file = Path(data_dir) / "stack.json"
            while not stack_file.exists():
                if proc.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError("local stack did not start")
                time.sleep(0.05)
            yield json.loads(stack_file.read_text())
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def bench_webhooks(writes: int) -> dict[str, Any]:
    with running_stack() as info:
        latency = webhooks.write_to_delivery(info, writes)
        flow = webhooks.throughput(info, endpoints=10, customers=200)
    return {"latency": latency, "throughput": flow}


def _customer_body(i: int) -> dict[str, Any]:
    return {"email": f"bench{i}@example.com", "name": f"Bench {i}", "metadata": {"i": str(i)},
            "tags": ["vip"] if i % 5 == 0 else [], "status": "inactive" if i % 10 == 0 else "active"}


def _session(info: dict[str, Any]) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {info['secret_key']}"
    return session, f"{info['api_url']}/v1/customers"


def _creates_and_retrieves(session: requests.Session, url: str, n: int) -> tuple[list[float], list[float], list[str]]:
    """n sequential creates, then a retrieve of each: their latencies (ms) and the ids."""
    create_ms, retrieve_ms, ids = [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        response = session.post(url, json=_customer_body(i), timeout=30)
        create_ms.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        ids.append(response.json()["id"])
    for customer_id in ids:
        t0 = time.perf_counter()
        session.get(f"{url}/{customer_id}", timeout=30).raise_for_status()
        retrieve_ms.append((time.perf_counter() - t0) * 1000)
    return create_ms, retrieve_ms, ids


def bench_without_limit(requests_per_op: int) -> dict[str, list[float]]:
    """Create and retrieve on a stack with the per-account limit off, to compare with the main run."""
    with running_stack(rate_limit="0") as info:
        session, url = _session(info)
        session.post(url, json={"name": "warm"}, timeout=30).raise_for_status()
        create_ms, retrieve_ms, _ = _creates_and_retrieves(session, url, requests_per_op)
    return {"create": create_ms, "retrieve": retrieve_ms}


def bench_stack(requests_per_op: int) -> dict[str, object]:
    started = time.perf_counter()
    with running_stack() as info:
        session, url = _session(info)
        session.post(url, json={"name": "first"}, timeout=30).raise_for_status()
        ready_s = time.perf_counter() - started

        create_ms, retrieve_ms, ids = _creates_and_retrieves(session, url, requests_per_op)
        timings: dict[str, list[float]] = {"update": [], "list": [], "list (status=inactive, tag=vip)": [],
                                           "delete": []}
        for customer_id in ids:
            t0 = time.perf_counter()
            session.post(f"{url}/{customer_id}", json={"metadata": {"seen": "yes"}}, timeout=30).raise_for_status()
            timings["update"].append((time.perf_counter() - t0) * 1000)
        for i in range(requests_per_op):
            t0 = time.perf_counter()
            session.get(url, params={"limit": "10", "starting_after": ids[-1 - i]}, timeout=30).raise_for_status()
            timings["list"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            filtered = {"limit": "10", "status": "inactive", "tag": "vip"}
            session.get(url, params=filtered, timeout=30).raise_for_status()
            timings["list (status=inactive, tag=vip)"].append((time.perf_counter() - t0) * 1000)
        for customer_id in ids:
            t0 = time.perf_counter()
            session.delete(f"{url}/{customer_id}", timeout=30).raise_for_status()
            timings["delete"].append((time.perf_counter() - t0) * 1000)
        # The engine's own floor: one GetItem straight to DynamoDB Local, no API in between.
        ddb = aws_client("dynamodb", info["dynamodb_endpoint"])
        getitem_ms = []
        for _ in range(requests_per_op):
            t0 = time.perf_counter()
            ddb.get_item(TableName=info["table_name"], Key={"pk": {"S": "bench"}, "sk": {"S": "bench"}})
            getitem_ms.append((time.perf_counter() - t0) * 1000)
        # What a rate-limit reservation costs when an environment makes one (once per chunk of requests).
        from customers_core import keys, ratelimit  # noqa: PLC0415 — the bench's own process, not a handler
        from customers_core.dal.table import Table  # noqa: PLC0415

        counter, tenant, counter_ms = Table(info["table_name"], ddb), keys.tenant("acct_bench", False), []
        for n in range(requests_per_op):
            t0 = time.perf_counter()
            ratelimit.reserve(counter, tenant, "read", 1_800_000_000 + n, 10, 10**9)
            counter_ms.append((time.perf_counter() - t0) * 1000)
    return {"ready_s": ready_s, "n": requests_per_op, "create": create_ms, "retrieve": retrieve_ms,
            **timings, "getitem": getitem_ms, "rate counter": counter_ms}


_IMPORT_SNIPPET = """
import importlib.util, sys, time
sys.path.insert(0, {layer!r})
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
print(time.perf_counter() - t0)
"""
_FLOOR_SNIPPET = """
import time
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t0)
"""


def _fresh_process_seconds(code: str) -> float:
    env = {**os.environ, "TABLE_NAME": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "PYTHONDONTWRITEBYTECODE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def _handlers(root: Path) -> dict[str, Path]:
    """Each function's handler module in the tree at `root` (this checkout or an older commit's)."""
    loaded = template.load(root / "template.yaml")
    functions = {name: template.function_properties(loaded, res) for name, res in loaded["Resources"].items()
                 if res["Type"] == "AWS::Serverless::Function"}
    return {name: root / props["CodeUri"] / (props["Handler"].rpartition(".")[0] + ".py")
            for name, props in functions.items()}


def bench_imports(repeats: int, before: Path | None = None) -> dict[str, dict[str, list[float]]]:
    """Import time of every handler, in this tree and (optionally) in an older one, interleaved so
    that drift on the machine hits every row alike."""
    floor = "floor: import boto3; boto3.client('dynamodb')"
    trees = {"now": ROOT, **({"before": before} if before else {})}
    handlers = {label: _handlers(root) for label, root in trees.items()}
    results: dict[str, dict[str, list[float]]] = {label: {floor: []} for label in trees}
    for _ in range(repeats):
        for label, root in trees.items():
            results[label][floor].append(_fresh_process_seconds(_FLOOR_SNIPPET))
            layer = root / "layers" / "core" / "python"
            for name, path in handlers[label].items():
                results[label].setdefault(name, []).append(
                    _fresh_process_seconds(_IMPORT_SNIPPET.format(layer=str(layer), path=str(path))))
    return results


def render_webhooks(results: dict[str, Any]) -> list[str]:
    latency, flow = results["latency"], results["throughput"]
    return [
        "", "## Webhooks through the local stack", "",
        "A receiver on 127.0.0.1 (verifying each delivery with both official libraries) registered for "
        "every event; the path is API → DynamoDB Local → stream poller (0.2 s poll) → fan-out → moto SQS "
        "→ SQS poller (long poll) → delivery function → signed POST.", "",
        "| measure | value |", "|---|---:|",
        f"| write → first delivery attempt, p50 ({len(latency)} sequential creates) | "
        f"{percentile(latency, 50):.0f} ms |",
        f"| write → first delivery attempt, p99 | {percentile(latency, 99):.0f} ms |",
        f"| deliveries, 10 endpoints × {int(flow['deliveries']) // 10} events, each endpoint answering after "
        f"{webhooks.SLOW_ANSWER_S * 1000:.0f} ms | {int(flow['deliveries'])} |",
        f"| throughput (first to last arrival, {flow['span_s']:.1f} s) | **{flow['per_second']:.0f} deliveries/s** |",
        f"| one-at-a-time bound with 50 ms answers | {flow['serial_bound_per_second']:.0f} deliveries/s |",
        f"| ratio to the one-at-a-time bound | **{flow['per_second'] / flow['serial_bound_per_second']:.1f}×** |",
        f"| most requests in flight at the receivers at once | {int(flow['max_in_flight'])} |",
        "",
        "Deliveries overlap: the delivery function posts a batch's messages on threads and the local "
        "stack runs four SQS pollers, as Lambda scales its pollers out. Locally everything shares one "
        "Python process and 2 cores, so throughput is bounded by CPU, not by the endpoints' 50 ms.",
    ]


def render_imports(imports: dict[str, dict[str, list[float]]]) -> list[str]:
    now = imports["now"]
    before = imports.get("before")
    floor_key = next(k for k in now if k.startswith("floor"))
    floor = statistics.median(now[floor_key])
    lines = [
        "",
        f"## Cold-start import time of each handler module (fresh Python 3.13 process, median of "
        f"{len(now[floor_key])})",
        "",
        "The floor is what any DynamoDB-using Lambda pays: `import boto3; boto3.client(\"dynamodb\")`. "
        "A handler module's import includes boto3 (the layer uses its type serializer) but creates no "
        "client until the first query, and adds Powertools and pydantic.",
    ]
    if before:
        before_floor = statistics.median(before[floor_key])
        lines += [
            "`before` is the same measurement, in the same run and interleaved with `now`, of the code "
            f"as it was at {BEFORE_LABEL}; each ratio is to its own run's floor.", "",
            "| module | before (ms) | before ratio | now (ms) | now ratio |", "|---|---:|---:|---:|---:|"]
        for name, values in now.items():
            median = statistics.median(values)
            old = before.get(name)
            old_cells = (f"{statistics.median(old) * 1000:.1f} | {statistics.median(old) / before_floor:.2f}×"
                         if old else "— | —")
            lines.append(f"| {name} | {old_cells} | {median * 1000:.1f} | {median / floor:.2f}× |")
        return lines
    lines += ["", "| module | median (ms) | ratio to floor |", "|---|---:|---:|"]
    for name, values in now.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median * 1000:.1f} | {median / floor:.2f}× |")
    return lines


BEFORE_LABEL = ""


def render(stack: dict, imports: dict[str, dict[str, list[float]]], capacity_results: dict, command: str,
           webhook_results: dict[str, Any] | None = None, writes: dict[str, dict[str, float]] | None = None,
           cost_lines: list[str] | None = None) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}). "
        "All figures come from this one run; rerun the command to refresh them.",
        "",
        "## Local stack (real HTTP, DynamoDB Local, sequential requests from one client)",
        "",
        f"- Time from launching the local stack until it answered its first create: **{stack['ready_s']:.2f} s**",
        "",
        "| operation | requests | p50 (ms) | p99 (ms) | mean (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {"create": "POST /v1/customers (1 transaction, its search tokens put beside it)",
              "retrieve": "GET /v1/customers/{id} (1 GetItem)",
              "update": "POST /v1/customers/{id} (metadata merge: GetItem + 1 transaction)",
              "list": "GET /v1/customers?limit=10&starting_after=… (1 Query)",
              "list (status=inactive, tag=vip)": "GET /v1/customers?status=inactive&tag=vip (counters Query + "
                                                 "index Query + BatchGet)",
              "delete": "DELETE /v1/customers/{id} (GetItem + 1 transaction)",
              "getitem": "floor: one GetItem straight to DynamoDB Local",
              "rate counter": "a rate-limit reservation alone (1 conditional UpdateItem)"}
    for op, label in labels.items():
        values = stack[op]
        lines.append(f"| {label} | {len(values)} | {percentile(values, 50):.1f} | {percentile(values, 99):.1f} | "
                     f"{statistics.mean(values):.1f} |")
    floor50, counter50 = percentile(stack["getitem"], 50), percentile(stack["rate counter"], 50)
    lines += ["", f"Retrieve p50 is {percentile(stack['retrieve'], 50) / floor50:.2f}× the engine's GetItem p50: "
              "the difference is the API layer: HTTP, building the payload-2.0 event, authentication (its key "
              "cache warm) and the handler, all in one Python process on 2 cores shared with DynamoDB Local.",
              "", "The per-account rate limit writes nothing for an environment's first `limit // 20` requests "
              "of a tenant in a second, then one conditional UpdateItem per `limit // 10` requests (a "
              f"reservation): p50 {counter50:.1f} ms alone, {counter50 / floor50:.2f}× the GetItem floor "
              "(DynamoDB Local commits each write to disk; in AWS a write takes a few ms and costs 1 write "
              "unit). The request that makes a reservation waits for it; the others pay nothing."]
    if "limit off" in stack:
        off = stack["limit off"]
        lines += ["", "| with the limit off (`RATE_LIMIT_PER_SECOND=0`, another stack, same run) | requests | p50 (ms) "
                  "| p50 with the limit on (above) | on ÷ off |", "|---|---:|---:|---:|---:|"]
        for op in ("create", "retrieve"):
            on50, off50 = percentile(stack[op], 50), percentile(off[op], 50)
            lines.append(f"| {op} | {len(off[op])} | {off50:.1f} | {on50:.1f} | {on50 / off50:.2f}× |")
    if webhook_results:
        lines += render_webhooks(webhook_results)
    lines += ["", "## DynamoDB cost per operation, by account size", "",
              "How reads grow with the account: items read and capacity units of the base table as DynamoDB "
              "Local reports them (`ReturnConsumedCapacity=TOTAL`), each operation run once on the middle "
              "customer of an account seeded with that many customers (10% inactive, 5% angry, 20% tagged "
              "vip). Transactions are counted from their items (2 per started KB of each item put, 2 per other "
              "operation), since DynamoDB Local reports 2 for any transaction. These are the request's own "
              "table units only — no GSI writes, events or deliveries: the whole bill, those included, is "
              "\"What a request costs\" below.", "",
              *capacity.render(capacity_results), "",
              "Items read depend on the page, not on the account's size. Capacity units can still differ by "
              "a rounding step: a read is charged per 4 KB, and the larger account's ids, names and emails "
              "are a few bytes longer. A combination of attribute filters (tag and status) reads the smaller "
              "of its partitions (chosen by the account's counters: here the 10% inactive) until the page "
              "fills, so its reads depend on how rare the combination is (here every inactive customer is "
              "tagged vip, so the first entries fill the page).", "",
              "Searches read token entries and then the candidate customers, all strongly consistent, so a "
              "change is found by the very next search. A unique value (email, external_id) is 1–2 reads. "
              "Exact clauses joined by AND are intersected by jumping between their entries (a zig-zag "
              "join), so `name:\"user <n>\" status:\"active\" tag:\"vip\"` reads by its one match, not by "
              "the 20% tagged vip or the 90% active. A prefix reads the entries of the words it matches: "
              "the prefix here matches 11 customers in both accounts."]
    if writes:
        lines += ["", "## What the search index costs on writes", "",
                  "Capacity units of one write (its read included) with the search tokens, and with the index "
                  "switched off (for this comparison only). Each token is a small item (≤ 1 KB): 1 write unit, "
                  "put beside the customer's transaction (a removed one is deleted in it: 2 units). A create "
                  "writes one token per indexed word and value; an update writes only the tokens that change.", "",
                  *capacity.render_write_cost(writes)]
    lines += render_imports(imports)
    lines += cost_lines or []
    return "\n".join(lines) + "\n"


def _cost_refs(value: str) -> list[str]:
    """Revisions to measure, oldest first; the working tree is measured last unless the list already
    names it (`.`) or ends with HEAD (a clean measurement of what is committed)."""
    refs = [r.strip() for r in value.split(",") if r.strip()]
    return refs if cost.WORKING_TREE in refs or refs[-1:] == ["HEAD"] else [*refs, cost.WORKING_TREE]


def bench_cost(args: argparse.Namespace) -> dict[str, Any]:
    return cost.run(args.cost_refs, runs=args.cost_runs, read_runs=args.cost_read_runs,
                    burst_creates=args.cost_burst, burst_threads=args.cost_threads,
                    latency_writes=args.cost_latency_writes, log=_log,
                    keep_records=args.cost_keep_records)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_section(out: Path | None, section: list[str], replace: Callable[[str, list[str]], str],
                 failed: bool = False) -> int:
    """An `--only` run's end: its section replaces its own in `out` (if given), and is printed."""
    if out:
        existing = out.read_text() if out.exists() else "# Benchmarks\n"
        out.write_text(replace(existing, section))
    print("\n".join(section))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None,
                        help="the report (default docs/benchmarks.md; with --only cost, only its cost section "
                             "is replaced, and only when --out is given)")
    parser.add_argument("--only", choices=["cost", "metadata", "sam-local", "import"], default=None,
                        help="run one section only")
    parser.add_argument("--sam-requests", type=int, default=100,
                        help="creates and retrieves through each of sam local start-api and the local stack")
    parser.add_argument("--import-count", type=int, default=10_000,
                        help="records imported through each of customers-admin's --local and --api")
    parser.add_argument("--json", type=Path, default=None, help="also write the cost figures as JSON here")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--webhook-writes", type=int, default=100)
    parser.add_argument("--imports-before", default=None,
                        help="a git revision whose handlers' import times are measured beside this tree's")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 50_000],
                        help="account sizes for the cost table")
    parser.add_argument("--cost-refs", type=_cost_refs, default=[cost.WORKING_TREE],
                        help="comma-separated git revisions whose cost is measured before the working tree's, "
                             "oldest first (e.g. 585ab21 or 585ab21,HEAD); '.' is the working tree (appended "
                             "last unless listed)")
    parser.add_argument("--cost-runs", type=int, default=20, help="runs of each write operation per endpoint count")
    parser.add_argument("--cost-read-runs", type=int, default=12, help="runs of each read operation per endpoint count")
    parser.add_argument("--cost-burst", type=int, default=300, help="creates in the pipeline burst (0: no pipeline)")
    parser.add_argument("--cost-threads", type=int, default=8, help="clients sending the burst")
    parser.add_argument("--cost-latency-writes", type=int, default=30, help="sequential writes for write → delivery")
    parser.add_argument("--cost-keep-records", type=Path, default=None,
                        help="keep each tree's recorded calls and measurement windows in this folder")
    args = parser.parse_args()
    shown_args = " ".join(a for a in sys.argv[1:])
    started = time.perf_counter()
    only_command = f".venv/bin/python -m benchmarks {shown_args}".strip()
    if args.only == "cost":
        report_cost = bench_cost(args)
        report_cost["seconds"] = time.perf_counter() - started
        report_cost["command"] = only_command
        if args.json:
            args.json.write_text(cost.to_json(report_cost) + "\n")
        return _one_section(args.out, cost.render(report_cost, only_command), cost.replace_section,
                            failed=bool(report_cost.get("errors")))
    if args.only == "metadata":
        return _one_section(args.out, metadata.render(metadata.run(tuple(args.sizes)), only_command),
                            metadata.replace_section)
    if args.only == "sam-local":
        return _one_section(args.out, sam_local_bench.render(sam_local_bench.measure(
            running_stack, args.sam_requests, _log), only_command), sam_local_bench.replace_section)
    if args.only == "import":
        imported = bulk_import.run(args.import_count, log=_log)
        return _one_section(args.out, bulk_import.render(imported, only_command), bulk_import.replace_section,
                            failed=not bench_import.complete(imported["results"]))
    out = args.out or ROOT / "docs" / "benchmarks.md"
    stack = bench_stack(args.requests)
    stack["limit off"] = bench_without_limit(args.requests)
    webhook_results = bench_webhooks(args.webhook_writes)
    capacity_results = capacity.run(tuple(args.sizes))
    writes = capacity.write_cost()
    metadata_report = metadata.run(tuple(args.sizes))
    sam_local_report = sam_local_bench.measure(running_stack, args.sam_requests, _log)
    import_report = bulk_import.run(args.import_count, log=_log)
    global BEFORE_LABEL  # noqa: PLW0603 — the report names the revision it compared with
    with worktree(args.imports_before) as before:
        BEFORE_LABEL = f"`{args.imports_before}`" if before else ""
        imports = bench_imports(args.repeats, before)
    extra = " ".join(a for a in sys.argv[1:] if a not in ("--out", str(args.out)))
    command = "make bench" + (f" BENCH_ARGS='{extra}'" if extra else "")
    report_cost = bench_cost(args)
    report_cost["seconds"] = time.perf_counter() - started
    report_cost["command"] = command
    if args.json:
        args.json.write_text(cost.to_json(report_cost) + "\n")
    report = render(stack, imports, capacity_results, command, webhook_results, writes,
                    cost_lines=cost.render(report_cost, command))
    # appended in docs/benchmarks.md's order: the import, the metadata filters, sam local
    report = bulk_import.replace_section(report, bulk_import.render(import_report, command))
    report = metadata.replace_section(report, metadata.render(metadata_report, command))
    report = sam_local_bench.replace_section(report, sam_local_bench.render(sam_local_report, command))
    out.write_text(report)
    print(report)
    return 1 if report_cost.get("errors") or not bench_import.complete(import_report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
