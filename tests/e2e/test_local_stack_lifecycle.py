"""`make run` twice: the second start reuses the data and the key; Ctrl-C stops every process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import ROOT


def _start(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict]:
    stack_file = data_dir / "stack.json"
    # Both runs' output goes to one log, which a failed assertion shows.
    proc = subprocess.Popen([sys.executable, "-m", "local_stack", "--port", "0", "--data-dir", str(data_dir),
                             "--quiet"], cwd=ROOT, stdout=(data_dir / "stacks.log").open("ab"),
                            stderr=subprocess.STDOUT, env={**os.environ, "LOG_LEVEL": "WARNING"})
    deadline = time.monotonic() + 90
    while True:  # the file of a previous run stays; wait for this process's own
        assert proc.poll() is None and time.monotonic() < deadline, "local stack did not start"
        try:
            info = json.loads(stack_file.read_text())
            if info.get("pid") == proc.pid:
                return proc, info
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.2)


def _children_alive(info: dict) -> bool:
    import socket

    port = int(info["dynamodb_endpoint"].rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_second_start_reuses_data_and_key_and_ctrl_c_stops_everything(tmp_path):
    proc, first = _start(tmp_path)
    try:
        created = requests.post(f"{first['api_url']}/v1/customers", headers={"x-api-key": first["secret_key"]},
                                json={"name": "Persistent"}, timeout=10).json()
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=30) == 0
    assert not _children_alive(first), "DynamoDB Local outlived the stack"

    proc, second = _start(tmp_path)
    try:
        assert second["secret_key"] == first["secret_key"]
        fetched = requests.get(f"{second['api_url']}/v1/customers/{created['id']}",
                               headers={"x-api-key": second["secret_key"]}, timeout=10)
        assert fetched.status_code == 200 and fetched.json()["name"] == "Persistent", \
            (fetched.text, (tmp_path / "stacks.log").read_text()[-4000:])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
