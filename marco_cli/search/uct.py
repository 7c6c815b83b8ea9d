"""The tree policy of the search: where to grow the tree, and which answer it found.

Pure tree logic — no engine, no text:

- **Select** — from the root, descend by UCT (Q + c·sqrt(ln N(parent) / N(child))), taking an
  unvisited child first (the first in creation order), until a node without children. Leaves
  in flight or still rolling out (`taken`) are not selected again.
- **Virtual loss** — a leaf in flight carries one visit of value 0 along its path (`take_off`),
  taken back when its last rollout ends (`land`), so that concurrent selections spread out.
- **Back up** — a rollout's reward is added to the visit count and value sum of its node and
  the node's ancestors as soon as it ends.
- **Rollout records** — the policy owns the list of every rollout that ended and of those that
  completed an answer, since the final choice and early stopping are made from them. The
  expander computes each record and the scheduler hands it in (`add_rollout`, which backs its
  reward up at once); so too which child took over a rollout (`hand_over`). Nothing else writes
  them.
- **Final choice** among the completed rollouts: `select="reward"` returns the highest-reward
  one; `"visits"` follows the most-visited children and returns the best rollout at the deepest
  node of that chain that has one; `"vote"` returns the best rollout of the most frequent answer
  (compared by the task's `answer_key`; ties by best reward).
- **Recorded choosers** (`RECORDED_CHOOSERS`, in `choices` only, not `--select`):
  `"weighted-vote"` sums each answer's rewards instead of counting it (the confidence-weighted
  vote of Deep Think with Confidence, arXiv 2508.15260, with the paper's reward as the weight);
  `"lowest-window"` takes the rollout whose least confident stretch of `WINDOW` tokens is the
  most confident (that paper's lowest group confidence, over the paper's c_i).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

from marco_cli.search.config import RECORDED_CHOOSERS, SELECT_MODES
from marco_cli.search.results import RolloutRecord
from marco_cli.search.tree import Node, Tree


def uct_score(child: Node, parent_visits: int, exploration: float) -> float:
    """UCT of `child`: Q + c * sqrt(ln N(parent) / N(child)); +inf while unvisited."""
    if child.visits == 0:
        return math.inf
    return child.q + exploration * math.sqrt(math.log(max(parent_visits, 1)) / child.visits)


class UctPolicy:
    """Selection, virtual loss, back-up and the final choice over one search tree, with the
    record of every rollout that ended."""

    def __init__(
        self,
        tree: Tree,
        *,
        exploration: float,
        select: str,
        path_limit: int,
        max_depth: int | None,
    ) -> None:
        self.tree = tree
        self.exploration = exploration
        self.select_mode = select
        self.path_limit = path_limit
        """Most tokens after the prompt on one path."""
        self.max_depth = max_depth
        self.rollouts: list[RolloutRecord] = []
        """Every rollout that ended (completed or not), in order (`add_rollout`)."""
        self.completed: list[RolloutRecord] = []
        """The rollouts that completed an answer: the candidates of the final choice."""
        self.moved: dict[int, int] = {}
        """Node id -> the child that took over its rollout (`hand_over`, `holder`)."""

    # -- where the tree can grow ------------------------------------------------------------

    def room(self, node: Node) -> int:
        """Tokens a path through `node` may still add."""
        return self.path_limit - node.path_tokens

    def expandable(self, node: Node) -> bool:
        if node.terminal is not None or node.children or self.room(node) <= 0:
            return False
        return self.max_depth is None or node.depth < self.max_depth

    def exhausted(self) -> bool:
        """Nothing left to expand or evaluate: every leaf is terminal or at max depth."""
        return not any(
            not node.children
            and (self.expandable(node) or (node.visits == 0 and node.terminal is None))
            for node in self.tree
        )

    # -- selection --------------------------------------------------------------------------

    def select(self, taken: AbstractSet[int] = frozenset()) -> Node | None:
        """Descend by UCT (unvisited children first) to a node without children; None when
        every way down ends at a leaf already `taken` (in flight or rolling out)."""
        node = self.tree.root
        while node.children and node.terminal is None:
            children = [c for c in self.tree.children(node) if self._open(c, taken)]
            if not children:
                return None
            unvisited = [c for c in children if c.visits == 0]
            if unvisited:
                return unvisited[0]
            best = children[0]
            best_score = -math.inf
            for child in children:
                score = uct_score(child, node.visits, self.exploration)
                if score > best_score:
                    best, best_score = child, score
            node = best
        return None if node.id in taken else node

    def _open(self, node: Node, taken: AbstractSet[int]) -> bool:
        """Whether a leaf not yet `taken` can be reached through `node`."""
        if not taken:
            return True
        if node.id in taken:
            return False
        if not node.children or node.terminal is not None:
            return True
        return any(self._open(c, taken) for c in self.tree.children(node))

    # -- values -----------------------------------------------------------------------------

    def take_off(self, leaf: Node) -> list[Node]:
        """Put a virtual loss on the path to `leaf` (returned, for `land`)."""
        path = self.tree.path(leaf.id)
        for node in path:
            node.visits += 1  # a visit worth 0 until the real values arrive
        return path

    def land(self, path: list[Node]) -> None:
        """Take a virtual loss back."""
        for node in path:
            node.visits -= 1

    def backup(self, node: Node | None, value: float) -> None:
        while node is not None:
            node.visits += 1
            node.value_sum += value
            node = self.tree.parent(node)

    def add_rollout(self, node: Node, record: RolloutRecord, *, completed: bool) -> None:
        """A rollout from `node` ended: keep its record (a candidate for the final choice when
        it `completed` an answer) and back its reward up."""
        self.rollouts.append(record)
        if completed:
            self.completed.append(record)
        self.backup(node, record.reward)

    def hand_over(self, parent: Node, child: Node) -> None:
        """`parent`'s rollout now lives on in `child` (its first action became that child)."""
        self.moved[parent.id] = child.id

    def holder(self, node_id: int) -> int:
        """The deepest node now holding the rollout that started at `node_id`: reuse moves a
        rollout's first action into a child, and the rest of the rollout with it."""
        while node_id in self.moved:
            node_id = self.moved[node_id]
        return node_id

    # -- the final choice -------------------------------------------------------------------

    def agreed(self, needed: int) -> bool:
        """At least `needed` completed rollouts agree on an answer (0: never)."""
        if needed <= 0 or not self.completed:
            return False
        counts = Counter(c.key for c in self.completed if c.key)
        return bool(counts) and max(counts.values()) >= needed

    def best(self, mode: str | None = None) -> RolloutRecord | None:
        """The chosen completed rollout, by `mode` (default: the `select` mode); None while
        none completed."""
        if not self.completed:
            return None
        mode = mode or self.select_mode
        if mode in CHOOSERS:
            return CHOOSERS[mode](self.completed)
        if mode == "visits":
            for node in reversed(self.visits_chain()):
                inside = [
                    c
                    for c in self.completed
                    if self.tree.is_ancestor(node.id, self.holder(c.node_id))
                ]
                if inside:
                    return max_reward(inside)
        return max_reward(self.completed)

    def choices(self) -> dict[str, int]:
        """For every select mode and recorded chooser, the index in `completed` of the rollout
        it chooses: what each would have answered from this one search (bench's diagnostics
        compare them)."""
        index = {id(c): i for i, c in enumerate(self.completed)}
        choices = {}
        for mode in SELECT_MODES + RECORDED_CHOOSERS:
            chosen = self.best(mode)
            if chosen is not None:
                choices[mode] = index[id(chosen)]
        return choices

    def visits_chain(self) -> list[Node]:
        """From the root, the most visited child at each level."""
        node = self.tree.root
        chain = [node]
        while True:
            visited = [c for c in self.tree.children(node) if c.visits > 0]
            if not visited:
                return chain
            node = max(visited, key=lambda c: (c.visits, c.q, -c.id))
            chain.append(node)

    def best_path(self) -> tuple[int, ...]:
        best = self.best()
        if best is not None:
            return self.tree.path_ids(self.holder(best.node_id))
        return tuple(n.id for n in self.visits_chain())


