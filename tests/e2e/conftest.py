"""E2E tier: a whole local stack (the same one `make run` starts) in a subprocess, real HTTP to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from customers_core.dal.table import Table
from local_stack.stack import aws_client

from tests.conftest import ROOT

# Webhook retries in seconds, not hours: twelve attempts a second apart. With an endpoint failing 30%
# of the time at random, an event is dead-lettered with probability 0.3^12 ≈ 5e-7 (the contract's
# default schedule has 8 attempts).
RETRY_SCHEDULE = ",".join(["0"] + ["1"] * 11)


@contextmanager
def local_stack(data_dir: Path, **env: str) -> Iterator[dict[str, Any]]:
    """A whole local stack (`make run`'s) in a subprocess with `env` added; stopped on exit."""
    log = (data_dir / "stack.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "local_stack", "--port", "0", "--data-dir", str(data_dir),
                             "--quiet"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "LOG_LEVEL": "WARNING", **env}, start_new_session=True)
    stack_file = data_dir / "stack.json"
    deadline = time.monotonic() + 90
    while not stack_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("local stack did not start:\n" + (data_dir / "stack.log").read_text()[-3000:])
        time.sleep(0.2)
    info = json.loads(stack_file.read_text())
    info["data_dir"] = str(data_dir)
    try:
        yield info
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # The per-account limit counts every request here but never refuses one (the load tests exceed
    # 100/s); test_rate_limit_http runs its own stack at 2/s.
    with local_stack(tmp_path_factory.mktemp("stack"), WEBHOOK_RETRY_SCHEDULE=RETRY_SCHEDULE,
                     RATE_LIMIT_PER_SECOND="1000000") as info:
        yield info


@pytest.fixture(scope="session")
def stack_table(stack: dict[str, Any]) -> Table:
    return Table(stack["table_name"], aws_client("dynamodb", stack["dynamodb_endpoint"]))


@pytest.fixture
def admin(stack: dict[str, Any]):
    """Runs the installed `customers-admin` console script against the stack; returns parsed JSON."""
    script = Path(sys.executable).parent / "customers-admin"

    def run(*args: str) -> dict[str, Any]:
        out = subprocess.run([str(script), "--local", "--stack-file", str(Path(stack["data_dir"]) / "stack.json"),
                              *args], capture_output=True, text=True, check=True, timeout=60)
        return json.loads(out.stdout)

    return run


@pytest.fixture
def new_account(stack_table: Table):
    """A fresh account: returns make_key(mode, *scopes) → secret for that account."""
    from customers_core.logic import api_keys

    account = api_keys.create_account(stack_table, "e2e")

    def make_key(mode: str = "test", *scopes: str) -> str:
        return str(api_keys.create_key(stack_table, account["id"], mode, list(scopes) or None)["secret"])

    make_key.account_id = account["id"]  # type: ignore[attr-defined]
    return make_key
