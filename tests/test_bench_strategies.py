"""Bench strategies by name, and the options each attempt of one runs with."""

from __future__ import annotations

import pytest

from marco_cli.bench import BenchOptions, StrategySpec, parse_strategies, solve_options_for
from marco_cli.errors import UsageError
from marco_cli.search import search_config


def test_parse_strategies() -> None:
    specs = parse_strategies("cot, mcts-step-reflect,mcts-mini64-noreflect,mini32")
    assert [s.name for s in specs] == ["cot", "mcts-step-reflect", "mcts-mini64", "mcts-mini32"]
    assert [s.action for s in specs] == [None, "step", "mini-64", "mini-32"]
    assert [s.name for s in parse_strategies("cot,mcts", reflect=True)] == [
        "cot-reflect",
        "mcts-step-reflect",
    ]
    assert [s.name for s in parse_strategies("cot-noreflect", reflect=True)] == ["cot"]
    assert len(parse_strategies("cot,cot-noreflect")) == 1


@pytest.mark.parametrize("text", ["beam", "", "mcts-mini16", "cot-reflected"])
def test_unknown_strategies(text: str) -> None:
    with pytest.raises(UsageError):
        parse_strategies(text)


def test_solve_options_for_cot_and_mcts() -> None:
    chosen = search_config({"iterations": 2, "branch": None})
    options = BenchOptions(seed=7, max_tokens=300, search=chosen)
    cot = solve_options_for(StrategySpec("cot", True), options, sample=1)
    assert (cot.strategy, cot.reflect, cot.seed, cot.max_tokens, cot.search) == (
        "cot",
        True,
        8,
        300,
        None,
    )
    mcts = solve_options_for(StrategySpec("mcts-mini32", False), options, sample=0)
    assert mcts.strategy == "mcts"
    search = mcts.search
    assert (search.action, search.reflect, search.iterations) == ("mini-32", False, 2)
    assert mcts.search.seed == 7
    # --max-tokens bounds each reasoning path; the whole search has no budget unless given.
    assert (search.max_tokens, search.search_tokens) == (300, None)
    budget = BenchOptions(max_tokens=300, search=search_config({"search_tokens": 900}))
    assert solve_options_for(StrategySpec("mcts-step", False), budget).search.search_tokens == 900
    default_branch = type(mcts.search)().branch
    assert mcts.search.branch == default_branch  # None means "the search's default"


def test_unknown_search_setting() -> None:
    with pytest.raises(UsageError, match="beam_width"):
        search_config({"beam_width": 3})
