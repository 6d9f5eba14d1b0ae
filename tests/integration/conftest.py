"""Integration tier: the real engine. A session-wide DynamoDB Local of our own, on a free port,
with its data in a temporary folder; each test gets a fresh table made from template.yaml."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from customers_core.dal.table import Table
from local_stack import processes, template
from local_stack.stack import aws_client

_n = itertools.count()


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("ddb")
    port = processes.free_port()
    proc = processes.start_dynamodb_local(port, data_dir, data_dir / "ddb.log")
    endpoint = f"http://127.0.0.1:{port}"
    client = _client("dynamodb", endpoint)
    # Is it ours? Another process could have taken the port between our check and Java's bind; then
    # our Java would have exited. Ours is alive, and a table we create appears in *our* data folder.
    client.create_table(**template.table_definition("ownership-probe"))
    assert proc.poll() is None, "DynamoDB Local exited: the port was taken by someone else"
    assert (data_dir / "shared-local-instance.db").exists(), "the DynamoDB Local answering is not ours"
    yield endpoint
    processes.stop(proc)


_client = aws_client


@pytest.fixture
def ddb_client(dynamodb_local: str):
    return _client("dynamodb", dynamodb_local)


@pytest.fixture
def streams_client(dynamodb_local: str):
    return _client("dynamodbstreams", dynamodb_local)


@pytest.fixture
def table(ddb_client, monkeypatch: pytest.MonkeyPatch, dynamodb_local: str) -> Table:
    name = f"it-{os.getpid()}-{next(_n)}"
    ddb_client.create_table(**template.table_definition(name))
    monkeypatch.setenv("TABLE_NAME", name)
    return Table(name, ddb_client)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server (SQS and KMS) as the local stack runs it, on a free port."""
    data_dir: Path = tmp_path_factory.mktemp("moto")
    port = processes.free_port()
    proc = processes.start_moto_server(port, data_dir / "moto.log", data_dir / "kms-key.json")
    yield f"http://127.0.0.1:{port}"
    processes.stop(proc)


@pytest.fixture
def webhook_aws(table: Table, dynamodb_local: str, moto_server: str,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The functions' AWS environment over DynamoDB Local and moto's server: a fresh KMS key and a
    delivery queue, dead-letter queue and stream failure queue of their own; local receivers allowed."""
    from tests.conftest import clear_caches, function_environment

    n = next(_n)
    sqs, kms = _client("sqs", moto_server), _client("kms", moto_server)
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local, "AWS_ENDPOINT_URL_SQS": moto_server,
        "AWS_ENDPOINT_URL_KMS": moto_server, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1", "WEBHOOK_ALLOW_LOCAL_HTTP": "true",
        "WEBHOOK_KEY_ID": kms.create_key()["KeyMetadata"]["KeyId"],
        "WEBHOOK_QUEUE_URL": sqs.create_queue(QueueName=f"deliveries-{n}")["QueueUrl"],
        "WEBHOOK_DEAD_LETTER_QUEUE_URL": sqs.create_queue(QueueName=f"dead-letters-{n}")["QueueUrl"],
        "STREAM_FAILURE_QUEUE_URL": sqs.create_queue(QueueName=f"stream-failures-{n}")["QueueUrl"],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    function_environment(monkeypatch)
    clear_caches()
    yield env
    clear_caches()
