"""Monte Carlo Tree Search over reasoning (Marco-o1 paper, sections 2 and 3): `run_mcts`.

One iteration (several run at once):

1. **Select** a leaf by UCT, unvisited children first (`uct.py`).
2. **Expand** it with K (`branch`) children: the greedy next action — the first action of its
   rollout, for free, or for the root a request at temperature 0 — and the others sampled in
   one batch; a reflection child beside an answer (`expansion.py`). The root's greedy child
   rolled out greedily is the chain of thought, so the search always holds cot's answer.
3. **Roll out** every new child greedily to a terminal state, in chunks that share the engine's
   batches with other iterations (`scheduler.py`); a turn that ends without an answer is given
   the task's `force_answer`, as the chain of thought is.
4. **Back up** each rollout's reward along its path as soon as it ends (`uct.py`); the reward
   is the paper's mean token confidence (`reward.py`).

What an action, an answer and a reflection are comes from the task (`task.py`); the result is
the chosen completed rollout (`--select`) with the search's statistics (`results.py`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from marco_cli.engine.base import Engine
from marco_cli.search.config import SearchConfig
from marco_cli.search.results import SearchEvent, SearchResult
from marco_cli.search.scheduler import Scheduler
from marco_cli.search.task import Task


def run_mcts(
    engine: Engine,
    prompt_tokens: Sequence[int],
    config: SearchConfig,
    task: Task,
    *,
    on_event: Callable[[SearchEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """Search for the best reasoning path continuing `prompt_tokens` (a chat prompt ending inside
    the assistant turn, after `task.assistant_prefix`).

    Ctrl-C (KeyboardInterrupt) or `should_stop()` returning True ends the search cleanly: the
    result holds the best answer so far with `interrupted=True`. A result with `complete=False`
    means no rollout reached an answer within the budget; `text` then holds the best partial path.
    """
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    search = Scheduler(engine, prompt_tokens, config, task, seed, on_event, should_stop)
    return search.run()
