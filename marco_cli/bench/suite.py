"""The one shape of a `marco bench` suite — math, translate, speed — so the command runs each
the same way:

    suite = prepare_math_suite(...)   # or TranslateSuite.prepare(...), SpeedSuite(...): checks
    try:                              # everything that can fail before a model loads
        result = suite.run(engine, lanes=(), on_event=print)
    finally:
        suite.close()                 # a results file it holds open
    shown = suite.report(result)      # tables, JSON, Markdown, failed attempts

`on_event` hears the suite's progress: an `AttemptDone` per attempt (math), the name of the
variant or measurement about to run (translate, speed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from marco_cli.bench.report import TextTable
from marco_cli.engine.base import Engine

Event = TypeVar("Event", covariant=True)
Result = TypeVar("Result")


@dataclass
class SuiteReport:
    """What a finished suite shows."""

    tables: list[TextTable]
    json: Any
    """What `--json` writes (arbitrary JSON)."""
    markdown: str
    """What `--report FILE` writes."""
    failed: int = 0
    """Attempts that failed and count as wrong; the command then exits with PARTIAL."""
    failed_note: str = ""


class Suite(Protocol[Event, Result]):
    def run(
        self,
        engine: Engine,
        *,
        lanes: Sequence[Engine] = (),
        on_event: Callable[[Event], None] | None = None,
    ) -> Result: ...

    def report(self, result: Result) -> SuiteReport: ...

    def interrupted_note(self) -> str | None:
        """What an interrupted run kept, and how to go on (None: nothing is kept)."""
        ...

    def close(self) -> None: ...
