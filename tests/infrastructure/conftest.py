"""Infrastructure tier: the template, checked with the tools of its own venvs (make install)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def tool(venv: str, name: str) -> Path:
    path = ROOT / venv / "bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make install`")
    return path


def run_tool(cmd: list[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    # sam build needs python3.13 on PATH; the project's venv has it.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False)
