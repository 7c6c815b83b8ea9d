"""Errors that end a command with one clear line on stderr and a meaningful exit code, and the
outcomes a command returns when it ends without one.

Library code raises these; the CLI's single handler prints `message` and exits with
`exit_code`, or exits with the code of a returned `Outcome`. Nothing here knows about the
terminal.
"""

from __future__ import annotations

import enum


class ExitCode:
    OK = 0
    ERROR = 1
    USAGE = 2
    INCOMPLETE = 3
    """The model stopped before closing its answer (token budget), or a search completed no path."""
    PARTIAL = 4
    """Some units of a batch job (translate, bench) failed; the rest was written."""
    INTERRUPTED = 130


class Outcome(enum.Enum):
    """How a command that ran to its end went, when it did not fail outright: a command returns
    one, having said on stderr what it needs to, and the CLI's handler turns it into its exit
    code (`ExitCode` of the same name)."""

    OK = "ok"
    INCOMPLETE = "incomplete"
    """The answer written is partial (see `ExitCode.INCOMPLETE`)."""
    PARTIAL = "partial"
    """Some units failed; the rest was written."""
    INTERRUPTED = "interrupted"
    """Stopped by Ctrl-C (or SIGTERM in bench); what was finished has been written."""


class MarcoError(Exception):
    """A failure the user can act on: `message` says what went wrong and what to do."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(MarcoError):
    """Bad input from the user: an empty question, an unknown option value, a bad file."""

    exit_code = ExitCode.USAGE


class ModelError(MarcoError):
    """A model that cannot be found, downloaded or loaded."""


class ContextOverflowError(UsageError):
    """The input does not fit the model's context window."""


class Interrupted(MarcoError):
    """Ctrl-C: `partial` holds what was produced before the interruption."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, partial: str = "") -> None:
        super().__init__("interrupted")
        self.partial = partial
