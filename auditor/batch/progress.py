"""The batch's progress bar on stderr: done / failed / findings so far; silent in CI."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class BatchProgress:
    """``advance`` after each trace; a no-op when not ``enabled``."""

    def __init__(self, total: int, *, enabled: bool, console: Console | None = None) -> None:
        self.total = total
        self.done = self.failed = self.findings = self.cached = 0
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "[red]{task.fields[failed]} failed[/] · "
                    "{task.fields[findings]} findings · {task.fields[cached]} cached"
                ),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
                refresh_per_second=4,
            )
            self._task = self._progress.add_task(
                "batch", total=total, failed=0, findings=0, cached=0
            )

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, *, failed: bool, findings: int, cached: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        self.findings += findings
        self.cached += int(cached)
        if self._progress is not None:
            self._progress.update(
                self._task,
                advance=1,
                failed=self.failed,
                findings=self.findings,
                cached=self.cached,
            )
