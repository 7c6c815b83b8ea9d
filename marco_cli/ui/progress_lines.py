"""Plain progress lines for a stderr that is not a terminal (a log, a CI job, `2> file`), where
no live display is drawn: without them a search or a bench run says nothing for minutes.

Work that ends within `EVERY_S` seconds prints no line; longer work prints at most one line every
`EVERY_S` seconds. `--quiet` turns them off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from marco_cli.search import SearchEvent

EVERY_S = 10.0
"""Seconds before the first line, and the least between two lines."""


class ProgressLines:
    """Prints `marco: <line>` on `console` when `EVERY_S` seconds have passed since the start
    or the last line; the line is built only then."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._clock = clock
        self._due = clock() + EVERY_S

    def __call__(self, line: Callable[[], str]) -> None:
        now = self._clock()
        if now < self._due:
            return
        self._due = now + EVERY_S
        self._console.print(f"marco: {line()}", markup=False, highlight=False)


def search_line(event: SearchEvent) -> str:
    """One search event as a progress line."""
    stats = event.stats
    return (
        f"searching: iteration {event.iteration}/{event.iterations}, {stats.generated:,} tokens, "
        f"{stats.completed} answers, {stats.wall_seconds:.0f} s"
    )
