"""What a search reports: the result, its statistics, the record of each rollout, and the
events a viewer receives while it runs (plain data through `to_json()` / `snapshot()`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from marco_cli.search.config import SearchConfig
from marco_cli.search.tree import Tree

DOCUMENT_FORMAT = "marco-search-tree"
DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class RolloutRecord:
    """One rollout that ended: with a completed answer (then it is a candidate for the result)
    or not (cut by the path's token limit or the budget, or ended without an answer)."""

    node_id: int
    """The node the rollout started from (for an answer node completed by its own
    continuation, that node)."""
    answer: str
    key: str
    """The task's `answer_key(answer)`: what votes and early stopping compare."""
    reward: float
    tokens: int
    """Generated tokens of the whole path, root to the end of the rollout."""
    closed: bool
    text: str = field(repr=False, compare=False)
    """The whole generated text after the prompt."""
    confidences: tuple[float | None, ...] = field(default=(), repr=False, compare=False)
    """Each path token's confidence c_i (None for forced tokens): what the reward was computed
    from, kept so that other rewards can be compared on the same rollouts afterwards."""

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "answer": self.answer,
            "key": self.key,
            "reward": round(self.reward, 6),
            "tokens": self.tokens,
            "closed": self.closed,
            "confidences": [None if c is None else round(c, 3) for c in self.confidences],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RolloutRecord:
        """Back from `to_json()` (a results file's record); the text is not kept there."""
        return cls(
            node_id=int(data["node_id"]),
            answer=str(data["answer"]),
            key=str(data["key"]),
            reward=float(data["reward"]),
            tokens=int(data["tokens"]),
            closed=bool(data["closed"]),
            text="",
            confidences=tuple(data.get("confidences") or ()),
        )


@dataclass(frozen=True)
class SearchStats:
    generated: int
    """Tokens the model generated (sampled children and rollouts)."""
    forced: int
    """Tokens inserted by the search (reflection phrases)."""
    prompt: int
    evaluated: int
    """Tokens the engine fed through the model: prompt and re-evaluated prefixes included."""
    unique: int
    """Tokens the search produced, each counted once: prompt + generated + forced. A perfect
    prefix cache evaluates exactly these; anything above is a prefix evaluated again."""
    wall_seconds: float
    iterations: int
    rollouts: int
    completed: int
    batches: int
    duplicates: int
    """Sampled children dropped because they repeated a sibling."""
    split_batches: int
    """Batches retried in smaller groups because the KV cache could not hold them at once."""
    seed: int

    @property
    def eval_ratio(self) -> float:
        """Evaluated / unique tokens: 1.0 means no prefix was evaluated twice."""
        return self.evaluated / self.unique if self.unique else 0.0

    @property
    def tokens_per_second(self) -> float:
        """Effective speed: generated tokens per wall second of the whole search."""
        return self.generated / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["wall_seconds"] = round(self.wall_seconds, 3)
        data["eval_ratio"] = round(self.eval_ratio, 4)
        data["tokens_per_second"] = round(self.tokens_per_second, 2)
        return data


@dataclass(frozen=True)
class SearchEvent:
    """What the search reports to `on_event`. Treat `tree` as read-only; `snapshot()` turns the
    event into plain data for a viewer (call it only when drawing: it walks the whole tree)."""

    kind: str
    """"start", "expand" (children added), "iteration" (values backed up) or "done"."""
    iteration: int
    """Iterations finished so far (`stats.iterations`, and the saved tree's "iteration")."""
    iterations: int
    tree: Tree
    best_path: tuple[int, ...]
    stats: SearchStats
    answer: str | None = None
    """The best answer so far, if any rollout completed."""

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": DOCUMENT_FORMAT,
            "version": DOCUMENT_VERSION,
            "event": self.kind,
            "iteration": self.iteration,
            "iterations": self.iterations,
            "best_path": list(self.best_path),
            "answer": self.answer,
            "stats": self.stats.to_json(),
            "tree": self.tree.to_json(full=False),
        }


@dataclass(frozen=True)
class SearchResult:
    answer: str
    """The final answer ("" when no rollout produced one)."""
    thought: str
    text: str
    """The chosen path's whole generated text (the best partial path when nothing completed)."""
    path: tuple[int, ...]
    """Node ids from the root to the node whose rollout gave the answer."""
    reward: float | None
    complete: bool
    """At least one rollout completed (the answer comes from one)."""
    completed: tuple[RolloutRecord, ...]
    """The rollouts that completed an answer, in order."""
    choices: dict[str, int]
    """Select mode -> index in `completed` of the rollout that mode chooses (empty when
    nothing completed); the answer is the one of `config.select`."""
    stop_reason: str
    """"iterations", "early_stop", "search_tokens", "time_limit", "interrupted" or "exhausted"
    (no node left to expand)."""
    interrupted: bool
    stats: SearchStats
    tree: Tree = field(repr=False)
    config: SearchConfig = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything but the tree: what `marco solve --json` reports under "search"."""
        return {
            "stop_reason": self.stop_reason,
            "interrupted": self.interrupted,
            "complete": self.complete,
            "reward": None if self.reward is None else round(self.reward, 6),
            "path": list(self.path),
            "nodes": len(self.tree),
            "config": self.config.to_json(),
            "stats": self.stats.to_json(),
            "completed": [c.to_json() for c in self.completed],
            "choices": dict(self.choices),
        }

    def to_json(self) -> dict[str, Any]:
        """The `--save-tree` document (`marco show` renders it)."""
        return {
            "format": DOCUMENT_FORMAT,
            "version": DOCUMENT_VERSION,
            "event": "done",
            "iteration": self.stats.iterations,
            "iterations": self.config.iterations,
            "answer": self.answer,
            "thought": self.thought,
            "best_path": list(self.path),
            **self.summary(),
            "tree": self.tree.to_json(),
        }
