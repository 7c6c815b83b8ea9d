"""`solve(strategy="mcts")`: run the search for a question and report it as a `SolveResult`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from marco_cli.engine.base import Engine
from marco_cli.search.config import SearchConfig
from marco_cli.search.mcts import run_mcts
from marco_cli.search.results import SearchEvent, SearchResult


def search_config(options: Any) -> SearchConfig:
    """The search configuration of `SolveOptions`: its `search` (or the defaults with the
    options' token budget), with the options' seed and reflection switch applied when set."""
    config = options.search
    if config is None:
        config = SearchConfig(max_tokens=options.max_tokens)
    changes: dict[str, Any] = {}
    if options.seed is not None and config.seed is None:
        changes["seed"] = options.seed
    if options.reflect is not None:
        changes["reflect"] = bool(options.reflect)
    return dataclasses.replace(config, **changes) if changes else config


def solve_mcts(
    engine: Engine,
    question: str,
    prompt: list[int],
    options: Any,
    prompts: dict[str, Any],
    *,
    on_event: Callable[[SearchEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Any:
    """Search, then report. Ctrl-C does not raise: the result's `search["interrupted"]` is True
    and its answer is the best found so far; `complete` is False when no rollout finished."""
    from marco_cli.solve import SolveResult

    config = search_config(options)
    result: SearchResult = run_mcts(
        engine, prompt, config, prompts, on_event=on_event, should_stop=should_stop
    )
    reflections = sum(
        1 for node_id in result.path if result.tree.nodes[node_id].kind == "reflection"
    )
    return SolveResult(
        question=question,
        answer=result.answer,
        thought=result.thought,
        complete=result.complete,
        finish_reason=result.stop_reason,
        strategy="mcts",
        model=engine.model_name,
        prompt_tokens=len(prompt),
        generated_tokens=result.stats.generated,
        evaluated_tokens=result.stats.evaluated,
        seconds=result.stats.wall_seconds,
        first_token_seconds=None,
        reflections=reflections,
        reward=result.reward,
        search=result.summary(),
        tree=result,
    )
