"""Streaming a model's thought to stderr while it is generated.

The thought is shown dimmed; once the model opens <Output> the rest is held back, because the
answer itself is printed on stdout when generation ends. A reflection (the model being told to
rethink) brings the display back. Control characters from the model are shown, never executed.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from marco_cli.response import OUTPUT_OPEN, THOUGHT_CLOSE
from marco_cli.ui.console import terminal_safe


class ThoughtStream:
    def __init__(self, console: Console, reflection: str) -> None:
        self._console = console
        self._reflection = reflection
        self._pending = ""  # text that might still turn out to be the start of a tag
        self._hidden = False

    def __call__(self, piece: str) -> None:
        if self._hidden:
            if self._reflection not in piece:
                return
            self._hidden = False
        text = self._pending + piece
        self._pending = ""
        tag = text.find(OUTPUT_OPEN)
        if tag >= 0:
            self._hidden = True
            text = text[:tag]
        else:
            # Hold back a possible partial "<Output>" so the tag is never half-printed.
            start = text.rfind("<")
            if start >= 0 and OUTPUT_OPEN.startswith(text[start:]):
                text, self._pending = text[:start], text[start:]
        text = text.replace(THOUGHT_CLOSE, "")
        if text:
            self._console.print(Text(terminal_safe(text), style="dim"), end="", soft_wrap=True)

    def close(self) -> None:
        """End the streamed block with a newline."""
        self._console.print()
