"""schemathesis against the local stack's /openapi.json: generated requests (valid and invalid,
stateful sequences) with every check, so the spec and the service cannot disagree unnoticed.
tests/e2e/schemathesis.toml lists the three contract rules a schema cannot state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_the_served_spec_is_the_committed_one(stack):
    from local_stack.openapi import SPEC_PATH

    served = requests.get(f"{stack['api_url']}/openapi.json", timeout=10)
    assert served.status_code == 200 and served.text == SPEC_PATH.read_text()


def test_schemathesis_finds_no_failures(stack, new_account):
    key = new_account("test")  # its own account, so other tests' data does not matter
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "run",
               f"{stack['api_url']}/openapi.json", "--url", stack["api_url"], "-H", f"Authorization: Bearer {key}",
               "--max-examples", "30", "--seed", "20261122", "--no-color"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
