"""What the local stack prints, and where everything else goes.

The terminal gets the banner, one access line per request, a line for each warning, and the stop
message. What the functions write (Powertools' JSON log lines, as Lambda would send them to
CloudWatch) goes to .local/logs/functions.log, and the stack's own log (with tracebacks, and
botocore's chatter) to .local/logs/stack.log. The redirection is of file descriptors 1 and 2, so
sys.stdout stays the same object: whatever wraps or counts it (tools/benchmarks/recorded_stack.py)
still sees every byte."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TextIO


class Console:
    """Lines to the terminal the stack was started from, one at a time from any thread."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # the terminal went away (closed window): nothing to tell
                pass

    def access(self, method: str, path: str, status: int, ms: float, request_id: str | None) -> None:
        """`12:04:05 POST /v1/customers 200 38ms req_01J…`: method, path, status, duration, Request-Id."""
        self.line(f"{time.strftime('%H:%M:%S')} {method} {path} {status} {ms:.0f}ms {request_id or '-'}")


def take_over_output(logs: Path) -> Console:
    """Point fds 1 and 2 at logs/functions.log and return a Console on the terminal they were."""
    logs.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
    log_fd = os.open(logs / "functions.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    return Console(terminal)


class _OneLine(logging.Formatter):
    """A warning as one terminal line: its first line, and where the details are."""

    def __init__(self, details: str) -> None:
        super().__init__()
        self.details = details

    def format(self, record: logging.LogRecord) -> str:
        first = record.getMessage().splitlines()[0] if record.getMessage() else ""
        where = f" (details: {self.details})" if record.exc_info or record.levelno >= logging.ERROR else ""
        return f"{time.strftime('%H:%M:%S')} {record.levelname.lower()}: {first[:300]}{where}"


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: Console) -> None:
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.line(self.format(record))


def configure_logging(console: Console, logs: Path) -> None:
    """The stack's own logging: everything (INFO and up, tracebacks) to logs/stack.log; the stack's
    warnings and errors also as one line each on the terminal. botocore's "Found credentials in
    environment variables" and the like stay in the file."""
    logs.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    to_file = logging.FileHandler(logs / "stack.log", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(to_file)
    root.setLevel(logging.INFO)
    to_console = _ConsoleHandler(console)
    to_console.setFormatter(_OneLine(str(logs / "stack.log")))
    logging.getLogger("local_stack").addHandler(to_console)
