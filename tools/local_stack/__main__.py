"""`python -m local_stack` — the local stack in the foreground (`make run`); Ctrl-C stops everything.

The terminal shows the banner, one line per request (time, method, path, status, duration,
Request-Id) and warnings; the functions' JSON log lines go to <data-dir>/logs/functions.log and the
stack's own log to <data-dir>/logs/stack.log. Exit codes: 0 after a stop, 2 when the port or the data
folder is taken (nothing was started), 1 when a part failed to start."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from local_stack.console import Console, configure_logging, take_over_output
from local_stack.lifecycle import StackError, process_start_time
from local_stack.stack import LocalStack
from local_stack.template import ROOT


def seconds_since_process_start() -> float | None:
    """How long ago this process started (interpreter start-up and imports included), from /proc."""
    try:
        ticks = process_start_time(os.getpid())
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError):
        return None
    return None if ticks is None else max(uptime - ticks / os.sysconf("SC_CLK_TCK"), 0.0)


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def banner(console: Console, info: dict, ready_s: float, data_dir: Path) -> None:
    api, key = info["api_url"], info["secret_key"]
    console.line(f"customers-api local stack ready in {ready_s:.1f} s — {api}")
    console.line(f"  secret key  {key}  (account {info['account_id']}, test mode; "
                 f"also in {shown(data_dir / 'stack.json')})")
    console.line(f"  try         curl {api}/v1/customers -H 'Authorization: Bearer {key}'")
    if info.get("docs_url"):
        console.line(f"  reference   {info['docs_url']}    health {info['health_url']}")
    else:
        console.line(f"  health      {info['health_url']}    (no /docs: run `npm ci` for its assets)")
    console.line(f"  DynamoDB    {info['dynamodb_endpoint']}  table {info['table_name']}    "
                 f"SQS {info['sqs_endpoint']}")
    console.line(f"  logs        {shown(data_dir / 'logs')}/  (functions.log: the functions' JSON lines)")
    console.line("Ctrl-C stops everything. One line per request follows: time, method, path, status, "
                 "duration, Request-Id.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local_stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")),
                        help="HTTP port (0 picks a free one); default $PORT or 3000")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--quiet", action="store_true", help="no access lines")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data_dir = args.data_dir.resolve()

    console = take_over_output(data_dir / "logs")
    configure_logging(console, data_dir / "logs")
    stack = LocalStack(data_dir=data_dir, host=args.host, port=args.port, quiet=args.quiet, console=console)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: done.set())
    try:
        info = stack.start()
    except StackError as exc:
        console.line(str(exc))
        return exc.exit_code
    except Exception as exc:  # a part that would not start: say what, where the details are
        import logging  # noqa: PLC0415

        logging.getLogger("local_stack").debug("start failed", exc_info=True)
        console.line(f"the local stack did not start: {type(exc).__name__}: {exc} "
                     f"(details: {shown(data_dir / 'logs' / 'stack.log')})")
        return 1
    if stack.cleaned:
        left = ", ".join(f"{c.name} (pid {c.pid})" for c in stack.cleaned)
        console.line(f"the last run did not stop cleanly: stopped what it left running: {left}")
    since_start = seconds_since_process_start()
    banner(console, info, since_start if since_start is not None else time.perf_counter() - started, data_dir)
    done.wait()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # a second Ctrl-C must not cut the stop short
        signal.signal(signum, signal.SIG_IGN)
    console.line("stopping…")
    stack.stop()
    console.line(f"stopped: the API, the pollers, DynamoDB Local and moto. Data kept in {shown(data_dir)}/ "
                 "(make run carries on with it; make clean deletes it).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
