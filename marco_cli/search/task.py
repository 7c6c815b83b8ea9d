"""What the search searches for: the `Task` it is given.

The search itself knows trees, tokens, rewards and batches; everything about the *text* of a
path comes from its task:

- what an action is — the answer markers that end a thought action (see `actions.py`; what
  follows a marker is one answer action);
- where a rollout stops (`rollout_stops`) and when a path's answer is closed (`closed_end`);
- what a path's answer is (`parse`) and how two answers compare (`answer_key`: votes and early
  stopping count answers with equal keys as one);
- what a reflection appends (`reflection`, a forced action) and the assistant prefix the prompt
  ends with (`assistant_prefix`, part of what `parse` reads);
- what a rollout that ends the model's turn without an answer gets appended so that the model
  still gives one (`needs_answer`, `force_answer`: forced tokens, as the chain of thought does).

Two tasks implement it, both in Marco-o1's <Thought>/<Output> format (`response.MarcoO1Format`):
`reasoning.ReasoningTask` (answers compared by their final number) and
`translate.task.TranslationTask` (answers compared as text).
"""

from __future__ import annotations

from typing import Protocol

from marco_cli.response import Response


class Task(Protocol):
    @property
    def assistant_prefix(self) -> str:
        """The text the prompt ends with inside the assistant turn."""
        ...

    @property
    def answer_markers(self) -> tuple[str, ...]:
        """Any of these starts the answer action."""
        ...

    @property
    def rollout_stops(self) -> tuple[str, ...]:
        """Stop strings of a rollout: the end of a closed answer."""
        ...

    @property
    def reflection(self) -> str:
        """The text a reflection child appends to a thought."""
        ...

    @property
    def force_answer(self) -> str:
        """The text that opens an answer when a path ends the model's turn without one."""
        ...

    def needs_answer(self, text: str) -> bool:
        """Whether a path whose generated `text` ends the model's turn needs `force_answer`."""
        ...

    def closed_end(self, text: str) -> int | None:
        """Where the first closed answer in `text` ends, or None when it holds none."""
        ...

    def parse(self, text: str) -> Response:
        """The thought and answer of a path's generated text (after the assistant prefix)."""
        ...

    def answer_key(self, answer: str) -> str:
        """What two answers are compared by."""
        ...
