"""SAM CLI's local mode, run from Python: `sam build` into a folder, `sam local invoke`, `sam local
start-api`; shared by the infrastructure tier (tests/infrastructure/test_sam_local.py) and `make bench`.

Every run passes what a run from the checkout gets from samconfig.toml (`--language-extensions`: the
template uses Fn::ForEach; `--region us-east-1`, the local stack's), `--skip-pull-image` (the base
image is local: sam_local.prepare) and, where the template has one, a longer function timeout
(`local_parameter_overrides`): under emulation a cold start takes longer than Lambda's 10 s."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack import template
from local_stack.processes import free_port
from local_stack.stack import REGION

from sam_local import image

ROOT = template.ROOT
SAM = ROOT / ".venv-sam" / "bin" / "sam"
# The function timeout (s) for local runs, when the template makes it a parameter: an emulated cold
# start (arm64 on x86_64) takes 8-20 s on two busy cores, past Lambda's 10 s.
LOCAL_TIMEOUT = 120
# The events/ samples' webhook host, resolved in the containers to a public address (example.com's),
# as the in-process test resolves it: registration checks the URL's address is public.
SAMPLE_HOSTS = {"hooks.example.com": "93.184.215.14"}


def sam_environment() -> dict[str, str]:
    """SAM's environment: no telemetry, and python3.13 on PATH (sam build's python workflow and
    the layer's Makefile call it; the project's venv has one)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"}


def architectures() -> set[str]:
    globals_ = template.load().get("Globals", {}).get("Function", {})
    return {str(arch) for res in template.resources("AWS::Serverless::Function").values()
            for arch in res["Properties"].get("Architectures", globals_.get("Architectures", ["x86_64"]))}


def emulated() -> bool:
    """Some function's architecture is not this machine's: its container runs under qemu."""
    return any(image.ARCHES[arch].machine != platform.machine() for arch in architectures())


def timeout_parameter() -> str | None:
    """The template parameter that sets the functions' timeout (Globals), if it has one."""
    timeout = template.load().get("Globals", {}).get("Function", {}).get("Timeout")
    return str(timeout["Ref"]) if isinstance(timeout, dict) and "Ref" in timeout else None


def local_parameter_overrides() -> dict[str, str]:
    parameter = timeout_parameter()
    return {parameter: str(LOCAL_TIMEOUT)} if parameter and emulated() else {}


def common_options(env_vars: Path) -> list[str]:
    overrides = local_parameter_overrides()
    return ["--env-vars", str(env_vars), "--skip-pull-image", "--language-extensions", "--region", REGION,
            *[part for host, address in SAMPLE_HOSTS.items() for part in ("--add-host", f"{host}:{address}")],
            *(["--parameter-overrides", " ".join(f"{k}={v}" for k, v in overrides.items())] if overrides else [])]


def build(build_dir: Path, cache_dir: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`sam build` of template.yaml into `build_dir` (the template's own architecture, no container)."""
    return subprocess.run([str(SAM), "build", "-t", str(template.TEMPLATE), "--build-dir", str(build_dir), "--cached",
                           "--cache-dir", str(cache_dir), "--language-extensions", "--region", REGION],
                          cwd=ROOT, env=sam_environment(), capture_output=True, text=True, timeout=timeout,
                          check=False)


@dataclass
class Invocation:
    answer: Any  # the function's result (JSON), None when SAM got none
    stdout: str
    stderr: str
    seconds: float  # the whole `sam local invoke`, wall clock

    @property
    def duration_ms(self) -> float | None:
        """What the runtime emulator reports: init and invoke, inside the container."""
        found = re.search(r"REPORT RequestId: \S+\s+Init Duration: [\d.]+ ms\s+Duration: ([\d.]+) ms", self.stderr)
        return float(found.group(1)) if found else None

    def why_not(self) -> str:
        return f"sam local invoke gave no answer in {self.seconds:.1f} s; its output:\n{self.stderr[-4000:]}"


def invoke(built_template: Path, logical_id: str, event: Path, env_vars: Path, timeout: float = 600) -> Invocation:
    """`sam local invoke` of one function of a built template with an event file."""
    cmd = [str(SAM), "local", "invoke", logical_id, "-t", str(built_template), "-e", str(event),
           *common_options(env_vars)]
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=sam_environment(), capture_output=True, text=True, timeout=timeout,
                            check=False)
    seconds = time.perf_counter() - started
    answer = None
    with contextlib.suppress(ValueError):
        answer = json.loads(result.stdout) if result.stdout.strip() else None
    return Invocation(answer, result.stdout, result.stderr, seconds)


@contextlib.contextmanager
def start_api(built_template: Path, env_vars: Path, log: Path, timeout: float = 300) -> Iterator[str]:
    """`sam local start-api` on a free port, its containers kept warm once started (LAZY), until the
    block ends; yields its base URL once it listens."""
    port = free_port()
    cmd = [str(SAM), "local", "start-api", "-t", str(built_template), "--host", "127.0.0.1", "--port", str(port),
           "--warm-containers", "LAZY", *common_options(env_vars)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=sam_environment(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"sam local start-api exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"sam local start-api did not listen within {timeout:.0f} s:\n"
                                   f"{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        # SIGINT, as Ctrl-C: SAM stops and removes its warm containers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
