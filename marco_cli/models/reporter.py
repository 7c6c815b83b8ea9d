"""How the models layer tells the user what it is doing, without printing.

Downloading a model, falling back from `auto` to the demo model and assembling the demo model
are worth a line or a progress bar. The CLI passes a `Reporter` wired to the console
(`marco_cli.ui.model_progress.console_reporter`); the default one says nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

Advance = Callable[[int], None]
"""Moves a progress display on by a number of bytes."""

ProgressDisplay = Callable[[str, int], AbstractContextManager[Advance]]
"""Opens a progress display of `total` bytes under `description`; yields its `Advance`."""


def _ignore(message: str) -> None:
    return None


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Advance]:
    yield lambda _n: None


@dataclass(frozen=True)
class Reporter:
    """What to do with each kind of news while a model is resolved; each says nothing by default."""

    on_note: Callable[[str], None] = _ignore
    """A line of information, e.g. that a download starts."""
    on_warning: Callable[[str], None] = _ignore
    """A line the user should act on, e.g. that `auto` fell back to the demo model."""
    on_progress: ProgressDisplay = no_progress
    """Progress of a long local job (assembling the demo model)."""
    verbose: bool = False
    """Let huggingface_hub log as it does (its retries, its warnings); off, marco alone says
    what went wrong."""


SILENT = Reporter()
