"""Progress on a terminal (stderr): count, rate and time left, with `rich`. Nothing is drawn when
stderr is not a terminal (a pipe, a log file, a test), unless asked for."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Records per second since the start (steadier than rich's windowed speed for bursty batches)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0 or not task.completed:
            return Text("– rec/s", style="progress.data.speed")
        return Text(f"{task.completed / elapsed:,.0f} rec/s", style="progress.data.speed")


class Meter:
    """A progress bar for one phase (`with Meter("importing", total) as m: m.advance(n)`)."""

    def __init__(self, description: str, total: int | None, *, enabled: bool | None = None,
                 console: Console | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.description = description
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._task: Any = None
        self._console = console

    def __enter__(self) -> Meter:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                console=self._console or Console(stderr=True), transient=False, refresh_per_second=4)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._progress is not None:
            self._progress.update(self._task, advance=count)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
