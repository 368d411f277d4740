"""A rich progress bar that shows requests/s and tokens/s (shared by the long-running commands)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

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

from lmforecast.cli.app import err_console


class RateColumn(ProgressColumn):
    """Items/s and tokens/s, measured from the first completed item of this run."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        elapsed = time.perf_counter() - task.fields.get("t0", time.perf_counter())
        done = task.fields.get("done_here", 0)
        tokens = task.fields.get("tokens", 0)
        if elapsed <= 0 or done == 0:
            return Text(f"-- {self.unit}/s", style="progress.data.speed")
        return Text(
            f"{done / elapsed:.1f} {self.unit}/s  {tokens / elapsed:,.0f} tok/s",
            style="progress.data.speed",
        )


class RateProgress:
    """Progress of one job, fed by the library's ``(items, tokens)`` callbacks."""

    def __init__(self, progress: Progress, description: str) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=None, done_here=0, tokens=0)

    def start(self, total: int, already_done: int = 0) -> None:
        """Show the bar (only once work is planned, so an early error prints one line only)."""
        self._progress.start()
        self._progress.update(
            self._task, total=total, completed=already_done, t0=time.perf_counter()
        )

    def advance(self, items: int, tokens: int) -> None:
        fields = self._progress.tasks[self._task].fields
        self._progress.update(
            self._task,
            advance=items,
            done_here=fields.get("done_here", 0) + items,
            tokens=fields.get("tokens", 0) + tokens,
        )


@contextmanager
def rate_progress(description: str, unit: str = "req") -> Iterator[RateProgress]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=err_console, transient=False, auto_refresh=True)
    try:
        yield RateProgress(progress, description)
    finally:
        progress.stop()
