"""Monte Carlo Tree Search over reasoning steps, independent of the engine's implementation, of
the UI and of what is searched for: `run_mcts(engine, prompt_tokens, SearchConfig(...), task)`
→ `SearchResult`, where the `Task` says what actions and answers are."""

from marco_cli.search.actions import ACTIONS, ActionRule, action_rule
from marco_cli.search.config import (
    RECORDED_CHOOSERS,
    SELECT_MODES,
    SearchConfig,
    search_config,
    upgrade_config_json,
)
from marco_cli.search.mcts import run_mcts
from marco_cli.search.results import (
    RolloutRecord,
    SearchEvent,
    SearchResult,
    SearchStats,
)
from marco_cli.search.reward import (
    REWARDS,
    ConfidenceReward,
    PathSample,
    Reward,
    get_reward,
    token_confidence,
)
from marco_cli.search.task import Task
from marco_cli.search.tree import Node, Rollout, Tree
from marco_cli.search.uct import CHOOSERS, max_reward, vote_winner

__all__ = [
    "ACTIONS",
    "CHOOSERS",
    "RECORDED_CHOOSERS",
    "REWARDS",
    "SELECT_MODES",
    "ActionRule",
    "ConfidenceReward",
    "Node",
    "PathSample",
    "Reward",
    "Rollout",
    "RolloutRecord",
    "SearchConfig",
    "SearchEvent",
    "SearchResult",
    "SearchStats",
    "Task",
    "Tree",
    "action_rule",
    "get_reward",
    "max_reward",
    "run_mcts",
    "search_config",
    "token_confidence",
    "upgrade_config_json",
    "vote_winner",
]
