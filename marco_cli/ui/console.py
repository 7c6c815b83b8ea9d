"""The two consoles: results on stdout, everything for humans on stderr.

Rich already honours NO_COLOR and drops styling when a stream is not a terminal; these helpers
make sure nothing decorative (soft wrapping, highlighting) leaks into piped output.
"""

from __future__ import annotations

import re
from functools import cache

from rich.console import Console
from rich.markup import escape

# What a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts escape
# sequences, CR and BS overwrite what is shown), DEL and C1 controls (0x9b is a one-byte CSI),
# and the bidirectional controls that reorder the rest of a line (the "Trojan Source" ones).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` with every character a terminal would act on written out as an escape (`\\x1b`,
    `\\u202e`), so model output and user input shown on stderr can neither run terminal
    commands nor garble the display. Only for what humans read: stdout stays byte-faithful."""
    return _UNSAFE.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@cache
def stderr_console() -> Console:
    console = Console(stderr=True, highlight=False)
    # Piped, Rich would wrap every line at 80 columns: a line for a log or a grep stays one line.
    console.soft_wrap = not console.is_terminal
    return console


def warn(message: str) -> None:
    """One `marco: warning: ...` line on stderr."""
    stderr_console().print(
        f"[bold yellow]marco: warning:[/] {escape(terminal_safe(message))}", soft_wrap=True
    )


def note(message: str) -> None:
    """One dim `marco: ...` line on stderr."""
    stderr_console().print(f"[dim]marco: {escape(terminal_safe(message))}[/]", soft_wrap=True)


def write_result(text: str) -> None:
    """Write one result to stdout exactly as given, followed by a newline, and flush."""
    import sys

    sys.stdout.write(text + "\n")
    sys.stdout.flush()
