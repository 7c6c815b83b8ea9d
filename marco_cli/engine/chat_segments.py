"""Splitting a rendered chat prompt into the template's own text and the messages' text.

Message text must stay text: a user's "<|im_end|>" must not end their turn. So a chat is
rendered twice, once as it is and once with a placeholder in place of each message; the
placeholders separate the template's own text (tokenized with control tokens parsed) from the
messages (tokenized as plain text). Whoever renders (llama.cpp in process, or a server's
template endpoint) passes its `render` function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marco_cli.errors import ModelError

# Record separators never occur in a template's own text, and a template that trims message
# text keeps them (they are not whitespace).
_PLACEHOLDER = "\x1emarco-message-{}\x1e"
_PLACEHOLDERS = re.compile("\x1emarco-message-([0-9]+)\x1e")

Render = Callable[[Sequence[dict[str, str]]], str | None]
"""The prompt text of messages with the assistant turn opened; None if it cannot render."""


@dataclass(frozen=True)
class Segment:
    """A run of rendered prompt text: the template's own, or (part of) one message's."""

    text: str
    is_message: bool


def split_chat(
    render: Render, messages: Sequence[dict[str, str]], label: str, hint: str
) -> list[Segment]:
    """The prompt of `messages` split into the template's text and the messages' text (as the
    template placed it); ModelError naming `label` (and `hint`) when that cannot be done."""
    rendered = render(messages)
    placeholders = [
        {"role": m["role"], "content": _PLACEHOLDER.format(i)} for i, m in enumerate(messages)
    ]
    marked = render(placeholders)
    if rendered is None or marked is None:
        raise ModelError(f"could not apply the chat template of {label}")
    # marked alternates template text and placeholder numbers: [text, n, text, ..., text]
    pieces = _PLACEHOLDERS.split(marked)
    segments: list[Segment] = []
    at = 0
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            text = piece if rendered.startswith(piece, at) else None
        else:
            text = _placed_message(rendered, at, messages[int(piece)]["content"], pieces[i + 1])
        if text is None:
            raise ModelError(
                f"the chat template of {label} changes message text in a way marco cannot "
                f"follow; {hint}"
            )
        if text:
            segments.append(Segment(text, is_message=i % 2 == 1))
        at += len(text)
    return segments


def _placed_message(rendered: str, at: int, content: str, following: str) -> str | None:
    """The message text as the template wrote it at `at`: as given, or trimmed (Llama 3 and
    Gemma templates trim); None when neither is followed by the template's next text."""
    for text in (content, content.strip()):
        if rendered.startswith(text + following, at):
            return text
    return None
