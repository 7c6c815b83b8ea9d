"""What a translation run is asked to do: languages, strategy, budgets, batching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marco_cli.languages import Language

if TYPE_CHECKING:  # the search loads when a search runs
    from marco_cli.search import SearchConfig

STRATEGIES: tuple[str, ...] = ("direct", "cot", "mcts")
DEFAULT_STRATEGY = "cot"
SEARCH_DEFAULTS: dict[str, Any] = {"iterations": 8, "branch": 2, "early_stop": 3, "reflect": False}
"""SearchConfig fields for strategy mcts: a translation is short, so a smaller tree than `solve`
uses; no reflection (it makes small models drift away from the translation)."""


@dataclass(frozen=True)
class TranslateOptions:
    """How to translate: the language pair, the strategy and the budgets of one run."""

    src: Language | None
    """The source language; None when unknown (the prompt then says "source")."""
    tgt: Language
    strategy: str = DEFAULT_STRATEGY
    mode: str = "lines"
    max_tokens: int = 4096
    """Upper bound on the tokens generated for one unit (thought and translation together)."""
    temperature: float = 0.0
    top_p: float = 0.9
    seed: int | None = None
    split_long: bool = False
    """Split a unit that does not fit the context at sentence boundaries instead of failing."""
    batch_size: int = 8
    """Units generated together in one engine batch."""
    max_hints: int = 8
    search: SearchConfig | None = None
    """The whole search of strategy mcts, built with `search_config` (None: SEARCH_DEFAULTS
    with `seed`)."""
