"""Starting and stopping the whole local stack; `python -m local_stack` is `make run`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from customers_core.dal.table import Table
from customers_core.logic import api_keys

from local_stack import processes, template
from local_stack.http_api import HttpApi, serve
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


@dataclass
class LocalStack:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 3000
    quiet: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _pollers: list[StreamPoller] = field(default_factory=list)
    _queue_pollers: list[QueuePoller] = field(default_factory=list)
    _server: Any = None

    def start(self) -> dict[str, Any]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        ddb_port, sqs_port = processes.free_port(), processes.free_port()
        self._procs.append(processes.start_dynamodb_local(ddb_port, self.data_dir / "dynamodb", logs / "dynamodb.log"))
        kms_key_file = self.data_dir / "kms-local-key.json"
        self._procs.append(processes.start_moto_server(sqs_port, logs / "moto.log", kms_key_file))
        ddb_url, sqs_url = f"http://127.0.0.1:{ddb_port}", f"http://127.0.0.1:{sqs_port}"

        ddb, sqs, streams = aws_client("dynamodb", ddb_url), aws_client("sqs", sqs_url), \
            aws_client("dynamodbstreams", ddb_url)
        ensure_table(ddb, TABLE_NAME)
        queue_urls = ensure_queues(sqs)

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
               "AWS_ENDPOINT_URL_DYNAMODB": ddb_url, "AWS_ENDPOINT_URL_SQS": sqs_url, "AWS_ENDPOINT_URL_KMS": sqs_url,
               **template.global_environment(refs),
               **{k: v for fn in functions.values() for k, v in template.resolve_environment(fn.environment,
                                                                                             refs).items()},
               # The local stack alone lets webhook endpoints be http://127.0.0.1 (local receivers).
               "WEBHOOK_ALLOW_LOCAL_HTTP": "true",
               # Metrics reach CloudWatch through the logs; locally they would only be noise.
               "POWERTOOLS_METRICS_DISABLED": "true",
               **self.environment}
        os.environ.update(env)

        table = Table(TABLE_NAME, ddb)
        stack_file = self.data_dir / "stack.json"
        previous = json.loads(stack_file.read_text()) if stack_file.exists() else {}
        account_id, secret = ensure_local_key(table, previous)

        pools = {name: FunctionPool(fn) for name, fn in functions.items()}
        routes = [route for fn in functions.values() for route in fn.routes]
        api = HttpApi(routes, pools, extra=self._documents())
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

        self._server = serve(api, self.host, self.port)
        self._server.quiet = self.quiet
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True).start()

        self.info = {"api_url": f"http://{self.host}:{self.port}", "dynamodb_endpoint": ddb_url,
                     "sqs_endpoint": sqs_url, "table_name": TABLE_NAME, "account_id": account_id,
                     "secret_key": secret, "queues": queue_urls, "kms_key_id": local_kms_key(kms_key_file),
                     "pid": os.getpid(),
                     "started_at": time.time()}
        tmp = stack_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.info, indent=2))
        tmp.replace(stack_file)  # readers never see a half-written file
        return self.info

    def _documents(self) -> dict[str, tuple[str, bytes]]:
        spec = template.ROOT / "docs" / "openapi.json"
        return {"/openapi.json": ("application/json", spec.read_bytes())} if spec.exists() else {}

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        for queue_poller in self._queue_pollers:
            queue_poller.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for poller in self._pollers:
            poller.join(timeout=5)
        for queue_poller in self._queue_pollers:
            queue_poller.join(timeout=5)
        for proc in reversed(self._procs):
            processes.stop(proc)
        self._procs.clear()
