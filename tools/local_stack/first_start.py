"""`make bench-start`: how long a new developer waits for `make run`, the first time and after.

    python3 tools/local_stack/first_start.py [--into docs/benchmarks.md] [--out FILE] [--restarts 3]

It clones this checkout into a temporary folder (the committed tree, plus the working tree's
uncommitted changes and new files, so what is measured is the tree as it is), with pip's, uv's and
npm's caches empty (new folders: as a new developer has them), and runs `make run PORT=0` there as a
person would: the first start installs .venv (requirements/run.txt) and node_modules/, then starts the
stack; it is ready when `GET /v1/customers` with the printed key answers 200. Then Ctrl-C (SIGINT to
make's process group), and `make run` again, `--restarts` times. Standard library only."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clone(dest: Path) -> None:
    """A fresh clone of ROOT with its uncommitted changes and untracked files laid on top."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True)
    diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--binary"], check=True, capture_output=True).stdout
    if diff.strip():
        subprocess.run(["git", "-C", str(dest), "apply", "--whitespace=nowarn", "-"], input=diff, check=True)
    untracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--others", "--exclude-standard", "-z"],
                               check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in untracked)):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


class Run:
    """One `make run PORT=0` in `tree`, its output lines timestamped as they arrive."""

    def __init__(self, tree: Path, env: dict[str, str]) -> None:
        self.tree = tree
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(["make", "--no-print-directory", "run", "PORT=0"], cwd=tree, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.append((time.monotonic() - self.started, raw.decode(errors="replace").rstrip()))

    def at(self, prefix: str) -> float | None:
        return next((t for t, line in self.lines if line.startswith(prefix)), None)

    def wait_ready(self, timeout: float) -> float:
        """Seconds from `make run` until the API answered 200 to a keyed request."""
        stack_file = self.tree / ".local" / "stack.json"
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("make run ended:\n" + "\n".join(line for _, line in self.lines[-30:]))
            try:
                info = json.loads(stack_file.read_text())
                request = urllib.request.Request(f"{info['api_url']}/v1/customers",  # noqa: S310 — http, loopback
                                                 headers={"Authorization": f"Bearer {info['secret_key']}"})
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return time.monotonic() - self.started
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"not ready within {timeout:.0f} s")

    def stop(self) -> tuple[int, str]:
        os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        code = self.proc.wait(timeout=60)
        time.sleep(0.1)
        return code, self.lines[-1][1] if self.lines else ""


def measure(tree: Path, env: dict[str, str], restarts: int) -> dict[str, object]:
    load_before = os.getloadavg()[0]
    first = Run(tree, env)
    first_ready = first.wait_ready(600)
    ready_line = next((line for _, line in first.lines if "ready in" in line), "")
    code, last = first.stop()
    again = []
    for _ in range(restarts):
        run = Run(tree, env)
        again.append(run.wait_ready(120))
        run.stop()
    return {"first": first_ready, "first_ready_line": ready_line, "first_stop": (code, last),
            "load_before": load_before, "load_after": os.getloadavg()[0],
            "pip_started": first.at("==> Python packages"), "npm_started": first.at("==> npm packages"),
            "stack_started": first.at("customers-api local stack ready"), "restarts": again,
            "first_lines": [line for _, line in first.lines]}


