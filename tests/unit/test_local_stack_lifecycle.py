"""The local stack's start and stop bookkeeping (local_stack.lifecycle), the children's death with
their parent (local_stack.processes), the console's lines, and `make help`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from local_stack import lifecycle, processes
from local_stack.console import Console
from local_stack.lifecycle import ChildRecord, DataDirLock, StackError

from tests.conftest import ROOT


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "300"], start_new_session=True)


def test_one_stack_per_data_folder(tmp_path: Path):
    first = DataDirLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(StackError) as refused:
            DataDirLock(tmp_path).acquire()
        assert refused.value.exit_code == 2
        assert str(refused.value).startswith(f"another local stack is running on {tmp_path} (pid {os.getpid()})")
    finally:
        first.release()
    again = DataDirLock(tmp_path)
    again.acquire()  # released: free again
    again.release()


def test_a_start_stops_what_a_crashed_run_recorded_and_nothing_else(tmp_path: Path):
    left, bystander = _sleeper(), _sleeper()
    try:
        record = ChildRecord(tmp_path)
        record.add("DynamoDB Local", left.pid)
        # A recorded pid now used by another process (its start time differs) is not touched.
        data = json.loads(record.path.read_text())
        data["children"].append({"name": "moto", "pid": bystander.pid, "start": 1})
        record.path.write_text(json.dumps(data))
        (tmp_path / "stack.json").write_text('{"pid": 1}')
        stopped = lifecycle.stop_leftovers(tmp_path)
        assert [(c.name, c.pid) for c in stopped] == [("DynamoDB Local", left.pid)]
        assert left.wait(timeout=10) is not None and bystander.poll() is None
        assert not record.path.exists() and not (tmp_path / "stack.json").exists()
    finally:
        for proc in (left, bystander):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_stack_json_is_removed_only_by_its_own_stack(tmp_path: Path):
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps({"pid": 12345}))
    lifecycle.remove_stack_file(stack_file, 999)
    assert stack_file.exists()
    lifecycle.remove_stack_file(stack_file, 12345)
    assert not stack_file.exists()


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path):
    """A parent process spawns a child as the stack spawns DynamoDB Local, then is killed -9."""
    script = ("import sys, time; sys.path[:0] = sys.argv[1:3]\n"
              "from local_stack import processes\n"
              "from pathlib import Path\n"
              "child = processes.spawn(['sleep', '300'], Path(sys.argv[3]))\n"
              "print(child.pid, flush=True); time.sleep(300)\n")
    parent = subprocess.Popen([sys.executable, "-c", script, str(ROOT / "tools"), str(ROOT / "layers/core/python"),
                               str(tmp_path / "child.log")], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert Path(f"/proc/{child}").exists()
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child), "the child outlived its parent"


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead child waits as a zombie until its new parent reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_spawned_children_get_the_parent_death_signal():
    assert processes._die_with_parent() is not None  # Linux: PR_SET_PDEATHSIG is asked for


class _Terminal:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_access_line_has_method_path_status_duration_and_request_id():
    terminal = _Terminal()
    console = Console(terminal)  # type: ignore[arg-type]
    console.access("POST", "/v1/customers", 200, 12.6, "req_01ABC")
    console.access("GET", "/_local/health", 200, 3.0, None)
    first, second = terminal.text.splitlines()
    assert first[8:] == " POST /v1/customers 200 13ms req_01ABC" and first[2] == ":" and first[5] == ":"
    assert second.endswith(" GET /_local/health 200 3ms -")


def test_make_help_lists_every_variable_with_its_default():
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={k: v for k, v in os.environ.items() if k not in (
                             "PORT", "STAGE", "WEBHOOK_RETRY_SCHEDULE", "RATE_LIMIT_PER_SECOND", "LOG_LEVEL",
                             "BENCH_ARGS")}).stdout
    assert "$(" not in out, out  # nothing shown unexpanded
    assert "make run                the local stack on 127.0.0.1:3000 (Ctrl-C stops it)" in out
    assert "sam deploy --config-env dev" in out
    variables = out.split("Variables", 1)[1]
    for name, default in [("PORT", "3000"), ("STAGE", "dev"), ("WEBHOOK_RETRY_SCHEDULE", ""),
                          ("RATE_LIMIT_PER_SECOND", ""), ("LOG_LEVEL", "INFO"), ("BENCH_ARGS", ""), ("PYTHON313", "")]:
        assert f"  {name}={default}" in variables, (name, variables)
    for target in ("run", "test", "docs", "bench", "bench-start", "deploy", "clean"):
        assert f"  make {target} " in out


def test_make_passes_the_stacks_variables_through_the_environment_only_when_set():
    def seen(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("RATE_LIMIT_PER_SECOND", "WEBHOOK_RETRY_SCHEDULE")}
        return subprocess.run(["make", "--no-print-directory", "--eval",
                               'probe: ; @echo "[$${RATE_LIMIT_PER_SECOND-unset}] [$${WEBHOOK_RETRY_SCHEDULE-unset}]"',
                               "probe", *args], cwd=ROOT, capture_output=True, text=True, check=True, env=env).stdout
    assert seen().strip() == "[unset] [unset]"
    assert seen("RATE_LIMIT_PER_SECOND=0", "WEBHOOK_RETRY_SCHEDULE=0,2,5").strip() == "[0] [0,2,5]"
