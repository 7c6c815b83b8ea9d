"""Marco-o1's response format: reasoning inside <Thought>, the result inside <Output>.

Small models (and Marco-o1 now and then) skip `</Thought>` and open `<Output>` directly, or stop
without closing a tag; parsing is lenient so the user always gets the best available answer.
"""

from __future__ import annotations

from dataclasses import dataclass

THOUGHT_OPEN = "<Thought>"
THOUGHT_CLOSE = "</Thought>"
OUTPUT_OPEN = "<Output>"
OUTPUT_CLOSE = "</Output>"

THOUGHT_ENDS = (THOUGHT_CLOSE, OUTPUT_OPEN)
"""Either tag ends the thinking part of a response."""


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
