"""The lines of a stream as units, handed on as soon as they arrive.

`marco translate` in a pipeline (`tail -f chat.log | marco translate`) must not wait for the
end of its input: `LineFeed` reads whatever the stream has, and gives the complete lines that
are available, up to a batch of them, waiting at most `FILL_WAIT` seconds for more once it has
one. Each line keeps its own line end, so the output has the input's shape line by line.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from typing import BinaryIO

from marco_cli.translate.units import Unit, decode_input

FILL_WAIT = 0.05
"""Seconds a chunk that has a line waits for more lines to fill a batch: short enough to be
unnoticed in a pipeline, long enough to batch lines written together by a busy writer."""

_READ_BYTES = 1 << 16


class LineFeed:
    """The lines of a binary stream (stdin) as units, in chunks of the lines already there."""

    def __init__(
        self,
        stream: BinaryIO,
        origin: str = "stdin",
        *,
        chunk_size: int = 8,
        wait: float = FILL_WAIT,
    ) -> None:
        self._stream = stream
        self._origin = origin
        self._size = max(1, chunk_size)
        self._wait = wait
        self._fd = _fileno(stream)
        self._endings: dict[int, str] = {}
        self._count = 0

    def chunks(self) -> Iterator[list[Unit]]:
        """Chunks of at most `chunk_size` units, each one given as soon as it has a line."""
        buffer = bytearray()
        eof = False
        while True:
            scanned = 0  # no newline before this offset of the buffer
            while not eof and buffer.find(b"\n", scanned) < 0:
                scanned = len(buffer)
                eof = not self._read_into(buffer)
            deadline = time.monotonic() + self._wait
            while not eof and buffer.count(b"\n") < self._size:
                left = deadline - time.monotonic()
                if left <= 0 or not self._ready(left):
                    break
                eof = not self._read_into(buffer)
            chunk: list[Unit] = []
            while len(chunk) < self._size:
                end = buffer.find(b"\n")
                if end < 0:
                    break
                chunk.append(self._unit(bytes(buffer[: end + 1])))
                del buffer[: end + 1]
            if eof and buffer and len(chunk) < self._size:
                chunk.append(self._unit(bytes(buffer)))  # the last line, without a line end
                buffer.clear()
            if not chunk:
                return
            yield chunk

    def render_unit(self, index: int, translation: str) -> str:
        """A unit's output with the line end its input line had (none after a last line that
        had none)."""
        return translation + self._endings.pop(index)

    def _unit(self, raw: bytes) -> Unit:
        ending = "\r\n" if raw.endswith(b"\r\n") else "\n" if raw.endswith(b"\n") else ""
        line = self._count + 1
        # A byte-order mark means something only at the very start of the input.
        text = decode_input(raw[: len(raw) - len(ending)], self._origin, first_line=line)
        unit = Unit(index=self._count, line=line, text=text)
        self._endings[unit.index] = ending
        self._count += 1
        return unit

    def _read_into(self, buffer: bytearray) -> bool:
        """Append what the stream has (blocking until it has something); False at its end."""
        data = (
            os.read(self._fd, _READ_BYTES)
            if self._fd is not None
            else self._stream.read(_READ_BYTES)
        )
        buffer += data
        return bool(data)

    def _ready(self, timeout: float) -> bool:
        """Whether a read would not block within `timeout` seconds (a stream without a file
        descriptor, like an in-memory one, always has its data ready)."""
        if self._fd is None:
            return True
        return bool(select.select([self._fd], [], [], timeout)[0])


def _fileno(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None
