"""Monte Carlo Tree Search over reasoning steps, independent of the engine's implementation and
of the UI: `run_mcts(engine, prompt_tokens, SearchConfig(...), prompts)` → `SearchResult`."""

from marco_cli.search.actions import ACTIONS, ActionRule, action_rule
from marco_cli.search.config import SELECT_MODES, SearchConfig
from marco_cli.search.mcts import run_mcts
from marco_cli.search.results import (
    CompletedRollout,
    SearchEvent,
    SearchResult,
    SearchStats,
    answer_key,
)
from marco_cli.search.reward import (
    REWARDS,
    ConfidenceReward,
    PathSample,
    Reward,
    get_reward,
    token_confidence,
)
from marco_cli.search.tree import Node, Rollout, Tree

__all__ = [
    "ACTIONS",
    "REWARDS",
    "SELECT_MODES",
    "ActionRule",
    "CompletedRollout",
    "ConfidenceReward",
    "Node",
    "PathSample",
    "Reward",
    "Rollout",
    "SearchConfig",
    "SearchEvent",
    "SearchResult",
    "SearchStats",
    "Tree",
    "action_rule",
    "answer_key",
    "get_reward",
    "run_mcts",
    "token_confidence",
]
