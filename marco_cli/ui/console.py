"""The two consoles: results on stdout, everything for humans on stderr.

Rich already honours NO_COLOR and drops styling when a stream is not a terminal; these helpers
make sure nothing decorative (soft wrapping, highlighting) leaks into piped output.
"""

from __future__ import annotations

from functools import cache

from rich.console import Console
from rich.markup import escape


@cache
def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def warn(message: str) -> None:
    """One `marco: warning: ...` line on stderr."""
    stderr_console().print(f"[bold yellow]marco: warning:[/] {escape(message)}", soft_wrap=True)


def note(message: str) -> None:
    """One dim `marco: ...` line on stderr."""
    stderr_console().print(f"[dim]marco: {escape(message)}[/]", soft_wrap=True)


def write_result(text: str) -> None:
    """Write one result to stdout exactly as given, followed by a newline, and flush."""
    import sys

    sys.stdout.write(text + "\n")
    sys.stdout.flush()
