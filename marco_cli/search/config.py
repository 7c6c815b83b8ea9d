"""What a search is asked to do: `SearchConfig`, checked by `validate()` before it runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from marco_cli.errors import UsageError
from marco_cli.search.actions import ACTIONS, DEFAULT_MAX_STEP_TOKENS
from marco_cli.search.reward import REWARDS

SELECT_MODES: tuple[str, ...] = ("reward", "visits", "vote")
RECORDED_CHOOSERS: tuple[str, ...] = ("weighted-vote", "lowest-window")
"""Final choices every search records beside the select modes (`choices`) without offering
them as `--select`: candidates for a later, pre-registered comparison (docs/preregistration.md)."""


@dataclass(frozen=True)
class SearchConfig:
    iterations: int = 16
    branch: int = 3
    """Children per expansion (K)."""
    exploration: float = math.sqrt(2)
    """UCT's constant c."""
    action: str = "step"
    temperature: float = 0.8
    """Sampling temperature of new children (rollouts are greedy)."""
    top_p: float = 0.9
    top_k: int = 40
    select: str = "reward"
    reflect: bool = True
    max_reflections: int = 1
    max_tokens: int | None = None
    """Budget of generated tokens for the whole search (None: no budget beyond iterations)."""
    max_path_tokens: int = 4096
    """Most tokens after the prompt on one path (also capped by the context size)."""
    max_step_tokens: int = DEFAULT_MAX_STEP_TOKENS
    max_depth: int | None = None
    """Most actions on a path; deeper nodes are not expanded (None: no limit)."""
    time_limit: float | None = None
    """Seconds; checked between engine calls."""
    early_stop: int = 5
    parallel: int | None = None
    """Iterations in flight at once (virtual loss keeps them apart). None: as many as keep
    about 8 sequences busy (at most 8 iterations). 1 is the textbook one-at-a-time loop."""
    chunk: int = 32
    """Rollout tokens per engine call: a finished rollout's place in the batch is refilled
    with new work after at most this many tokens."""
    seed: int | None = None
    """Makes the whole search reproducible; None draws one (reported in the stats)."""
    reward: str = "confidence"

    def validate(self) -> None:
        checks = [
            (self.iterations >= 1, "--iterations must be at least 1"),
            (self.branch >= 1, "--branch must be at least 1"),
            (self.exploration >= 0, "--exploration must not be negative"),
            (
                self.action in ACTIONS,
                f"unknown --action {self.action!r}; choose one of {_any(ACTIONS)}",
            ),
            (self.temperature >= 0, "--temperature must not be negative"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (
                self.select in SELECT_MODES,
                f"unknown --select {self.select!r}; choose one of {_any(SELECT_MODES)}",
            ),
            (self.max_reflections >= 0, "max_reflections must not be negative"),
            (self.max_tokens is None or self.max_tokens >= 1, "--max-tokens must be at least 1"),
            (self.max_path_tokens >= 1, "max_path_tokens must be at least 1"),
            (self.max_step_tokens >= 1, "max_step_tokens must be at least 1"),
            (self.max_depth is None or self.max_depth >= 1, "max_depth must be at least 1"),
            (self.time_limit is None or self.time_limit > 0, "--time-limit must be positive"),
            (self.early_stop >= 0, "--early-stop must not be negative (0 turns it off)"),
            (self.parallel is None or self.parallel >= 1, "--parallel must be at least 1"),
            (self.chunk >= 1, "chunk must be at least 1"),
            (
                self.reward in REWARDS,
                f"unknown --reward {self.reward!r}; choose one of {_any(REWARDS)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _any(names: Sequence[str] | dict[str, Any]) -> str:
    return ", ".join(names)