def report(result: dict[str, object], command: str, notes: list[str]) -> str:
    restarts = [float(x) for x in result["restarts"]]  # type: ignore[attr-defined]
    pip_at, npm_at = result["pip_started"], result["npm_started"]
    first = float(result["first"])  # type: ignore[arg-type]
    rows = [("first start (fresh clone, empty pip, uv and npm caches): `make run` to a 200", f"{first:.1f} s",
             "≤ 45 s"),
            (f"restart (`make run` again, data kept; median of {len(restarts)})",
             f"{statistics.median(restarts):.1f} s", "≤ 5 s"),
            ("slowest restart", f"{max(restarts):.1f} s", "")]
    if isinstance(pip_at, float) and isinstance(npm_at, float):
        rows.insert(1, ("of the first start: the virtual environment and its packages (uv, progress shown)",
                        f"{npm_at - pip_at:.1f} s", ""))
    stopped: tuple[int, str] = result["first_stop"]  # type: ignore[assignment]
    last = stopped[1]
    lines = [
        f"# {_TITLE}",
        "",
        "What a new developer waits for: `make run` on a fresh clone, and again afterwards.",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this {os.cpu_count()}-core machine "
        f"({platform.system()} {platform.machine()}, shared with other work while it ran) with:",
        "",
        "```sh",
        command,
        "```",
        "",
        "| what | measured | goal |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"The stack's own banner said: `{result['first_ready_line']}` (its process only: interpreter start,",
        "DynamoDB Local and moto started side by side, the table and queues checked, the key found).",
        f"Ctrl-C (SIGINT to make's process group) then stopped it; its last line: `{last}`",
        f"Restarts, each `make run` to a 200: {', '.join(f'{x:.1f} s' for x in restarts)}.",
        f"Load average (1 min) of the machine when the first start began: {result['load_before']:.1f}; "
        f"after the restarts: {result['load_after']:.1f} (other sessions' tests and benchmarks share the "
        "two cores; a higher load makes every figure longer).",
        "",
        "How it was measured (`tools/local_stack/first_start.py`):",
        *[f"- {note}" for note in notes],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the report here (markdown)")
    parser.add_argument("--into", type=Path,
                        help="put the report into this markdown file as its section '## First start and restart "
                             "of the local stack' (replaced if there, else appended): make bench's docs/benchmarks.md")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="first-start-"))
    tree = work / "fresh"
    try:
        clone(tree)
        env = {**os.environ, "PIP_CACHE_DIR": str(work / "pip-cache"), "UV_CACHE_DIR": str(work / "uv-cache"),
               "npm_config_cache": str(work / "npm-cache")}
        for name in ("VIRTUAL_ENV", "PORT", "PYTHONPATH"):
            env.pop(name, None)
        result = measure(tree, env, args.restarts)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    command = (f"git clone {ROOT} /tmp/fresh   # plus the working tree's uncommitted changes\n"
               "cd /tmp/fresh && PIP_CACHE_DIR=$(mktemp -d) UV_CACHE_DIR=$(mktemp -d) \\\n"
               "    npm_config_cache=$(mktemp -d) make run PORT=0\n"
               "# ready: GET /v1/customers with the key from .local/stack.json answers 200; then Ctrl-C, and\n"
               "# make run PORT=0 again (restart)")
    notes = [
        "the clone is of the committed tree with the working tree's uncommitted changes applied and its "
        "new files copied (the tree as it was at the time), without .venv, node_modules or .local;",
        "pip's, uv's and npm's caches are new, empty folders (`PIP_CACHE_DIR`, `UV_CACHE_DIR`, "
        "`npm_config_cache`), so every package is downloaded; pip installs uv (requirements/bootstrap.txt), uv "
        "installs requirements/run.txt from PyPI; this machine's pip configuration (its package index "
        "settings) is the one every developer's machine of this kind has, and was left as it is;",
        "the clock runs from starting `make run` until `GET /v1/customers` with the key from "
        ".local/stack.json answers 200 (polled every 50 ms), so it includes make, the virtual "
        "environment, pip, uv, npm, and the stack's start;",
        "Ctrl-C is SIGINT to make's process group, as a terminal sends it; each restart is a new `make run` "
        "in the same clone (the data, .venv and node_modules kept).",
    ]
    text = report(result, command, notes)
    print(text)
    print("\n".join(f"  | {line}" for line in result["first_lines"][:60]), file=sys.stderr)  # type: ignore[index]
    if args.out:
        args.out.write_text(text)
    if args.into:
        existing = args.into.read_text() if args.into.exists() else "# Benchmarks\n"
        args.into.write_text(into_section(existing, text))
    return 0


def into_section(document: str, report_text: str) -> str:
    """`document` with the report as its second-level section (the report's own title demoted)."""
    section = report_text.replace(f"# {_TITLE}", f"## {_TITLE}", 1).strip("\n")
    section = "\n".join(line.replace("## Every run", "### Every run", 1) if line.startswith("## Every run") else line
                        for line in section.splitlines())
    heading = f"## {_TITLE}"
    if heading not in document:
        return document.rstrip("\n") + "\n\n" + section + "\n"
    start = document.index(heading)
    nxt = document.find("\n## ", start + len(heading))
    return document[:start] + section + "\n" + (document[nxt:] if nxt != -1 else "")


_TITLE = "First start and restart of the local stack"


if __name__ == "__main__":
    sys.exit(main())
