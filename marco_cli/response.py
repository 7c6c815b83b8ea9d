"""Marco-o1's response format: reasoning inside <Thought>, the result inside <Output>.

Small models (and Marco-o1 now and then) skip `</Thought>` and open `<Output>` directly, or stop
without closing a tag; parsing is lenient so the user always gets the best available answer.

`MarcoO1Format` is the part of a search task (`marco_cli.search.task.Task`) that this format
decides; the reasoning and the translation tasks share it and differ in how answers compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

THOUGHT_OPEN = "<Thought>"
THOUGHT_CLOSE = "</Thought>"
OUTPUT_OPEN = "<Output>"
OUTPUT_CLOSE = "</Output>"

THOUGHT_ENDS = (THOUGHT_CLOSE, OUTPUT_OPEN)
"""Either tag ends the thinking part of a response."""

ANSWER_MARKERS: tuple[str, ...] = (THOUGHT_CLOSE, OUTPUT_OPEN, OUTPUT_CLOSE)
"""Any of these starts the answer in a stream of reasoning (a stray `</Output>` too)."""


@dataclass(frozen=True)
class Response:
    thought: str
    answer: str
    closed: bool
    """True when the answer was explicitly closed with </Output>."""


def parse_response(text: str) -> Response:
    """Split a response (the assistant turn, with or without its opening <Thought>) in two.

    Without an <Output> tag, whatever follows </Thought> is the answer; without either tag the
    whole text is the answer and there is no thought.
    """
    body = text.strip()
    if body.startswith(THOUGHT_OPEN):
        body = body[len(THOUGHT_OPEN) :]
    out_start = body.find(OUTPUT_OPEN)
    if out_start >= 0:
        thought = body[:out_start]
        answer = body[out_start + len(OUTPUT_OPEN) :]
        out_end = answer.find(OUTPUT_CLOSE)
        closed = out_end >= 0
        if closed:
            answer = answer[:out_end]
    else:
        close = body.find(THOUGHT_CLOSE)
        if close >= 0:
            thought, answer = body[:close], body[close + len(THOUGHT_CLOSE) :]
        elif text.lstrip().startswith(THOUGHT_OPEN):
            thought, answer = body, ""
        else:
            thought, answer = "", body
        closed = False
    thought = thought.replace(THOUGHT_CLOSE, "")
    return Response(thought=thought.strip(), answer=answer.strip(), closed=closed)


@dataclass(frozen=True)
class MarcoO1Format:
    """The Marco-o1 format as a search task sees it: the answer starts at any of
    `ANSWER_MARKERS` and is closed by `</Output>`, where a rollout stops; a path's text is
    parsed after the assistant prefix the prompt ends with; reflection appends its phrase on a
    new line; a path that ends the model's turn before opening <Output> gets `force_answer`
    appended (as `marco solve --strategy cot` does) so that it still gives an answer.
    Subclasses add `answer_key`."""

    assistant_prefix: str
    """The text the prompt ends with inside the assistant turn (e.g. "<Thought>\n")."""
    reflection_phrase: str = ""
    force_answer: str = ""
    """Opens the answer block (e.g. "\n</Thought>\n<Output>\n"); empty: never forced."""

    answer_markers: ClassVar[tuple[str, ...]] = ANSWER_MARKERS
    rollout_stops: ClassVar[tuple[str, ...]] = (OUTPUT_CLOSE,)

    @property
    def reflection(self) -> str:
        return "\n" + self.reflection_phrase.strip()

    def closed_end(self, text: str) -> int | None:
        """Where the first closed answer in `text` ends (just after `</Output>`), or None."""
        at = text.find(OUTPUT_CLOSE)
        return None if at < 0 else at + len(OUTPUT_CLOSE)

    def needs_answer(self, text: str) -> bool:
        """Whether a path whose text ends the model's turn here must be given `force_answer`:
        it never opened <Output> (the same test as the chain of thought's)."""
        return bool(self.force_answer) and OUTPUT_OPEN not in text

    def parse(self, text: str) -> Response:
        """The thought and answer of a path's generated text."""
        return parse_response(self.assistant_prefix + text)
