"""Progress of `marco translate` on a terminal's stderr while stdout goes to a file or a pipe:
a transient Rich bar of units done, tokens/s and the time left."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from marco_cli.engine import Engine

__all__ = ["TranslateProgress"]


class TranslateProgress:
    """`total` None: a stream, whose length is not known (the bar then only pulses)."""

    def __init__(self, console: Console, engine: Engine, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._engine = engine
        self._generated = engine.stats.generated
        self._started = time.perf_counter()
        self._progress = Progress(
            TextColumn("translating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]} tok/s"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task("translate", total=total, speed="–")
        self._progress.start()

    def advance(self) -> None:
        elapsed = time.perf_counter() - self._started
        tokens = self._engine.stats.generated - self._generated
        speed = f"{tokens / elapsed:.1f}" if elapsed > 0 else "–"
        self._progress.update(self._task, advance=1, speed=speed)

    def stop(self) -> None:
        self._progress.stop()
