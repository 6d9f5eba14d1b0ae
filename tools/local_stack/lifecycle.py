"""What makes starting and stopping the local stack safe: one stack per data folder (a lock the kernel
releases however the process ends), the port checked before anything starts, the children's pids
recorded in the data folder so that a start after a crash finds and stops what that run left, and
stack.json removed on stop.

    .local/stack.lock   flock'ed by the running stack; holds its pid
    .local/pids.json    the children of the running (or crashed) stack: pid, start time, name"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class StackError(Exception):
    """A start that cannot go on; its message is the one line to print. `exit_code` for the shell."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- one stack per data folder --------------------------------------------------------------------
class DataDirLock:
    """An exclusive flock on <data>/stack.lock for as long as the stack runs (released by the kernel
    when the process ends, even by kill -9)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "stack.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = self.path.read_text().strip() or "?"
            raise StackError(f"another local stack is running on {self.path.parent} (pid {holder}): stop it "
                             f"(Ctrl-C in its terminal, or kill {holder}) or give this one another --data-dir",
                             exit_code=2) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


# --- the port -------------------------------------------------------------------------------------
def port_holder(port: int) -> str | None:
    """'pid N (command)' of the process listening on `port`, where /proc tells (Linux), else None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    deadline = time.monotonic() + 1.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or time.monotonic() > deadline:
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return f"pid {proc.name} ({_command(int(proc.name))})"
    return None


def _command(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return " ".join(a.decode(errors="replace") for a in argv if a)[:80]


def port_in_use_message(host: str, port: int) -> str:
    holder = port_holder(port)
    by = f" by {holder}" if holder else ""
    return (f"port {port} on {host} is already in use{by}: stop that, or start on another port "
            f"(make run PORT={port + 1})")


# --- the children, recorded -----------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (field 3, the state, first)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22): with the pid, it
    names one process, never another that got the same pid later."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


@dataclass
class Child:
    name: str
    pid: int
    start: int | None

    def alive(self) -> bool:
        """Still running (a zombie, dead and not yet reaped, is not) and still the recorded process."""
        fields = _stat(self.pid)
        return self.start is not None and fields is not None and fields[0] != "Z" and int(fields[19]) == self.start


class ChildRecord:
    """<data>/pids.json: the stack's children as they start, so a later start can find them."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "pids.json"
        self.children: list[Child] = []

    def add(self, name: str, pid: int) -> None:
        self.children.append(Child(name, pid, process_start_time(pid)))
        self._write()

    def clear(self) -> None:
        self.children.clear()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"owner": os.getpid(), "children": [vars(c) for c in self.children]}))
        tmp.replace(self.path)

    def leftovers(self) -> list[Child]:
        """The children a previous run recorded that still run (its own start time matches)."""
        try:
            recorded: dict[str, Any] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        found = [Child(str(c["name"]), int(c["pid"]), c.get("start")) for c in recorded.get("children", [])]
        return [c for c in found if c.alive()]


def stop_leftovers(data_dir: Path, timeout: float = 10) -> list[Child]:
    """Stop what a crashed run left running (called with the data folder's lock held, so no live stack
    owns them); returns what was stopped. A stale stack.json goes too."""
    record = ChildRecord(data_dir)
    left = record.leftovers()
    for child in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGTERM)  # its session: the child started one of its own
    deadline = time.monotonic() + timeout
    while any(c.alive() for c in left) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in left:
        if child.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
    record.clear()
    with contextlib.suppress(FileNotFoundError):
        (data_dir / "stack.json").unlink()
    return left


def remove_stack_file(stack_file: Path, pid: int) -> None:
    """Remove stack.json if it is this process's (a newer stack's stays)."""
    try:
        if json.loads(stack_file.read_text()).get("pid") == pid:
            stack_file.unlink()
    except (FileNotFoundError, ValueError):
        pass
