"""Reading a command's input: its argument, or stdin."""

from __future__ import annotations

import sys
from typing import BinaryIO

from marco_cli.errors import UsageError


def stdin_stream() -> BinaryIO:
    """Binary stdin, refusing to wait on an interactive terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no input: pass it as an argument or pipe it on stdin")
    return sys.stdin.buffer


def read_stdin_bytes() -> bytes:
    """All of stdin, refusing to wait on an interactive terminal."""
    return stdin_stream().read()


def read_text_argument(argument: str | None) -> str:
    """The argument itself, or stdin when it is missing or '-'; stdin must be UTF-8."""
    if argument is not None and argument != "-":
        return argument
    data = read_stdin_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"stdin is not valid UTF-8 (line {line}, byte {exc.start}); convert it first"
        ) from None
