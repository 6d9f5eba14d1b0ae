"""The local stack as a person meets it (`make run` is `python -m local_stack`): a taken port stops
it at once with one line; one access line per request, the JSON logs in files; a clean stop with no
stack.json left; children that die with it however it dies; a start that cleans up after a crash and
refuses a second stack on the same data; /_local/health."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from local_stack.lifecycle import process_start_time

from tests.conftest import ROOT

ACCESS_LINE = re.compile(r"^\d\d:\d\d:\d\d (GET|POST|DELETE) (\S+) (\d{3}) \d+ms (req_\w+|-)$")


def start(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """`python -m local_stack` as make runs it (without --quiet), its terminal output in a file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir.parent / f"{data_dir.name}-{time.monotonic_ns()}.out"
    with out.open("wb") as terminal:
        proc = subprocess.Popen([sys.executable, "-m", "local_stack", "--data-dir", str(data_dir), *args],
                                cwd=ROOT, stdout=terminal, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "LOG_LEVEL": "INFO", **(env or {})})
    return proc, out


def ready(proc: subprocess.Popen[bytes], data_dir: Path, out: Path, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, f"no start:\n{out.read_text()[-3000:]}"
        try:
            info = json.loads((data_dir / "stack.json").read_text())
            if info.get("pid") == proc.pid:
                return dict(info)
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def stop(proc: subprocess.Popen[bytes], signum: int = signal.SIGINT) -> int:
    if proc.poll() is None:
        proc.send_signal(signum)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def test_a_taken_port_stops_the_start_at_once_with_one_line_and_starts_nothing(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        proc, out = start(tmp_path / "data", "--port", str(port))
        code = proc.wait(timeout=30)
        took = time.monotonic() - started
    lines = out.read_text().strip().splitlines()
    assert code == 2, lines
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is already in use" in lines[0], lines
    assert f"pid {os.getpid()}" in lines[0] and f"PORT={port + 1}" in lines[0], lines  # who holds it, what to do
    assert "Traceback" not in lines[0] and took < 15
    assert not (tmp_path / "data" / "logs" / "dynamodb.log").exists()  # nothing was started
    assert not (tmp_path / "data" / "pids.json").exists() and not (tmp_path / "data" / "stack.json").exists()


def test_one_access_line_per_request_logs_in_files_health_and_a_clean_stop(tmp_path: Path):
    data = tmp_path / "data"
    proc, out = start(data, "--port", "0")
    try:
        info = ready(proc, data, out)
        api, key = info["api_url"], {"Authorization": f"Bearer {info['secret_key']}"}
        assert requests.get(f"{api}/v1/customers/cus_x", timeout=10).status_code == 401
        created = requests.post(f"{api}/v1/customers", headers=key, data={"email": "console@example.com"}, timeout=10)
        assert created.status_code == 200
        health = requests.get(f"{api}/_local/health", timeout=10)
    finally:
        code = stop(proc)
    assert code == 0

    report = health.json()
    assert health.status_code == 200 and report["status"] == "ok", report
    assert report["dynamodb"]["ok"] and report["dynamodb"]["table"] == info["table_name"]
    assert report["sqs"]["ok"] and "WebhookDeliveryQueue" in report["sqs"]["queues"]
    assert {p["kind"] for p in report["pollers"]} == {"dynamodb-stream", "sqs"}
    assert all(p["ok"] and p["alive"] for p in report["pollers"]), report["pollers"]
    assert [p["name"] for p in report["processes"]] == ["DynamoDB Local", "moto (SQS, KMS)"]

    lines = out.read_text().splitlines()
    assert lines[0].startswith("customers-api local stack ready in ") and api in lines[0]
    access = [m.groups() for m in map(ACCESS_LINE.match, lines) if m]
    assert access == [("GET", "/v1/customers/cus_x", "401", access[0][3]), ("POST", "/v1/customers", "200",
                                                                            access[1][3]),
                      ("GET", "/_local/health", "200", "-")], lines
    assert access[1][3] == created.headers["Request-Id"]  # the request id the caller got
    assert not any(line.lstrip().startswith("{") for line in lines), "JSON log lines on the console"
    assert not any("Found credentials" in line or "Traceback" in line for line in lines), lines
    # (the last access line may come just after "stopping…": the caller had its answer before it was printed)
    assert lines[-1].startswith("stopped: ") and "stopping…" in lines[-3:-1], lines[-3:]
    assert len(lines) <= 12, lines  # banner, three requests, the stop
    functions_log = (data / "logs" / "functions.log").read_text()
    assert any(json.loads(line).get("level") for line in functions_log.splitlines() if line.startswith("{"))
    assert "Found credentials" in (data / "logs" / "stack.log").read_text()
    assert not (data / "stack.json").exists() and not (data / "pids.json").exists()
    assert not any(alive(pid) for pid in info["children"].values())


def test_children_die_with_a_killed_stack_and_the_next_start_cleans_up_what_a_crash_left(tmp_path: Path):
    data = tmp_path / "data"
    proc, out = start(data, "--port", "0")
    info = ready(proc, data, out)
    children = list(info["children"].values())
    assert len(children) == 2 and all(alive(p) for p in children)
    os.killpg(proc.pid, signal.SIGKILL)  # the stack's whole process group, as a crash test would
    proc.wait(timeout=10)
    assert wait_gone(children, 15) == [], "DynamoDB Local or moto outlived the killed stack"
    assert (data / "stack.json").exists()  # a kill -9 leaves it: the next start deals with it

    # What a run on a system without PR_SET_PDEATHSIG (or a child that ignored it) would leave.
    orphan = subprocess.Popen(["sleep", "300"], start_new_session=True)
    (data / "pids.json").write_text(json.dumps({"owner": 1, "children": [
        {"name": "DynamoDB Local", "pid": orphan.pid, "start": process_start_time(orphan.pid)}]}))
    second, out2 = start(data, "--port", "0")
    try:
        info2 = ready(second, data, out2)
        assert orphan.wait(timeout=15) is not None  # stopped by the start
        text = out2.read_text()
        assert f"the last run did not stop cleanly: stopped what it left running: DynamoDB Local (pid {orphan.pid})" \
            in text, text
        assert info2["secret_key"] == info["secret_key"]  # same data, same key

        third, out3 = start(data, "--port", "0")  # a second stack on the same data folder
        assert third.wait(timeout=30) == 2
        refused = out3.read_text().strip().splitlines()
        assert len(refused) == 1 and f"another local stack is running on {data} (pid {second.pid})" in refused[0]
        assert alive(second.pid) and (data / "stack.json").exists()
    finally:
        assert stop(second, signal.SIGTERM) == 0
        if orphan.poll() is None:
            orphan.kill()
    assert not (data / "stack.json").exists()
    assert wait_gone(list(info2["children"].values()), 5) == []


def test_health_names_what_is_not_well(tmp_path: Path):
    data = tmp_path / "data"
    proc, out = start(data, "--port", "0", "--quiet")
    try:
        info = ready(proc, data, out)
        os.kill(info["children"]["moto (SQS, KMS)"], signal.SIGKILL)
        wait_gone([info["children"]["moto (SQS, KMS)"]], 10)
        answer = requests.get(f"{info['api_url']}/_local/health", timeout=30)
        report = answer.json()
        assert answer.status_code == 503 and report["status"] == "degraded"
        assert report["dynamodb"]["ok"] and not report["sqs"]["ok"] and report["sqs"]["error"]
        assert [(p["name"], p["alive"]) for p in report["processes"]] == [("DynamoDB Local", True),
                                                                           ("moto (SQS, KMS)", False)]
    finally:
        assert stop(proc) == 0
    # The stack's own errors (the SQS poller's) reach the console as single lines; tracebacks only its log.
    assert "Traceback" not in out.read_text() and "Traceback" in (data / "logs" / "stack.log").read_text()
