"""Starting and stopping the whole local stack; `python -m local_stack` is `make run`.

A start: one stack per data folder (its lock), the HTTP port bound before anything else starts (a taken
port stops the start at once), what a crashed run left stopped, DynamoDB Local and moto started side
by side (each dies with this process, however it ends), the table and queues made from the template,
the pollers started, then the API served and .local/stack.json written. A stop undoes all of it and
removes stack.json. After the start, deliveries the table records as pending whose SQS messages were
lost with moto's memory are queued again (local_stack.recovery)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from customers_core.dal.table import Table
from customers_core.logic import api_keys

from local_stack import docs_page, lifecycle, processes, recovery, template
from local_stack.http_api import ApiServer, HttpApi, bind
from local_stack.lifecycle import StackError
from local_stack.runtime import FunctionPool
from local_stack.sqs_poller import QueuePoller
from local_stack.stream_poller import StreamPoller

log = logging.getLogger("local_stack")
TABLE_NAME = "customers-api-local"
STAGE = "local"
REGION = "us-east-1"


def aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,  # type: ignore[call-overload]
                        aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106 — not a secret


def ensure_table(ddb: Any, name: str) -> None:
    """Create the table from the template's definition, or add GSIs the template gained since."""
    definition = template.table_definition(name)
    try:
        existing = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        ddb.create_table(**definition)
        ddb.get_waiter("table_exists").wait(TableName=name)
        ttl = template.ttl_attribute()
        if ttl:
            ddb.update_time_to_live(TableName=name,
                                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})
        return
    have = {g["IndexName"] for g in existing.get("GlobalSecondaryIndexes", [])}
    for gsi in definition.get("GlobalSecondaryIndexes", []):
        if gsi["IndexName"] not in have:
            ddb.update_table(TableName=name, AttributeDefinitions=definition["AttributeDefinitions"],
                             GlobalSecondaryIndexUpdates=[{"Create": gsi}])


