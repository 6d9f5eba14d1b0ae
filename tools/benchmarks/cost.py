"""What a request costs, measured: every AWS call and Lambda invocation on the whole path of each
customer operation, billed as AWS bills them, for one or more revisions in one run.

For each tree (the working tree, or a revision checked out with `git worktree`):

1. Its local stack is started by benchmarks/recorded_stack.py (that tree's code, this recorder),
   with webhook endpoints (local receivers answering 200) subscribed to every event.
2. Each operation runs one at a time, `runs` times, with 1 and then 2 endpoints; after each, the
   pipeline is left to drain (every delivery arrived, no invocation running, nothing billed for a
   moment), so every recorded call in that window belongs to that operation.
3. Each window is priced from benchmarks/prices.py: DynamoDB units from the items' sizes before and
   after each write (GSIs and transactions included), Lambda invocations and billed ms with each
   function's memory, SQS and KMS requests, log bytes, X-Ray traces, the HTTP API request.
4. The mixes are composed from the per-operation figures; idle cost per stage comes from the
   tree's template.yaml and samconfig.toml alone.
5. On a second, unrecorded stack of the same tree: the event pipeline's latency and throughput
   under a burst, and how much one account's burst delays another account's event
   (benchmarks/webhooks.py)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from local_stack import template as template_loader
from local_stack.receiver import Receiver

from benchmarks import cost_model, prices, webhooks
from benchmarks.trees import ROOT, worktree

OPERATIONS = ("create", "retrieve", "update", "delete", "list", "search")
WORKING_TREE = "."
QUIET_S = 0.4  # nothing billed for this long (and no invocation running): the pipeline has drained
LAUNCHER = Path(__file__).resolve().parent / "recorded_stack.py"


@dataclass
class Tree:
    label: str  # "working tree" or the revision as given
    root: Path
    commit: str


# ---- starting a tree's stack -------------------------------------------------------------------

def _stage_log_level(root: Path) -> str:
    loaded = template_loader.load(root / "template.yaml")
    samconfig = root / "samconfig.toml"
    params = cost_model.stage_parameters(loaded, samconfig.read_text() if samconfig.exists() else None, "prod")
    return params.get("LogLevel", "INFO")


@contextmanager
def launched(tree: Tree, record: Path | None) -> Iterator[dict[str, Any]]:
    """The tree's local stack (its code first on PYTHONPATH) through the recorder's launcher, with
    prod's log level and the rate counter counting but never refusing; stopped afterwards."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree.root / "tools"),
                                                            str(tree.root / "layers" / "core" / "python")]),
               "LOG_LEVEL": _stage_log_level(tree.root), "RATE_LIMIT_PER_SECOND": "1000000"}
        env.pop("WEBHOOK_RETRY_SCHEDULE", None)
        command = [sys.executable, str(LAUNCHER), *(["--record", str(record)] if record else []), "--",
                   "--port", "0", "--data-dir", data_dir, "--quiet"]
        log_path = Path(data_dir) / "launcher.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(command, cwd=tree.root, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        started = time.perf_counter()
        try:
            stack_file = Path(data_dir) / "stack.json"
            while not stack_file.exists():
                if proc.poll() is not None or time.perf_counter() - started > 180:
                    raise RuntimeError(f"{tree.label}: local stack did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            info = json.loads(stack_file.read_text())
            info["pythonpath"] = env["PYTHONPATH"]
            info["ready_s"] = time.perf_counter() - started
            yield info
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class Records:
    """The recorder's file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.all: list[dict[str, Any]] = []
        self._offset = 0
        self._partial = b""
        self.open_invocations: set[int] = set()
        self.last_activity = 0.0

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
            self._offset = fh.tell()
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            self.all.append(record)
            if record["k"] == "inv_start":
                self.open_invocations.add(record["id"])
                self.last_activity = max(self.last_activity, record["t0"])
            elif record["k"] == "inv":
                self.open_invocations.discard(record["id"])
                self.last_activity = max(self.last_activity, record["t1"])
            elif record["k"] == "call" and not _empty_receive(record):
                self.last_activity = max(self.last_activity, record["t1"])


def _empty_receive(record: dict[str, Any]) -> bool:
    return record.get("svc") == "sqs" and record.get("op") == "ReceiveMessage" and not record.get("payloads")


# ---- running the operations ------------------------------------------------------------------------

@dataclass
class Window:
    op: str
    endpoints: int
    t0: float
    t1: float
    status: int


class Driver:
    """Sends the operations as a Stripe SDK would (form-encoded POSTs with an Idempotency-Key) and
    waits for the pipeline to drain after each."""

    def __init__(self, info: dict[str, Any], records: Records) -> None:
        self.info, self.records = info, records
        self.api = info["api_url"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {info['secret_key']}"
        self.receivers: list[Receiver] = []
        self.created: list[tuple[str, str]] = []  # (id, email) of customers made by measured creates
        self.seeded: list[tuple[str, str]] = []
        self._n = 0

    def subscribe(self) -> None:
        receiver = Receiver()
        response = self.session.post(f"{self.api}/v1/webhook_endpoints",
                                     data={"url": receiver.url, "enabled_events[0]": "*"}, timeout=30)
        response.raise_for_status()
        receiver.secret = response.json()["secret"]
        self.receivers.append(receiver)
        self.drain(0, time.time())

    def close(self) -> None:
        for receiver in self.receivers:
            receiver.close()

    def delivered(self) -> int:
        return sum(len(r.deliveries) for r in self.receivers)

    def drain(self, expected_deliveries: int, since: float, timeout: float = 60) -> None:
        """Until every expected delivery arrived, no invocation runs and nothing was billed for QUIET_S."""
        deadline = time.time() + timeout
        target = expected_deliveries
        while time.time() < deadline:
            self.records.poll()
            now = time.time()
            if self.delivered() >= target and not self.records.open_invocations and \
                    now - max(self.records.last_activity, since) >= QUIET_S:
                return
            time.sleep(0.03)
        errors = sorted({f"{r['fn']}: {r['err']}" for r in self.records.all
                         if r["k"] == "inv" and r.get("err") and r["t1"] >= since - 1})
        raise RuntimeError(f"the pipeline did not drain within {timeout:.0f} s ({self.delivered()} of {target} "
                           f"deliveries; {len(self.records.open_invocations)} invocations running; function errors: "
                           f"{', '.join(errors) or 'none'})")

    def _post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.session.post(f"{self.api}{path}", data=data, timeout=30,
                                 headers={"Idempotency-Key": str(uuid.uuid4())})

    def _customer_body(self) -> dict[str, str]:
        self._n += 1
        return {"email": f"cost.bench.{self._n}.{uuid.uuid4().hex[:8]}@example.com", "name": f"Ada Lovelace {self._n}",
                "metadata[plan]": "pro"}

    def seed(self, count: int) -> None:
        for _ in range(count):
            body = self._customer_body()
            before = self.delivered()
            response = self._post("/v1/customers", body)
            response.raise_for_status()
            self.seeded.append((response.json()["id"], body["email"]))
            self.drain(before + len(self.receivers), time.time())

    def operation(self, op: str, i: int) -> tuple[Callable[[], requests.Response], bool]:
        """The request for run i of op, and whether it makes an event (a delivery per endpoint)."""
        if op == "create":
            body = self._customer_body()

            def create() -> requests.Response:
                response = self._post("/v1/customers", body)
                if response.ok:
                    self.created.append((response.json()["id"], body["email"]))
                return response
            return create, True
        if op == "retrieve":
            cid = self.seeded[i % len(self.seeded)][0]
            return lambda: self.session.get(f"{self.api}/v1/customers/{cid}", timeout=30), False
        if op == "update":
            cid = self.created[i % len(self.created)][0]
            plan = "team" if (i // len(self.created)) % 2 == 0 else "pro"
            return lambda: self._post(f"/v1/customers/{cid}", {"metadata[plan]": plan}), True
        if op == "list":
            return lambda: self.session.get(f"{self.api}/v1/customers", params={"limit": 10}, timeout=30), False
        if op == "search":
            email = self.seeded[i % len(self.seeded)][1]
            return lambda: self.session.get(f"{self.api}/v1/customers/search", params={"query": f'email:"{email}"'},
                                            timeout=30), False
        if op == "delete":
            cid = self.created.pop(0)[0]
            return lambda: self.session.delete(f"{self.api}/v1/customers/{cid}", timeout=30), True
        raise ValueError(op)

    def measure(self, op: str, i: int) -> Window:
        action, makes_event = self.operation(op, i)
        before = self.delivered()
        t0 = time.time()
        response = action()
        if not response.ok:
            raise RuntimeError(f"{op} answered {response.status_code}: {response.text[:300]}")
        expected = before + (len(self.receivers) if makes_event else 0)
        self.drain(expected, time.time())
        return Window(op, len(self.receivers), t0, time.time(), response.status_code)


def run_operations(driver: Driver, runs: int, read_runs: int) -> list[Window]:
    """Warm every function on the path, then each operation `runs` times (reads `read_runs`) with
    1 endpoint and again with 2."""
    windows: list[Window] = []
    driver.subscribe()
    driver.seed(12)
    for config in (1, 2):
        if config == 2:
            driver.subscribe()
        for op in OPERATIONS:  # one unmeasured round: every environment warm, caches as in steady use
            driver.measure(op, 0)
        for op in OPERATIONS:
            count = runs if op in ("create", "update", "delete") else read_runs
            windows += [driver.measure(op, i) for i in range(count)]
    return windows


# ---- from records to usage and cost -------------------------------------------------------------------

@dataclass
class TreeModel:
    shape: cost_model.TableShape
    functions: dict[str, cost_model.FunctionSettings]
    access_log_format: str | None
    idle: dict[str, dict[str, float]]


def tree_model(root: Path) -> TreeModel:
    loaded = template_loader.load(root / "template.yaml")
    samconfig = root / "samconfig.toml"
    text = samconfig.read_text() if samconfig.exists() else None
    prod = cost_model.Context(loaded, cost_model.stage_parameters(loaded, text, "prod"))
    idle = {stage: cost_model.idle_cost(cost_model.Context(loaded, cost_model.stage_parameters(loaded, text, stage)))
            for stage in ("dev", "staging", "prod")}
    return TreeModel(cost_model.table_shape(loaded), cost_model.function_settings(prod),
                     cost_model.access_log_format(prod), idle)


@dataclass
class RunUsage:
    usage: cost_model.Usage
    round_trips: int
    merged_round_trips: int
    api_invocations: int
    empty_polls: int
    problems: list[str] = field(default_factory=list)


def usage_of(window: Window, records: list[dict[str, Any]], model: TreeModel) -> RunUsage:
    usage = cost_model.Usage(http_requests=1)
    problems: list[str] = []
    invocations = [r for r in records if r["k"] == "inv" and window.t0 <= r["t0"] <= window.t1]
    calls = [r for r in records if r["k"] == "call" and window.t0 <= r["t1"] <= window.t1]
    api = [r for r in invocations if r.get("kind") == "api"]
    if len(api) != 1:
        problems.append(f"{len(api)} API invocations in one {window.op} window")
    for inv in invocations:
        settings = model.functions.get(inv["fn"])
        if settings is None:
            problems.append(f"unknown function {inv['fn']}")
            continue
        usage.add_invocation(inv["fn"], inv["ms"], settings)
        usage.log_bytes += cost_model.ingested_function_log_bytes(inv.get("log") or {}, settings)
        usage.log_bytes += cost_model.platform_log_bytes(settings)
        if inv.get("err"):
            problems.append(f"{inv['fn']} raised {inv['err']}")
    for inv in api:
        usage.log_bytes += cost_model.access_log_bytes(model.access_log_format, inv.get("route") or "",
                                                       int(inv.get("status") or window.status))
    empty = 0
    for call in calls:
        if call.get("probe_error"):
            problems.append(f"{call['op']}: {call['probe_error']}")
        if call["svc"] == "dynamodb" and call["op"] in cost_model.DATA_PLANE:
            usage.dynamodb_calls += 1
            if "writes" in call:
                table, gsi = cost_model.write_units(call, model.shape)
                usage.wru += table
                usage.wru_gsi += gsi
            else:
                usage.rru += cost_model.read_units(call)
                usage.rru_reported += float(call.get("reported_rcu") or 0)
        elif call["svc"] == "sqs":
            if _empty_receive(call):
                empty += 1
            else:
                usage.sqs_requests += cost_model.sqs_requests(call)
        elif call["svc"] == "kms":
            usage.kms_requests += 1
    api_ids = {inv["id"] for inv in api}
    serial = [(c["t0"], c["t1"]) for c in calls
              if c.get("inv") in api_ids and c["svc"] == "dynamodb" and c["op"] in cost_model.DATA_PLANE]
    return RunUsage(usage, cost_model.serial_round_trips(serial), cost_model.merged_groups(serial), len(api), empty,
                    problems)


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def summarize(windows: list[Window], records: list[dict[str, Any]], model: TreeModel) -> dict[str, Any]:
    """Per endpoint count and operation: mean usage and USD per request by component."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for endpoints in sorted({w.endpoints for w in windows}):
        per_op: dict[str, Any] = {}
        for op in OPERATIONS:
            runs = [usage_of(w, records, model) for w in windows if w.op == op and w.endpoints == endpoints]
            if not runs:
                continue
            for run in runs:
                problems += [f"{op} ({endpoints} endpoint(s)): {p}" for p in run.problems]
            priced = [cost_model.price_usage(r.usage) for r in runs]
            components = {c: _mean([p[c] for p in priced]) for c in cost_model.COMPONENTS}
            functions = sorted({f for r in runs for f in r.usage.invocations})
            per_op[op] = {
                "runs": len(runs),
                "wru": _mean([r.usage.wru + r.usage.wru_gsi for r in runs]),
                "wru_table": _mean([r.usage.wru for r in runs]),
                "wru_gsi": _mean([r.usage.wru_gsi for r in runs]),
                "rru": _mean([r.usage.rru for r in runs]),
                "rru_reported_by_dynamodb_local": _mean([r.usage.rru_reported for r in runs]),
                "dynamodb_calls": _mean([r.usage.dynamodb_calls for r in runs]),
                "lambda_ms": _mean([sum(r.usage.billed_ms.values()) for r in runs]),
                "lambda_invocations": _mean([sum(r.usage.invocations.values()) for r in runs]),
                "lambda_by_function": {f: {"invocations": _mean([r.usage.invocations.get(f, 0) for r in runs]),
                                           "billed_ms": _mean([r.usage.billed_ms.get(f, 0) for r in runs]),
                                           "memory_mb": model.functions[f].memory_mb}
                                       for f in functions if f in model.functions},
                "gb_seconds": _mean([r.usage.gb_seconds for r in runs]),
                "sqs_requests": _mean([r.usage.sqs_requests for r in runs]),
                "kms_requests": _mean([r.usage.kms_requests for r in runs]),
                "log_bytes": _mean([r.usage.log_bytes for r in runs]),
                "xray_traces": _mean([r.usage.traces for r in runs]),
                "round_trips": _mean([r.round_trips for r in runs]),
                "round_trips_max": max(r.round_trips for r in runs),
                "round_trips_merged": _mean([r.merged_round_trips for r in runs]),
                "usd_per_million": sum(components.values()) * 1e6,
                "components_usd_per_million": {c: v * 1e6 for c, v in components.items()},
                "empty_sqs_polls_seen": sum(r.empty_polls for r in runs),
            }
        out[str(endpoints)] = per_op
    out["problems"] = sorted(set(problems))
    return out


def mixes(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    out = {}
    for name, mix in cost_model.MIXES.items():
        per_op = summary[str(mix["endpoints"])]
        components = {op: {c: v / 1e6 for c, v in per_op[op]["components_usd_per_million"].items()}
                      for op in mix["weights"]}
        composed = cost_model.compose(components, mix["weights"])
        out[name] = {**{c: v * 1e6 for c, v in composed.items()}, "total": sum(composed.values()) * 1e6}
    return out


# ---- the pipeline's own figures -----------------------------------------------------------------------

def second_account(tree: Tree, info: dict[str, Any]) -> dict[str, Any]:
    """Another account with a test key, made with the tree's own code (as the local stack makes its own)."""
    code = ("import json, sys\n"
            "from customers_core.dal.table import Table\n"
            "from customers_core.logic import api_keys\n"
            "from local_stack.stack import aws_client\n"
            "table = Table(sys.argv[1], aws_client('dynamodb', sys.argv[2]))\n"
            "account = api_keys.create_account(table, 'bench bystander')\n"
            "key = api_keys.create_key(table, account['id'], 'test')\n"
            "print(json.dumps({'account_id': account['id'], 'secret_key': key['secret']}))\n")
    env = {**os.environ, "PYTHONPATH": info["pythonpath"], "TABLE_NAME": info["table_name"],
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code, info["table_name"], info["dynamodb_endpoint"]], cwd=tree.root,
                         env=env, capture_output=True, text=True, check=True)
    return {**info, **json.loads(out.stdout.strip().splitlines()[-1])}


def pipeline(tree: Tree, latency_writes: int, burst_creates: int, burst_threads: int) -> dict[str, Any]:
    with launched(tree, record=None) as info:
        latency = webhooks.write_to_delivery(info, latency_writes)
        burst = webhooks.burst_with_bystander(info, second_account(tree, info), burst_creates, burst_threads)
    return {"write_to_first_delivery_ms": {"p50": _pct(latency, 50), "p99": _pct(latency, 99), "n": len(latency)},
            **burst}


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))] if ordered else 0.0