def vote_winner(records: list[RolloutRecord]) -> RolloutRecord:
    """The best rollout of the most frequent answer key; a tie goes to the key with the best
    reward."""
    counts = Counter(c.key for c in records)
    best_reward: dict[str, float] = {}
    for c in records:
        best_reward[c.key] = max(best_reward.get(c.key, -math.inf), c.reward)
    winner = max(counts, key=lambda k: (counts[k], best_reward[k]))
    return max_reward([c for c in records if c.key == winner])


def weighted_vote_winner(records: list[RolloutRecord]) -> RolloutRecord:
    """The best rollout of the answer key whose rollouts' rewards add up to the most; ties to
    the key with the best reward."""
    totals: dict[str, float] = {}
    best_reward: dict[str, float] = {}
    for c in records:
        totals[c.key] = totals.get(c.key, 0.0) + c.reward
        best_reward[c.key] = max(best_reward.get(c.key, -math.inf), c.reward)
    winner = max(totals, key=lambda k: (totals[k], best_reward[k]))
    return max_reward([c for c in records if c.key == winner])


WINDOW = 32
"""Tokens in the sliding window of `lowest_window`: a mini-step, the search's smallest action."""


def lowest_window(confidences: Sequence[float | None], window: int = WINDOW) -> float:
    """The lowest mean confidence over any `window` consecutive model tokens (forced tokens
    left out); the mean of all of them on a shorter path; 0 for none."""
    scores = [c for c in confidences if c is not None]
    if not scores:
        return 0.0
    if len(scores) <= window:
        return sum(scores) / len(scores)
    total = sum(scores[:window])
    lowest = total
    for i in range(window, len(scores)):
        total += scores[i] - scores[i - window]
        lowest = min(lowest, total)
    return lowest / window


def lowest_window_winner(records: list[RolloutRecord]) -> RolloutRecord:
    """The rollout whose least confident window is the most confident; the earliest among
    equals."""
    best, best_score = records[0], lowest_window(records[0].confidences)
    for record in records[1:]:
        score = lowest_window(record.confidences)
        if score > best_score:
            best, best_score = record, score
    return best


def max_reward(records: list[RolloutRecord]) -> RolloutRecord:
    """The highest reward; the earliest among equals (deterministic)."""
    best = records[0]
    for record in records[1:]:
        if record.reward > best.reward:
            best = record
    return best


CHOOSERS: dict[str, Callable[[list[RolloutRecord]], RolloutRecord]] = {
    "reward": max_reward,
    "vote": vote_winner,
    "weighted-vote": weighted_vote_winner,
    "lowest-window": lowest_window_winner,
}
"""The final choices that need only the completed rollouts (`visits` needs the tree)."""