def ensure_queues(sqs: Any) -> dict[str, str]:
    """The template's queues in moto, with their redrive policies; returns logical id → queue URL."""
    urls = {}
    queues = template.queues()
    for logical_id, props in queues.items():
        name = f"{TABLE_NAME}-{logical_id}"
        attributes = {k: str(v) for k, v in props.items()
                      if k in ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds")}
        urls[logical_id] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    for logical_id, props in queues.items():
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = urls[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            policy = {"deadLetterTargetArn": arn, "maxReceiveCount": int(redrive["maxReceiveCount"])}
            sqs.set_queue_attributes(QueueUrl=urls[logical_id], Attributes={"RedrivePolicy": json.dumps(policy)})
    return urls


def local_kms_key(kms_key_file: Path) -> str:
    return str(json.loads(kms_key_file.read_text())["id"])


def ensure_local_key(table: Table, previous: dict[str, Any]) -> tuple[str, str]:
    """Reuse the key from the last run while it still works; otherwise make a local account and key."""
    account_id, secret = previous.get("account_id"), previous.get("secret_key")
    if account_id and secret and "error" not in api_keys.authorize(table, {"x-api-key": secret}, 0):
        return account_id, secret
    account = api_keys.create_account(table, "local")
    key = api_keys.create_key(table, account["id"], "test")
    return account["id"], key["secret"]


def read_local_key(data_dir: Path) -> dict[str, Any]:
    """The local account and key of earlier runs: local-key.json (stack.json goes on stop; older
    runs kept the key only there)."""
    for name in ("local-key.json", "stack.json"):
        with contextlib.suppress(FileNotFoundError, ValueError):
            return dict(json.loads((data_dir / name).read_text()))
    return {}


def write_json(path: Path, data: dict[str, Any], mode: int = 0o644) -> None:
    """Written whole or not at all: readers never see a half-written file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.chmod(tmp, mode)
    tmp.replace(path)


@dataclass
class LocalStack:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 3000
    quiet: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    console: Any = None  # local_stack.console.Console: access lines (unless quiet) and notices
    cleaned: list[lifecycle.Child] = field(default_factory=list)  # what a crashed run had left running
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _pollers: list[StreamPoller] = field(default_factory=list)
    _queue_pollers: list[QueuePoller] = field(default_factory=list)
    _server: ApiServer | None = None
    _lock: lifecycle.DataDirLock | None = None
    _record: lifecycle.ChildRecord | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _started: float = 0.0
    _recovery: threading.Thread | None = None
    _serving: bool = False
    recovered: recovery.Result | None = None

    def start(self) -> dict[str, Any]:
        """Start everything; raises StackError (its message the one line to show) and leaves nothing
        running if a part cannot start."""
        self._started = time.time()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        self._lock = lifecycle.DataDirLock(self.data_dir)
        self._lock.acquire()
        try:
            return self._start(logs)
        except BaseException:
            self.stop()
            raise

    def _start(self, logs: Path) -> dict[str, Any]:
        self._server = bind(self.host, self.port)  # before anything starts: a taken port ends it here
        self.port = int(self._server.server_address[1])
        self.cleaned = lifecycle.stop_leftovers(self.data_dir)
        self._record = lifecycle.ChildRecord(self.data_dir)
        ddb_port, sqs_port = processes.free_port(), processes.free_port()
        kms_key_file = self.data_dir / "kms-local-key.json"
        # Both start at once (the JVM takes the longest); Popen runs on this thread, which lives as long
        # as the stack, so PR_SET_PDEATHSIG ties the children to the stack's life.
        ddb_proc = processes.spawn_dynamodb_local(ddb_port, self.data_dir / "dynamodb", logs / "dynamodb.log",
                                                  quick_start=True)
        self._adopt("DynamoDB Local", ddb_proc)
        moto_proc = processes.spawn_moto_server(sqs_port, logs / "moto.log", kms_key_file)
        self._adopt("moto (SQS, KMS)", moto_proc)
        try:
            processes.wait_for_port(ddb_port, ddb_proc, 60, "DynamoDB Local")
            processes.wait_for_port(sqs_port, moto_proc, 60, "moto server")
        except RuntimeError as exc:
            raise StackError(f"{exc} (its log: {logs})") from None
        ddb_url, sqs_url = f"http://127.0.0.1:{ddb_port}", f"http://127.0.0.1:{sqs_port}"

        ddb, sqs, streams = aws_client("dynamodb", ddb_url), aws_client("sqs", sqs_url), \
            aws_client("dynamodbstreams", ddb_url)
        self._clients = {"dynamodb": ddb, "sqs": sqs, "ddb_url": ddb_url, "sqs_url": sqs_url}
        # The table (DynamoDB Local's first, slowest answer) and the queues (moto) at the same time.
        with ThreadPoolExecutor(max_workers=1) as beside:
            queues_made = beside.submit(ensure_queues, sqs)
            ensure_table(ddb, TABLE_NAME)
            queue_urls = queues_made.result()
        self._clients["queues"] = queue_urls

        functions = template.functions()
        # The functions' environment: the template's Globals and each function's own variables (one
        # process runs them all, so they share one environment), with Refs resolved to local things.
        refs = {**template.parameter_defaults(), "Stage": STAGE, "LogLevel": os.environ.get("LOG_LEVEL", "INFO"),
                template.table_logical_id(): TABLE_NAME, **queue_urls,
                **dict.fromkeys(template.kms_keys(), local_kms_key(kms_key_file))}
        if os.environ.get("WEBHOOK_RETRY_SCHEDULE"):  # `make run` passes it through, e.g. "0,1,1,1"
            refs["WebhookRetrySchedule"] = os.environ["WEBHOOK_RETRY_SCHEDULE"]
        if os.environ.get("RATE_LIMIT_PER_SECOND"):  # likewise: `make run RATE_LIMIT_PER_SECOND=0` turns it off
            refs["RateLimitPerSecond"] = os.environ["RATE_LIMIT_PER_SECOND"]
        env = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
               **template.global_environment(refs),
               **{k: v for fn in functions.values() for k, v in template.resolve_environment(fn.environment,
                                                                                             refs).items()},
               # After the template's: it declares these empty (for sam local's --env-vars).
               "AWS_ENDPOINT_URL_DYNAMODB": ddb_url, "AWS_ENDPOINT_URL_SQS": sqs_url, "AWS_ENDPOINT_URL_KMS": sqs_url,
               # The local stack alone lets webhook endpoints be http://127.0.0.1 (local receivers).
               "WEBHOOK_ALLOW_LOCAL_HTTP": "true",
               # Metrics reach CloudWatch through the logs; locally they would only be noise.
               "POWERTOOLS_METRICS_DISABLED": "true",
               **self.environment}
        os.environ.update(env)

        table = Table(TABLE_NAME, ddb)
        stack_file = self.data_dir / "stack.json"
        account_id, secret = ensure_local_key(table, read_local_key(self.data_dir))
        write_json(self.data_dir / "local-key.json", {"account_id": account_id, "secret_key": secret}, 0o600)

        pools = {name: FunctionPool(fn) for name, fn in functions.items()}
        routes = [route for fn in functions.values() for route in fn.routes]
        api = HttpApi(routes, pools, extra=self._documents(), local={"/_local/health": self.health})
        for name, fn in functions.items():
            if fn.stream:
                failure = (fn.stream.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
                failure_queue = queue_urls.get(failure["Fn::GetAtt"][0]) if isinstance(failure, dict) else None
                poller = StreamPoller(streams=streams, dynamodb=ddb, sqs=sqs, table_name=TABLE_NAME,
                                      pool=pools[name], mapping=fn.stream, failure_queue_url=failure_queue,
                                      checkpoint_path=self.data_dir / f"stream-{name}.json")
                poller.start()
                self._pollers.append(poller)
            if fn.queue:
                queue_url = queue_urls[fn.queue["Queue"]["Fn::GetAtt"][0]]
                queue_poller = QueuePoller(sqs=sqs, queue_url=queue_url, pool=pools[name], mapping=fn.queue)
                queue_poller.start()
                self._queue_pollers.append(queue_poller)

        server = self._server
        server.api = api
        server.console = None if self.quiet else self.console
        threading.Thread(target=server.serve_forever, name="http-api", daemon=True).start()
        self._serving = True

        self.info = {"api_url": f"http://{self.host}:{self.port}", "dynamodb_endpoint": ddb_url,
                     "sqs_endpoint": sqs_url, "table_name": TABLE_NAME, "account_id": account_id,
                     "secret_key": secret, "queues": queue_urls, "kms_key_id": local_kms_key(kms_key_file),
                     "pid": os.getpid(), "children": {c.name: c.pid for c in self._record.children},
                     "docs_url": f"http://{self.host}:{self.port}/docs/" if "/docs/" in api.extra else None,
                     "health_url": f"http://{self.host}:{self.port}/_local/health",
                     "started_at": time.time()}
        write_json(stack_file, self.info)
        # Deliveries the table still records as pending lost their messages with moto's memory: queue
        # them again, in the background (it reads the table; the API is ready meanwhile).
        self._recovery = threading.Thread(target=self._recover, args=(table,), name="recovery", daemon=True)
        self._recovery.start()
        return self.info

    def _adopt(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self._procs.append(proc)
        if self._record is not None:
            self._record.add(name, proc.pid)

    def _recover(self, table: Table) -> None:
        try:
            self.recovered = recovery.requeue_lost_deliveries(table)
        except Exception:
            if self._serving:  # not while stopping (moto may be gone)
                log.exception("re-queueing pending webhook deliveries failed")
            return
        if self.recovered.requeued and self.console is not None:
            self.console.line(f"re-queued {self.recovered.requeued} webhook deliveries that were pending when the "
                              "last run stopped (moto's SQS keeps no messages across runs)")

    def _documents(self) -> dict[str, tuple[str, bytes]]:
        """/openapi.json, and the API reference at /docs/ (when node_modules has its assets)."""
        spec = template.ROOT / "docs" / "openapi.json"
        if not spec.exists():
            return {}
        try:
            return docs_page.routes(spec)
        except FileNotFoundError as exc:
            log.warning("no API reference at /docs: %s", exc)
            return {"/openapi.json": ("application/json", spec.read_bytes())}

    def health(self) -> tuple[int, dict[str, str], bytes]:
        """/_local/health: DynamoDB Local (the table answers), moto's SQS (each queue's depth), the
        pollers (alive, last good poll), the child processes. 200 when all is well, else 503."""
        from botocore.config import Config  # noqa: PLC0415

        quick = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
        report: dict[str, Any] = {"uptime_s": round(time.time() - self._started, 1)}
        started = time.perf_counter()
        try:
            client = boto3.client("dynamodb", endpoint_url=self._clients["ddb_url"], region_name=REGION, config=quick,
                                  aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106
            table = client.describe_table(TableName=TABLE_NAME)["Table"]
            report["dynamodb"] = {"ok": table["TableStatus"] == "ACTIVE", "endpoint": self._clients["ddb_url"],
                                  "table": TABLE_NAME, "items_approx": table.get("ItemCount"),
                                  "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as exc:
            report["dynamodb"] = {"ok": False, "endpoint": self._clients.get("ddb_url"), "error": str(exc)[:300]}
        started = time.perf_counter()
        try:
            client = boto3.client("sqs", endpoint_url=self._clients["sqs_url"], region_name=REGION, config=quick,
                                  aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106
            depths = {}
            for logical_id, url in self._clients["queues"].items():
                attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"])["Attributes"]
                depths[logical_id] = {"visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                                      "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                                      "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))}
            report["sqs"] = {"ok": True, "endpoint": self._clients["sqs_url"], "queues": depths,
                             "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as exc:
            report["sqs"] = {"ok": False, "endpoint": self._clients.get("sqs_url"), "error": str(exc)[:300]}
        pollers = [p.status() for p in self._pollers] + [q.status() for q in self._queue_pollers]
        for poller in pollers:
            # Well: it polled without an error in the last 30 s, or it is on its first poll still.
            first_poll = poller["last_ok_s_ago"] is None and not poller["errors"]
            recent = poller["last_ok_s_ago"] is not None and poller["last_ok_s_ago"] < 30
            poller["ok"] = bool(poller["alive"] and (recent or first_poll))
        report["pollers"] = pollers
        names = {c.pid: c.name for c in (self._record.children if self._record else [])}
        report["processes"] = [{"name": names.get(p.pid, "?"), "pid": p.pid, "alive": p.poll() is None}
                               for p in self._procs]
        if self.recovered is not None:
            report["recovery"] = vars(self.recovered)
        healthy = (report["dynamodb"]["ok"] and report["sqs"]["ok"] and all(p["ok"] for p in pollers)
                   and all(p["alive"] for p in report["processes"]))
        report = {"status": "ok" if healthy else "degraded", **report}
        body = json.dumps(report, indent=2).encode()
        return (200 if healthy else 503), {"content-type": "application/json", "cache-control": "no-store"}, body

    def stop(self) -> None:
        """Stop everything started (in order: intake, pollers, children), remove stack.json and the
        children's record, release the data folder. Safe to call twice, or after a failed start."""
        for poller in self._pollers:
            poller.stop()
        for queue_poller in self._queue_pollers:
            queue_poller.stop()
        if self._server is not None:
            if self._serving:
                self._server.shutdown()
                self._serving = False
            self._server.server_close()
            self._server = None
        for poller in self._pollers:
            poller.join(timeout=5)
        for queue_poller in self._queue_pollers:
            queue_poller.join(timeout=5)
        self._pollers.clear()
        self._queue_pollers.clear()
        for proc in reversed(self._procs):
            processes.stop(proc)
        self._procs.clear()
        if self._record is not None:
            self._record.clear()
            self._record = None
        if self._lock is not None:
            lifecycle.remove_stack_file(self.data_dir / "stack.json", os.getpid())
            self._lock.release()
            self._lock = None