# ---- one tree, several trees ----------------------------------------------------------------------------

def measure_tree(tree: Tree, runs: int, read_runs: int, burst_creates: int, burst_threads: int,
                 latency_writes: int, log: Callable[[str], None], keep_records: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    model = tree_model(tree.root)
    with tempfile.TemporaryDirectory() as folder:
        record_path = Path(folder) / "calls.jsonl"
        log(f"[cost] {tree.label}: starting its recorded local stack")
        with launched(tree, record=record_path) as info:
            records = Records(record_path)
            driver = Driver(info, records)
            try:
                windows = run_operations(driver, runs, read_runs)
            finally:
                driver.close()
            records.poll()
            all_records = records.all
        if keep_records:
            keep_records.mkdir(parents=True, exist_ok=True)
            stem = "".join(c if c.isalnum() else "-" for c in tree.label)
            (keep_records / f"{stem}.calls.jsonl").write_bytes(record_path.read_bytes())
            (keep_records / f"{stem}.windows.json").write_text(json.dumps([asdict(w) for w in windows]))
    log(f"[cost] {tree.label}: {len(windows)} operations measured in {time.perf_counter() - started:.0f} s")
    summary = summarize(windows, all_records, model)
    pipeline_started = time.perf_counter()
    try:
        flow = pipeline(tree, latency_writes, burst_creates, burst_threads) if burst_creates else {}
    except Exception as exc:  # the bill stands without the pipeline's figures; say why they are missing
        log(f"[cost] {tree.label}: pipeline figures FAILED: {exc}")
        flow = {"error": "".join(traceback.format_exception_only(exc)).strip()[-2000:]}
    log(f"[cost] {tree.label}: pipeline figures in {time.perf_counter() - pipeline_started:.0f} s")
    one = summary["1"]
    result = {
        "usd_per_million": {name: mix["total"] for name, mix in mixes(summary).items()},
        "idle_usd_per_month": {stage: sum(parts.values()) for stage, parts in model.idle.items()},
        "round_trips": {op: _mean([summary[e][op]["round_trips"] for e in ("1", "2")]) for op in OPERATIONS},
        "per_operation": {op: {k: one[op][k] for k in ("wru", "rru", "lambda_ms", "usd_per_million")}
                          for op in OPERATIONS},
        # extras
        "round_trips_max": {op: max(summary[e][op]["round_trips_max"] for e in ("1", "2")) for op in OPERATIONS},
        "mix_components_usd_per_million": mixes(summary),
        "idle_components_usd_per_month": model.idle,
        "per_operation_detail": {f"{e}_endpoint{'s' if e != '1' else ''}": summary[e] for e in ("1", "2")},
        "pipeline": flow,
        "problems": summary["problems"],
        "tree": {"label": tree.label, "commit": tree.commit},
        "seconds": time.perf_counter() - started,
    }
    return result


def _commit(root: Path) -> str:
    """The working tree's commit, with "+changes" when tracked files differ from it."""
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                           text=True, check=False).stdout.strip()
    return out.stdout.strip() + ("+changes" if dirty else "")


