"""What a search is asked to do: `SearchConfig`, and `search_config()`, the one way every caller
(solve, translate, bench, the speed suite) builds one.

Budgets keep one name each, the name of their flag: `max_tokens` is one answer's tokens (one
reasoning path, as `--max-tokens` bounds one chain of thought), `search_tokens` the whole
search's (`--search-tokens`). A `SearchConfig` checks itself when it is made (or copied with
`dataclasses.replace`), so an invalid one never reaches the search, and its messages name the
flag a user types.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from marco_cli.errors import UsageError
from marco_cli.search.actions import ACTIONS, DEFAULT_MAX_STEP_TOKENS
from marco_cli.search.reward import REWARDS

SELECT_MODES: tuple[str, ...] = ("reward", "visits", "vote")
RECORDED_CHOOSERS: tuple[str, ...] = ("weighted-vote", "lowest-window")
"""Final choices every search records beside the select modes (`choices`) without offering
them as `--select`: candidates for a later, pre-registered comparison (docs/preregistration.md)."""

INTERNAL_FIELDS: frozenset[str] = frozenset(
    {"top_p", "top_k", "max_reflections", "max_step_tokens", "max_depth", "chunk"}
)
"""Fields no command-line flag sets; every other field `name` is set by `--name` (dashes for
underscores), which is what the checks' messages say."""


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
    search_tokens: int | None = None
    """Budget of generated tokens for the whole search (None: no budget beyond iterations)."""
    max_tokens: int = 4096
    """Most tokens after the prompt on one path: one answer (also capped by the context)."""
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

    def __post_init__(self) -> None:
        counts = ("iterations", "branch", "search_tokens", "max_tokens", "max_step_tokens")
        limits = ("max_depth", "parallel", "chunk")
        checks = [
            *(_at_least_one(self, name) for name in (*counts, *limits)),
            (self.exploration >= 0, "--exploration must not be negative"),
            (self.temperature >= 0, "--temperature must not be negative"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (self.max_reflections >= 0, "max_reflections must not be negative"),
            (self.time_limit is None or self.time_limit > 0, "--time-limit must be positive"),
            (self.early_stop >= 0, "--early-stop must not be negative (0 turns it off)"),
            _one_of(self.action, "action", ACTIONS),
            _one_of(self.select, "select", SELECT_MODES),
            _one_of(self.reward, "reward", REWARDS),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FIELDS: frozenset[str] = frozenset(f.name for f in dataclasses.fields(SearchConfig))


def search_config(
    *layers: Mapping[str, Any],
    base: SearchConfig | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    reflect: bool | None = None,
    temperature: float | None = None,
) -> SearchConfig:
    """A search's settings: `base` (default: the library's defaults), then each layer of field
    values in turn, later layers winning (a command's preset, then what the user set; a None
    value leaves the field as it was), then the keyword arguments that are not None — one
    answer's limit, the seed, the reflection switch and the children's temperature, which
    every command shares with its chain of thought."""
    values: dict[str, Any] = {}
    for layer in layers:
        unknown = sorted(set(layer) - FIELDS)
        if unknown:
            raise UsageError(f"unknown search setting(s) {', '.join(unknown)}")
        values.update({name: value for name, value in layer.items() if value is not None})
    shared = {
        "max_tokens": max_tokens,
        "seed": seed,
        "reflect": reflect,
        "temperature": temperature,
    }
    values.update({name: value for name, value in shared.items() if value is not None})
    return dataclasses.replace(base or SearchConfig(), **values)


def upgrade_config_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """A search configuration as JSON, saved by any version, in today's field names: before
    the budgets took their flags' names, `max_path_tokens` was one path's limit and
    `max_tokens` the whole search's budget."""
    upgraded = dict(data)
    if "max_path_tokens" in upgraded:
        upgraded["search_tokens"] = upgraded.pop("max_tokens", None)
        upgraded["max_tokens"] = upgraded.pop("max_path_tokens")
    return upgraded


def _flag(name: str) -> str:
    return name if name in INTERNAL_FIELDS else "--" + name.replace("_", "-")


def _at_least_one(config: SearchConfig, name: str) -> tuple[bool, str]:
    """None (no limit) or at least 1."""
    value = getattr(config, name)
    return value is None or value >= 1, f"{_flag(name)} must be at least 1"


def _one_of(value: str, name: str, names: Sequence[str] | Mapping[str, Any]) -> tuple[bool, str]:
    return value in names, f"unknown {_flag(name)} {value!r}; choose one of {', '.join(names)}"
