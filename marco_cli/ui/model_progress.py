"""What the user sees while a model is prepared: the models layer's notes, warnings and progress
on stderr (see `marco_cli.models.reporter`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from marco_cli.models.reporter import Advance, Reporter
from marco_cli.ui.console import note, stderr_console, warn


def console_reporter(verbose: bool = False) -> Reporter:
    """Notes and warnings as `marco: ...` lines, progress as a bar on stderr; `verbose` lets
    huggingface_hub log too."""
    return Reporter(on_note=note, on_warning=warn, on_progress=byte_progress, verbose=verbose)


@contextmanager
def byte_progress(description: str, total: int) -> Iterator[Advance]:
    """A transient progress bar of `total` bytes on stderr when it is a terminal; otherwise
    nothing."""
    console = stderr_console()
    if not console.is_terminal:
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