def run(refs: list[str], runs: int = 20, read_runs: int = 12, burst_creates: int = 300, burst_threads: int = 8,
        latency_writes: int = 30, log: Callable[[str], None] = print,
        keep_records: Path | None = None) -> dict[str, Any]:
    """Measure every ref (WORKING_TREE = this checkout, as it is on disk), the first being the
    "before"; the report's top-level figures are the last ref's. A ref that cannot be measured is
    reported under "errors" (and the top-level figures are left out if it is the last)."""
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for ref in refs:
        label = "working tree" if ref == WORKING_TREE else ref
        try:
            if ref == WORKING_TREE:
                tree = Tree(label, ROOT, _commit(ROOT))
                results[label] = measure_tree(tree, runs, read_runs, burst_creates, burst_threads, latency_writes,
                                              log, keep_records)
                continue
            with worktree(ref) as path:
                assert path is not None
                modules = path / "node_modules"  # DynamoDB Local's jar: the one this checkout installed
                if not modules.exists():
                    modules.symlink_to(ROOT / "node_modules")
                tree = Tree(label, path, _commit(path))
                results[label] = measure_tree(tree, runs, read_runs, burst_creates, burst_threads, latency_writes,
                                              log, keep_records)
        except Exception as exc:  # report it, measure the other refs
            log(f"[cost] {label}: FAILED: {exc}")
            errors[label] = "".join(traceback.format_exception_only(exc)).strip()[-4000:]
    labels = list(results)
    report: dict[str, Any] = {}
    if labels and labels[-1] == ("working tree" if refs[-1] == WORKING_TREE else refs[-1]):
        last = results[labels[-1]]
        report = {key: last[key] for key in ("usd_per_million", "idle_usd_per_month", "round_trips",
                                             "per_operation")}
    report["refs"] = results
    report["order"] = labels
    if errors:
        report["errors"] = errors
    if len(labels) > 1:
        report["ratios_after_before"] = ratios(results[labels[0]], results[labels[-1]])
    report["prices"] = prices.table()
    report["assumptions"] = ASSUMPTIONS
    return report


