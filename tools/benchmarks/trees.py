"""Checkouts of other revisions for before/after measurements in one run (import times, cost)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def worktree(revision: str | None) -> Iterator[Path | None]:
    """A checkout of `revision` in a temporary folder (`git worktree`), removed afterwards; None
    for no revision."""
    if not revision:
        yield None
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False,
                           capture_output=True)
