"""Action granularity: where one action (one edge of the tree) ends.

Three granularities, chosen with `--action`:

- ``step``: one reasoning step — generation stops at the first newline that follows some
  non-blank text (leading blank lines belong to the step), so a step is one line or paragraph of
  the thought; capped at `max_step_tokens` (256) for models that write very long lines.
- ``mini-64`` / ``mini-32``: exactly 64 / 32 tokens, or fewer at the end of the thought.

For every granularity an action also ends *before* the thought closes: at one of the task's
answer markers — for Marco-o1 `</Thought>` or `<Output>` (or a stray `</Output>`), since small
models often skip `</Thought>` (see `task.py`). What follows
the close — the closing tag, the answer and `</Output>` — is one *answer* action, whatever the
granularity: the answer is the leaf that the thought decides. So the node before an answer action
holds the whole thought without its close, which is where a reflection is inserted.

The same rule cuts two kinds of token streams: a sampled child generated with `stops` and
`max_tokens` (the engine stops at the boundary; the split only trims a closing tag), and a greedy
rollout, whose first action becomes a child without generating it again. Cuts are made on whole
tokens: a token that holds the start of a closing tag goes to the answer action.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marco_cli.engine.base import find_stop
from marco_cli.errors import UsageError

STEP_BOUNDARY = "\n"
ACTIONS: tuple[str, ...] = ("step", "mini-64", "mini-32")
DEFAULT_MAX_STEP_TOKENS = 256

Detokenize = Callable[[Sequence[int]], str]


@dataclass(frozen=True)
class Split:
    """The first action of a token stream: `tokens[:n]`; `answer` when it is the answer action
    (then n is the whole stream)."""

    n: int
    answer: bool


@dataclass(frozen=True)
class ActionRule:
    name: str
    kind: str
    """The node kind of a thought action: "step" or "mini"."""
    max_tokens: int
    boundaries: tuple[str, ...]
    answer_markers: tuple[str, ...]
    """Any of these starts the answer action (the task's)."""

    @property
    def stops(self) -> tuple[str, ...]:
        """Stop strings for generating one action."""
        return (*self.boundaries, *self.answer_markers)

    def split(self, tokens: Sequence[int], detokenize: Detokenize) -> Split:
        """Where the first action of `tokens` (continuing some state) ends."""
        if not tokens:
            return Split(0, False)
        text = detokenize(tokens)
        marker = _first_marker(text, self.answer_markers)
        n = min(len(tokens), self.max_tokens)
        if marker is not None:
            if not text[:marker].strip():
                return Split(len(tokens), True)
            n = min(n, _tokens_within(tokens, marker, detokenize))
            if n == 0:  # the first token already holds the start of the tag
                return Split(len(tokens), True)
        if self.boundaries:
            found = find_stop(text, self.boundaries)
            if found is not None:
                end = found[0] + len(found[1])
                n = min(n, tokens_covering(tokens, end, detokenize))
        return Split(n, False)


def action_rule(
    name: str, answer_markers: tuple[str, ...], max_step_tokens: int = DEFAULT_MAX_STEP_TOKENS
) -> ActionRule:
    if name == "step":
        return ActionRule("step", "step", max_step_tokens, (STEP_BOUNDARY,), answer_markers)
    if name in ("mini-64", "mini-32"):
        return ActionRule(name, "mini", int(name.split("-")[1]), (), answer_markers)
    raise UsageError(f"unknown action {name!r}; choose one of {', '.join(ACTIONS)}")


def _first_marker(text: str, markers: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(m) for m in markers) if i >= 0]
    return min(found) if found else None


def _tokens_within(tokens: Sequence[int], chars: int, detokenize: Detokenize) -> int:
    """The largest n whose text `detokenize(tokens[:n])` has at most `chars` characters."""
    low, high = 0, len(tokens)
    while low < high:
        middle = (low + high + 1) // 2
        if len(detokenize(tokens[:middle])) <= chars:
            low = middle
        else:
            high = middle - 1
    return low


def tokens_covering(tokens: Sequence[int], chars: int, detokenize: Detokenize) -> int:
    """The smallest n whose text `detokenize(tokens[:n])` has at least `chars` characters."""
    low, high = 1, len(tokens)
    while low < high:
        middle = (low + high) // 2
        if len(detokenize(tokens[:middle])) >= chars:
            high = middle
        else:
            low = middle + 1
    return low