def ratios(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    def ratio(a: float, b: float) -> float | None:
        return round(b / a, 4) if a else None

    return {
        "usd_per_million": {k: ratio(before["usd_per_million"][k], v) for k, v in after["usd_per_million"].items()},
        "idle_usd_per_month": {k: ratio(before["idle_usd_per_month"][k], v)
                               for k, v in after["idle_usd_per_month"].items()},
        "round_trips": {k: ratio(before["round_trips"][k], v) for k, v in after["round_trips"].items()},
        "per_operation_usd_per_million": {k: ratio(before["per_operation"][k]["usd_per_million"], v["usd_per_million"])
                                          for k, v in after["per_operation"].items()},
    }


ASSUMPTIONS = [
    "Prices: us-east-1 list prices, no free tier, from tools/benchmarks/prices.py (each with its source and date).",
    "Per-operation figures are the mean of the measured runs, each run alone (one operation, its stream fan-out "
    "and its deliveries); per_operation/round_trips are with 1 webhook endpoint, the 2-endpoint figures are in "
    "per_operation_detail. A create is a form-encoded POST with email, name and metadata[plan] and an "
    "Idempotency-Key; an update changes metadata[plan] (with an Idempotency-Key); list is limit=10; search is one "
    "email:\"…\" clause; retrieve, search and list read customers of a 12-customer account.",
    "The fan-out and delivery functions get one record per invocation here; under load Lambda batches stream "
    "records (BatchSize, batching window) and SQS messages, so their per-event invocation cost is an upper bound.",
    "Lambda duration is the handler's measured time on this 2-core machine against DynamoDB Local and moto "
    "(slower than AWS: a DynamoDB Local write takes ~10 ms), minus environment start-up and the recorder's own "
    "probes; billed per invocation rounded up to 1 ms, at the template's MemorySize, arm64 price. Cold starts "
    "(INIT, SnapStart restores) are not in the per-request figures.",
    "DynamoDB units are computed from item sizes (DynamoDB's size rules) read before and after every write with a "
    "separate client: writes per started KB of the larger image, deletes and failed conditions by the existing "
    "item, transactions ×2 per item (a ConditionCheck as a transactional write of the checked item), GSI "
    "propagation per started KB of the projected entry (a key change = delete + put), not doubled in "
    "transactions; reads per 4 KB (Query: the page's evaluated items summed), an absent item 1 unit, "
    "eventually consistent ×0.5. DynamoDB Local's own read figure is kept beside ours as "
    "rru_reported_by_dynamodb_local. Stream reads by Lambda and TTL deletes are free.",
    "SQS: every request the functions make plus the event source mapping's ReceiveMessage that returned "
    "messages and its DeleteMessageBatch, one request per 64 KB chunk; empty long polls are idle cost.",
    "Logs: bytes the functions wrote to stdout/stderr (Powertools JSON lines and metrics, at prod's LogLevel from "
    "samconfig.toml, filtered by LoggingConfig.ApplicationLogLevel if set), plus 300 bytes of Lambda platform "
    "lines per invocation unless LoggingConfig is JSON with SystemLogLevel WARN or higher, plus one HTTP API "
    "access-log line per request rendered from the template's format; ingestion only (storage ~0).",
    "X-Ray: functions with Tracing: Active record 5% of their invocations as separate traces (the default "
    "rule's rate; its reservoir of 1 trace/s is ignored — at low traffic nearly every request is traced).",
    "Idle per stage: parameters are the template's defaults with samconfig.toml's parameter_overrides for the "
    "stage; alarms per alarm metric ($0.10, $0.30 if the period is under 60 s; a metric-math alarm per metric it "
    "uses), dashboards $3, KMS keys $1 (rotation's extra key-material charges not counted), SnapStart cache for "
    "every function whose ApplyOn is PublishedVersions (one live version each, its MemorySize, 730 h), and each "
    "SQS event source mapping long-polling an empty queue with 5 pollers × one 20 s poll each continuously. "
    "Custom metrics published only under traffic, storage and PITR at ~0 data count 0.",
    "Caches (API keys, webhook secrets decrypted with KMS, rate-limit allowances): as the code keeps them; warm "
    "environments (one per function here) reuse them, so a key lookup, a KMS Decrypt or a reservation write "
    "appears only when its cache expires or runs out, amortized over the runs at about one request a second.",
    "Serial round trips: the DynamoDB calls the API function's invocation made (on any of its threads), each "
    "from when the code issued it to when its answer came; the figure is the longest chain of calls each "
    "starting after the previous ended, so a call beside others (a counter beside a read) adds nothing, and two "
    "calls made in turn count two even when a parallel call spans both (round_trips_merged in the JSON is the "
    "plain merge of overlapping calls, which undercounts exactly that case). The mean over the runs with 1 and 2 "
    "endpoints; round_trips_max is the largest seen.",
]


# ---- markdown ----------------------------------------------------------------------------------------

def _money(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def render(report: dict[str, Any], command: str) -> list[str]:
    refs = report["refs"]
    order = report["order"]
    lines = ["", "## What a request costs (measured, priced as AWS bills it)", "",
             f"Produced by `{command}`. Every AWS call and Lambda invocation on the whole path of each operation "
             "(HTTP API → function → DynamoDB → stream → fan-out → SQS → delivery → the endpoint) recorded by "
             "`tools/benchmarks/recorded_stack.py` around the local stack, without changing production code, and "
             "priced from `tools/benchmarks/prices.py` (us-east-1 list prices, "
             f"{prices.AS_OF}; no free tier). Each operation ran alone and the pipeline drained before the next, "
             "with webhook endpoints (local receivers answering 200) subscribed to every event."]
    for label in order:
        result = refs[label]
        lines += _render_tree(label, result)
    for label, error in (report.get("errors") or {}).items():
        lines += ["", f"### {label}: not measured", "", f"```\n{error}\n```"]
    if len(order) > 1:
        lines += _render_ratios(order, refs)
    if report.get("seconds"):
        per_tree = ", ".join(f"{label} {refs[label]['seconds']:.0f} s" for label in order)
        lines += ["", f"The cost run took {report['seconds']:.0f} s ({per_tree})."]
    lines += ["", "Assumptions:", "", *[f"- {a}" for a in report["assumptions"]]]
    return lines


def _render_tree(label: str, result: dict[str, Any]) -> list[str]:
    commit = result["tree"]["commit"]
    detail = result["per_operation_detail"]
    one, two = detail["1_endpoint"], detail["2_endpoints"]
    lines = ["", f"### {label} ({commit})", "",
             "Per operation, 1 endpoint (mean of the runs; WRU includes GSI writes; Lambda over every function "
             "on the path; $ per million with 2 endpoints in the last column):", "",
             "| operation | runs | WRU (table + GSI) | RRU | DynamoDB calls | serial round trips (mean / max) | "
             "Lambda invocations | Lambda billed ms | SQS requests | KMS requests | log bytes | $ per 1M | "
             "$ per 1M, 2 endpoints |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for op in OPERATIONS:
        o = one[op]
        lines.append(f"| {op} | {o['runs']} | {o['wru']:.1f} ({o['wru_table']:.1f} + {o['wru_gsi']:.1f}) | "
                     f"{o['rru']:.1f} | {o['dynamodb_calls']:.1f} | {o['round_trips']:.2f} / {o['round_trips_max']} | "
                     f"{o['lambda_invocations']:.2f} | {o['lambda_ms']:.0f} | {o['sqs_requests']:.2f} | "
                     f"{o['kms_requests']:.2f} | {o['log_bytes']:.0f} | {_money(o['usd_per_million'])} | "
                     f"{_money(two[op]['usd_per_million'])} |")
    functions: dict[str, dict[str, float]] = {}
    for op in OPERATIONS:
        for fn, figures in one[op]["lambda_by_function"].items():
            functions.setdefault(fn, {})[op] = figures["billed_ms"] / max(figures["invocations"], 1e-9)
    lines += ["", "Mean billed ms per invocation, by function and operation (1 endpoint):", "",
              "| function | " + " | ".join(OPERATIONS) + " |", "|---|" + "---:|" * len(OPERATIONS)]
    for fn, per_op in sorted(functions.items()):
        lines.append(f"| {fn} | " + " | ".join(f"{per_op[op]:.0f}" if op in per_op else "—" for op in OPERATIONS)
                     + " |")
    mix = result["mix_components_usd_per_million"]
    lines += ["", "The mixes, $ per million requests by component (read-heavy: 70% retrieve, 20% list, 5% update, "
              "5% create, 1 endpoint; write-heavy: 50% create, 30% update, 20% retrieve, 2 endpoints):", "",
              "| mix | " + " | ".join(cost_model.COMPONENTS) + " | total |",
              "|---|" + "---:|" * (len(cost_model.COMPONENTS) + 1)]
    for name in cost_model.MIXES:
        lines.append(f"| {name} | " + " | ".join(_money(mix[name][c]) for c in cost_model.COMPONENTS) +
                     f" | **{_money(mix[name]['total'])}** |")
    idle = result["idle_components_usd_per_month"]
    parts = list(next(iter(idle.values())))
    lines += ["", "Standing cost with no traffic, $ a month, from the template's settings per stage:", "",
              "| stage | " + " | ".join(parts) + " | total |", "|---|" + "---:|" * (len(parts) + 1)]
    for stage, costs in idle.items():
        lines.append(f"| {stage} | " + " | ".join(_money(costs[p]) for p in parts) +
                     f" | **{_money(sum(costs.values()))}** |")
    flow = result.get("pipeline") or {}
    if flow.get("error"):
        lines += ["", f"The event pipeline's figures could not be measured: {flow['error']}"]
    elif flow:
        lat = flow["write_to_first_delivery_ms"]
        lines += ["", "The event pipeline (a second, unrecorded stack of the same tree):", "",
                  "| measure | value |", "|---|---:|",
                  f"| write → first delivery, p50 / p99 ({lat['n']} sequential creates, 1 endpoint) | "
                  f"{lat['p50']:.0f} / {lat['p99']:.0f} ms |",
                  f"| burst: {flow['creates']} creates from {flow['threads']} threads, API accepted | "
                  f"{flow['api_per_second']:.1f} creates/s |",
                  f"| burst: events through fan-out and delivery (first write → last delivery, "
                  f"{flow['span_s']:.1f} s) | **{flow['events_per_second']:.1f} events/s** |",
                  f"| another account's single event, write → delivery, idle (median of {flow['idle_n']}) | "
                  f"{flow['bystander_idle_ms']:.0f} ms |",
                  f"| the same during the burst, one write a second (median of {flow['during_n']}, max "
                  f"{flow['bystander_burst_max_ms']:.0f} ms) | {flow['bystander_burst_ms']:.0f} ms |",
                  f"| delay one account's burst adds to another's event | **{flow['bystander_ratio']:.1f}×** |"]
    ours = sum(one[op]["rru"] * one[op]["runs"] + two[op]["rru"] * two[op]["runs"] for op in OPERATIONS)
    local = sum(one[op]["rru_reported_by_dynamodb_local"] * one[op]["runs"] +
                two[op]["rru_reported_by_dynamodb_local"] * two[op]["runs"] for op in OPERATIONS)
    lines += ["", f"Read units over all measured runs: {ours:.1f} computed from the items read, "
              f"{local:.1f} as DynamoDB Local reported them (ReturnConsumedCapacity)."]
    if result.get("problems"):
        lines += ["", "Problems seen while measuring: " + "; ".join(result["problems"][:10])]
    return lines


def _render_ratios(order: list[str], refs: dict[str, Any]) -> list[str]:
    before, after = refs[order[0]], refs[order[-1]]
    rows = [("read-heavy, $ per 1M", before["usd_per_million"]["read_heavy"], after["usd_per_million"]["read_heavy"]),
            ("write-heavy, $ per 1M", before["usd_per_million"]["write_heavy"],
             after["usd_per_million"]["write_heavy"])]
    rows += [(f"idle {s}, $ a month", before["idle_usd_per_month"][s], after["idle_usd_per_month"][s])
             for s in ("dev", "staging", "prod")]
    rows += [(f"{op}, $ per 1M", before["per_operation"][op]["usd_per_million"],
              after["per_operation"][op]["usd_per_million"]) for op in OPERATIONS]
    rows += [(f"{op}, serial round trips", before["round_trips"][op], after["round_trips"][op]) for op in OPERATIONS]
    if before.get("pipeline", {}).get("events_per_second") and after.get("pipeline", {}).get("events_per_second"):
        for key, name in (("events_per_second", "burst, events/s"),
                          ("bystander_burst_ms", "bystander during burst, ms")):
            rows.append((name, before["pipeline"][key], after["pipeline"][key]))
        rows.append(("write → delivery p50, ms", before["pipeline"]["write_to_first_delivery_ms"]["p50"],
                     after["pipeline"]["write_to_first_delivery_ms"]["p50"]))
    lines = ["", f"### Before ({order[0]}) and after ({order[-1]}), same run", "",
             f"| measure | {order[0]} | {order[-1]} | after ÷ before |", "|---|---:|---:|---:|"]
    for name, b, a in rows:
        lines.append(f"| {name} | {b:.2f} | {a:.2f} | {(a / b if b else float('nan')):.2f}× |")
    return lines


def to_json(report: dict[str, Any]) -> str:
    """The report as strict JSON (a figure that could not be measured, NaN, is null)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(report), indent=2, allow_nan=False, default=str)


def replace_section(document: str, section: list[str], heading: str = "## What a request costs") -> str:
    """docs/benchmarks.md with one section (by default the cost section) replaced, or appended."""
    text = "\n".join(section).strip("\n")
    if heading not in document:
        return document.rstrip("\n") + "\n\n" + text + "\n"
    start = document.index(heading)
    nxt = document.find("\n## ", start + len(heading))
    rest = document[nxt:] if nxt != -1 else "\n"
    return document[:start] + text + "\n" + rest

