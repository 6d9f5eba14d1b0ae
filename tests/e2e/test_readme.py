"""The README's examples run as written, in order, against a fresh local stack: every shell, Python
and JavaScript block, from a folder laid out like the checkout (.venv, node_modules, .local/ with the
stack's stack.json), as a reader copying them would run them."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import local_stack

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Blocks that are not examples against a local stack, by their first line, and why they are not run.
NOT_RUN = {
    "make run": "the test starts the same stack itself (python -m local_stack, which make run runs)",
    "sam build": "runs in a Lambda container: tests/infrastructure/test_sam_local.py runs it as written",
    "export AWS_PROFILE": "deploys to AWS",
}
RUNNERS = {"sh": "bash", "python": "python", "js": "node"}
RECEIVER_PORT = 4000


def readme_blocks() -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in FENCE.findall(README.read_text())]


def runnable() -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in readme_blocks()
            if not any(code.lstrip().startswith(first) for first in NOT_RUN)]


def test_every_readme_block_is_run_or_named_here_with_the_reason():
    blocks = readme_blocks()
    assert all(lang in RUNNERS for lang, _ in blocks), [lang for lang, _ in blocks]
    skipped = [code.lstrip().split("\n", 1)[0] for _, code in blocks if (_, code) not in runnable()]
    assert len(skipped) == len(NOT_RUN), skipped
    langs = [lang for lang, _ in runnable()]
    assert langs.count("sh") >= 2 and "python" in langs and "js" in langs


def json_values(text: str) -> list[object]:
    """The JSON objects printed one after another (curl adds no newline after a body)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            at += 1
            continue
        found.append(value)
        at = end
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Shell:
    """Runs sh blocks one after another in bash, as one terminal session would: the variables and
    functions a block defines are there for the next."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.state = cwd / ".readme-shell-state"
        self.state.write_text("")
        # What a fresh bash defines already is not carried over.
        self.baseline = set(subprocess.run(["bash", "-c", "compgen -v; compgen -A function || true"],
                                           capture_output=True, text=True, check=True).stdout.split())

    def run(self, code: str, timeout: float) -> subprocess.CompletedProcess[str]:
        skip = " ".join(sorted(self.baseline))
        script = (f"set -eo pipefail\nsource {self.state}\n{code}\n"
                  f"for name in $(compgen -v; compgen -A function); do case \" {skip} \" in *\" $name \"*) ;; "
                  f"*) declare -p \"$name\" 2>/dev/null || declare -f \"$name\";; esac; done > {self.state}.new\n"
                  f"mv {self.state}.new {self.state}\n")
        return subprocess.run(["bash", "-c", script], cwd=self.cwd, capture_output=True, text=True, timeout=timeout,
                              env=_env(), check=False)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder laid out like the checkout, the README's commands' working folder."""
    for name in (".venv", "node_modules"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / ".local").mkdir()
    return tmp_path


def test_the_readme_examples_run_as_written_in_order_on_a_fresh_stack(checkout: Path):
    port = RECEIVER_PORT if _port_free(RECEIVER_PORT) else _free_port()
    outputs: list[tuple[str, str, str]] = []  # (lang, first line, output)
    with local_stack(checkout / ".local") as stack:
        shell = Shell(checkout)
        for n, (lang, written) in enumerate(runnable()):
            code = written
            if port != RECEIVER_PORT:  # another program has 4000 on this machine: the only change made
                code = code.replace(f":{RECEIVER_PORT}/", f":{port}/").replace(f"--port {RECEIVER_PORT}",
                                                                               f"--port {port}")
            if lang == "sh":
                done = shell.run(code, timeout=180)
            elif lang == "python":
                script = checkout / f"readme_example_{n}.py"
                script.write_text(code)
                done = subprocess.run([str(checkout / ".venv" / "bin" / "python"), script.name], cwd=checkout,
                                      capture_output=True, text=True, timeout=60, env=_env(), check=False)
            else:
                (checkout / "example.js").write_text(code)  # as the README says: saved as example.js
                done = subprocess.run(["node", "example.js"], cwd=checkout, capture_output=True, text=True,
                                      timeout=60, env=_env(), check=False)
            first = code.strip().split("\n", 1)[0]
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"README {lang} block #{n} ({first}) failed:\n{output[-4000:]}"
            outputs.append((lang, first, output))

        shell_out = "\n".join(out for lang, _, out in outputs if lang == "sh")
        # Each example answered what it shows: the only error is the one the README shows (no key → 401).
        printed = [v for v in json_values(shell_out) if isinstance(v, dict)]
        codes = [v["error"].get("code") for v in printed if isinstance(v.get("error"), dict)]
        assert codes == ["api_key_missing"], (codes, shell_out[-4000:])
        assert "curl: (" not in shell_out, shell_out[-4000:]  # no curl error (a glob, a refused connection)
        # The list with brackets found the customer tagged vip, with a total count.
        listed = next(v for v in printed if "total_count" in v)
        assert listed["total_count"] >= 1 and listed["data"][0]["tags"] == ["vip"]
        # The receiver printed the update (and, unless the machine is slow, its re-send) as verified, and
        # stopped quietly. The array create just before the endpoint was registered may reach it too:
        # the fan-out reads the endpoints when it processes a change, up to a poll later (0.2 s here).
        verified = re.findall(r"(?<!NOT )verified +(\S+) evt_\w+", shell_out)
        assert "customer.updated" in verified and set(verified) <= {"customer.updated", "customer.created"}, \
            shell_out[-6000:]
        assert "NOT verified" not in shell_out and "Traceback" not in shell_out
        assert "receiver stopped" in shell_out
        # The SDK examples printed what they created; the admin CLI made the account and keys.
        assert any(lang == "python" and "ada.python@example.com" in out for lang, _, out in outputs)
        assert any(lang == "js" and "ada.node@example.com" in out for lang, _, out in outputs)
        assert '"revoked": true' in shell_out

        # And the stack holds what the examples made.
        import requests

        key = stack["secret_key"]
        listed_now = requests.get(f"{stack['api_url']}/v1/customers?limit=100",
                                  headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
        emails = {c["email"] for c in listed_now["data"]}
        assert {"grace@example.com", "once@example.com", "a@example.com", "b@example.com",
                "ada.python@example.com", "ada.node@example.com"} <= emails  # ada herself was deleted
