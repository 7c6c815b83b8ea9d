"""Monte Carlo Tree Search over reasoning (Marco-o1 paper, sections 2 and 3).

One iteration (the search runs them in rounds, see "Speed" below):

1. **Select** — from the root, descend by UCT (Q + c·sqrt(ln N(parent) / N(child))), taking an
   unvisited child first (the first in creation order), until a node without children.
2. **Expand** — give that node K (`branch`) children. If the node already has a rollout, the
   rollout's first action becomes one child for free (with its confidences and the rest of the
   rollout, so that child is already evaluated); the other children are *sampled* actions
   (`temperature`, `top_p`, a per-child seed derived from `seed`), all in ONE
   `engine.generate_batch` call.
3. **Roll out** — every new child continues greedily to a terminal state (`</Output>` closed, the
   end of the model's turn, or the path's token limit), all in ONE `generate_batch` call.
4. **Back up** — each new child's rollout reward is added to the visit count and value sum of the
   child and its ancestors (a reused child starts at N=1 with its rollout's value but is not
   backed up again: its ancestors already counted that rollout).

Selecting a terminal node (or one at `max_depth`) backs its value up again without generating.

Reflection (paper, section 3): when an *answer* child (the thought closing, see
`actions.py`) is attached to a node, that node — the thought without its close — also gets a
*reflection* child: "\\n" + the reflection phrase of prompts/solve.yaml as a forced action (no
confidences; it does not count in the reward). It starts unvisited, so selection visits it on the
next pass through its parent, and expanding it makes the model rethink from there. At most
`max_reflections` (1) reflections per path.

Answers: every completed rollout (answer closed, or the turn ended with an answer) is recorded.
`select="reward"` returns the highest-reward one; `"visits"` follows the most-visited children
and returns the best rollout at the deepest node of that chain that has one; `"vote"` returns the
best rollout of the most frequent answer (compared by the extracted final number when there is
one, else by the whitespace-normalised text; ties by best reward). `early_stop` ends the search
once that many completed rollouts agree on an answer (default 5; 0 turns it off).

Speed: requests name full token prefixes; the engine forks its KV cache from the longest cached
prefix, so siblings share their parent's cache and a greedy rollout's first action, reused as a
child, is never recomputed. The result's stats report generated, evaluated and unique tokens.
Batches are only fast when they are full (on a CPU two sequences cost as much as one, eight run
about twice as fast in total), so a *round* selects `parallel` distinct leaves — after each pick
a virtual loss (one visit of value 0 along its path, taken back before the real backup) steers
the next descent elsewhere — expands all of them in one batch and rolls all their new children
out in one batch; each leaf counts as one iteration. `parallel=1` is the textbook loop.

The search never imports the UI: `on_event` receives `SearchEvent`s whose `snapshot()` is plain
JSON-ready data (the same shape `--save-tree` writes).
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from marco_cli.engine.base import Engine, Generation, Request, Sampling
from marco_cli.errors import ContextOverflowError, UsageError
from marco_cli.response import OUTPUT_CLOSE, parse_response
from marco_cli.search.actions import ACTIONS, DEFAULT_MAX_STEP_TOKENS, action_rule
from marco_cli.search.reward import REWARDS, PathSample, get_reward, token_confidence
from marco_cli.search.tree import Node, Rollout, Tree, uct_score

SELECT_MODES: tuple[str, ...] = ("reward", "visits", "vote")
STOP_REASONS: tuple[str, ...] = (
    "iterations",
    "early_stop",
    "max_tokens",
    "time_limit",
    "interrupted",
    "exhausted",
)
DOCUMENT_FORMAT = "marco-search-tree"
DOCUMENT_VERSION = 1

BATCH_TARGET = 8
"""Sequences per batch the default `parallel` aims at: on a CPU, llama.cpp's total speed grows
up to about 8 sequences (1.9x one sequence on the demo model), little beyond."""

_now = time.perf_counter  # tests replace it


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
    """Leaves expanded together per round (virtual loss keeps them apart), so that one batch
    holds about 8 sequences; None: max(1, 8 // branch). 1 is the textbook one-at-a-time loop."""
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


@dataclass(frozen=True)
class CompletedRollout:
    """One rollout that reached an answer."""

    node_id: int
    """The node the rollout started from (for an answer node completed by its own
    continuation, that node)."""
    answer: str
    key: str
    """`answer_key(answer)`: what votes and early stopping compare."""
    reward: float
    tokens: int
    """Generated tokens of the whole path, root to the end of the rollout."""
    closed: bool
    text: str = field(repr=False, compare=False)
    """The whole generated text after the prompt."""

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "answer": self.answer,
            "key": self.key,
            "reward": round(self.reward, 6),
            "tokens": self.tokens,
            "closed": self.closed,
        }


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
    completed: tuple[CompletedRollout, ...]
    stop_reason: str
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


def _any(names: Sequence[str] | dict[str, Any]) -> str:
    return ", ".join(names)


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def answer_key(answer: str) -> str:
    """What two answers are compared by: the extracted final number when there is one, else the
    whitespace-normalised text."""
    try:
        from marco_cli.bench.extract import extract_answer
    except ImportError:  # pragma: no cover - the bench package ships with marco
        numbers = _NUMBER.findall(answer)
        number = numbers[-1].replace(",", "") if numbers else None
    else:
        number = extract_answer(answer)
    if number:
        return number
    return " ".join(answer.split())


def run_mcts(
    engine: Engine,
    prompt_tokens: Sequence[int],
    config: SearchConfig,
    prompts: dict[str, Any],
    *,
    on_event: Callable[[SearchEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """Search for the best reasoning path continuing `prompt_tokens` (a chat prompt ending inside
    the assistant turn, after `prompts["assistant_prefix"]`).

    Ctrl-C (KeyboardInterrupt) or `should_stop()` returning True ends the search cleanly: the
    result holds the best answer so far with `interrupted=True`. A result with `complete=False`
    means no rollout reached an answer within the budget; `text` then holds the best partial path.
    """
    config.validate()
    return _Search(engine, prompt_tokens, config, prompts, on_event, should_stop).run()


def _child_seed(seed: int, node_id: int, index: int) -> int:
    """A well-mixed 31-bit seed per (search seed, node, child index) — splitmix64."""
    x = (seed * 0x9E3779B97F4A7C15 + node_id * 0xBF58476D1CE4E5B9 + index + 1) & (2**64 - 1)
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & (2**64 - 1)
    x ^= x >> 31
    return x & 0x7FFFFFFF


@dataclass
class _Pending:
    """Tokens generated past a sampled action's end (a closing tag), to start its rollout."""

    tokens: list[int]
    scores: list[float | None]
    finish: str
    """The segment's finish: "eos" means the rollout is already complete."""


class _Search:
    def __init__(
        self,
        engine: Engine,
        prompt_tokens: Sequence[int],
        config: SearchConfig,
        prompts: dict[str, Any],
        on_event: Callable[[SearchEvent], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.on_event = on_event
        self.should_stop = should_stop
        self.rule = action_rule(config.action, config.max_step_tokens)
        self.reward = get_reward(config.reward)
        self.seed = (
            config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
        )
        self.tree = Tree(prompt_tokens)
        self.prefix_text = str(prompts.get("assistant_prefix", ""))
        self.reflection_text = "\n" + str(prompts.get("reflection", "")).strip()
        self.reflection_tokens: list[int] = []
        if config.reflect and config.max_reflections > 0:
            self.reflection_tokens = engine.tokenize(self.reflection_text, special=False)
        self.parallel = config.parallel or max(1, BATCH_TARGET // config.branch)
        self.path_limit = max(0, min(config.max_path_tokens, engine.n_ctx - len(prompt_tokens)))
        self.generated = 0
        self.forced = 0
        self.batches = 0
        self.duplicates = 0
        self.max_batch = 1 << 30
        self.overflows = 0
        self.iterations_done = 0
        self.iteration = 0
        self.rollouts: list[CompletedRollout] = []
        """Every rollout that ended (completed or not), in order."""
        self.completed: list[CompletedRollout] = []
        self.pending: dict[int, _Pending] = {}
        self.moved: dict[int, int] = {}
        """Node id -> the child that took over its rollout (see `_holder`)."""
        self.started = _now()
        self.evaluated_start = engine.stats.evaluated

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> SearchResult:
        reason = "iterations"
        try:
            self._emit("start")
            while self.iterations_done < self.config.iterations:
                stop = self._stop_now()
                if stop:
                    reason = stop
                    break
                width = min(self.parallel, self.config.iterations - self.iterations_done)
                leaves = self._select_leaves(width)
                if not leaves:
                    reason = "exhausted"
                    break
                self.iteration = self.iterations_done + len(leaves)
                grow = [leaf for leaf in leaves if self._expandable(leaf)]
                growing = {leaf.id for leaf in grow}
                new = self._expand(grow) if grow else []
                if grow:
                    self._emit("expand")
                    stop = self._stop_now()
                    if stop:
                        reason = stop
                        break
                for leaf in leaves:
                    if leaf.id in growing:
                        continue
                    if leaf.visits == 0 and leaf.terminal is None:
                        new.append(leaf)  # e.g. a reflection child at max_depth: roll it out
                    else:
                        self._backup(leaf, leaf.q)  # terminal: its value again
                self._evaluate(new)
                self.iterations_done += len(leaves)
                self._emit("iteration")
                if self._agreed():
                    reason = "early_stop"
                    break
                if self._exhausted():
                    reason = "exhausted"
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        result = self._result(reason)
        with contextlib.suppress(KeyboardInterrupt):
            self._emit("done", result)
        return result

    def _stop_now(self) -> str | None:
        if self.should_stop is not None and self.should_stop():
            return "interrupted"
        if self.config.time_limit is not None and _now() - self.started >= self.config.time_limit:
            return "time_limit"
        if self.config.max_tokens is not None and self.generated >= self.config.max_tokens:
            return "max_tokens"
        return None

    def _agreed(self) -> bool:
        if self.config.early_stop <= 0 or not self.completed:
            return False
        counts = Counter(c.key for c in self.completed if c.key)
        return bool(counts) and max(counts.values()) >= self.config.early_stop

    def _exhausted(self) -> bool:
        """Nothing left to expand or evaluate: every leaf is terminal or at max depth."""
        return not any(
            not node.children
            and (self._expandable(node) or (node.visits == 0 and node.terminal is None))
            for node in self.tree
        )

    # -- selection --------------------------------------------------------------------------

    def _select_leaves(self, width: int) -> list[Node]:
        """Up to `width` distinct leaves for one round. After each pick a virtual loss (one
        visit of value 0 along its path) steers the next descent elsewhere; it is taken back
        before the round's real values are backed up."""
        leaves: list[Node] = []
        taken: set[int] = set()
        for _ in range(width):
            leaf = self._select(taken)
            if leaf is None:
                break
            leaves.append(leaf)
            taken.add(leaf.id)
            for node in self.tree.path(leaf.id):
                node.visits += 1
        for leaf in leaves:
            for node in self.tree.path(leaf.id):
                node.visits -= 1
        return leaves

    def _select(self, taken: set[int] = frozenset()) -> Node | None:  # type: ignore[assignment]
        """Descend by UCT (unvisited children first) to a node without children; None when
        every way down ends at a leaf already `taken` this round."""
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
                score = uct_score(child, node.visits, self.config.exploration)
                if score > best_score:
                    best, best_score = child, score
            node = best
        return None if node.id in taken else node

    def _open(self, node: Node, taken: set[int]) -> bool:
        """Whether a leaf not yet `taken` can be reached through `node`."""
        if not taken:
            return True
        if node.id in taken:
            return False
        if not node.children or node.terminal is not None:
            return True
        return any(self._open(c, taken) for c in self.tree.children(node))

    def _room(self, node: Node) -> int:
        return self.path_limit - node.path_tokens

    def _expandable(self, node: Node) -> bool:
        if node.terminal is not None or node.children or self._room(node) <= 0:
            return False
        return self.config.max_depth is None or node.depth < self.config.max_depth

    # -- expansion --------------------------------------------------------------------------

    def _expand(self, parents: list[Node]) -> list[Node]:
        """Give each parent its children, sampling all of them in ONE batch; returns the new
        children that still need evaluating."""
        plans: list[tuple[Node, int]] = []
        for parent in parents:
            rollout = parent.rollout
            if rollout is not None and not rollout.budget_cut and not parent.rollout_used:
                child = self._child_from_rollout(parent, rollout)
                if child.kind == "answer":
                    self._maybe_reflect(parent)
            wanted = self.config.branch - len(parent.children)
            if wanted > 0:
                plans.append((parent, wanted))
        if not plans:
            return []
        share = self._budget_share(sum(wanted for _, wanted in plans))
        requests: list[Request] = []
        for parent, wanted in plans:
            state = tuple(self.tree.state_tokens(parent.id))
            cap = min(self.rule.max_tokens, self._room(parent), share)
            requests += [
                Request(
                    prompt=state,
                    max_tokens=cap,
                    stop=self.rule.stops,
                    sampling=Sampling(
                        temperature=self.config.temperature,
                        top_p=self.config.top_p,
                        top_k=self.config.top_k,
                        seed=_child_seed(self.seed, parent.id, index),
                    ),
                )
                for index in range(wanted)
            ]
        generations = iter(self._generate(requests))
        new = []
        for parent, wanted in plans:
            room = self._room(parent)
            at_path_end = min(self.rule.max_tokens, room, share) == room  # "length" = path full
            for _ in range(wanted):
                child = self._child_from_segment(parent, next(generations), at_path_end)
                if child is None:
                    self.duplicates += 1
                    continue
                new.append(child)
                if child.kind == "answer":
                    self._maybe_reflect(parent)
        return new

    def _child_from_segment(self, parent: Node, gen: Generation, at_path_end: bool) -> Node | None:
        """A sampled child, or None when it repeats a sibling (the same action tokens, or for an
        answer the start of a sibling answer: the greedy continuation would repeat it too)."""
        tokens = list(gen.tokens)
        scores: list[float | None] = [token_confidence(lp) for lp in gen.logprobs]
        split = self.rule.split(tokens, self.engine.detokenize)
        action = tokens if split.answer else tokens[: split.n]
        for sibling in self.tree.children(parent):
            if sibling.kind == "reflection":
                continue
            if sibling.tokens == action or (
                split.answer
                and sibling.kind == "answer"
                and sibling.tokens[: len(action)] == action
            ):
                return None
        if split.answer:
            child = self._add(parent, "answer", tokens, scores)
            if OUTPUT_CLOSE in child.text:
                child.terminal = "answer"
            elif gen.finish_reason == "eos":
                child.terminal = "eos"
            elif gen.finish_reason == "length" and at_path_end:
                child.terminal = "length"
            if child.terminal is not None:
                self._set_answer(child)
            return child
        n = split.n
        child = self._add(parent, self.rule.kind, tokens[:n], scores[:n])
        if n < len(tokens):
            self.pending[child.id] = _Pending(tokens[n:], scores[n:], gen.finish_reason)
        elif gen.finish_reason == "eos":
            child.terminal = "eos"
        elif gen.finish_reason == "length" and at_path_end:
            child.terminal = "length"
        if child.terminal is not None:
            self._set_answer(child)
        return child

    def _child_from_rollout(self, parent: Node, rollout: Rollout) -> Node:
        """The rollout's first action as a child, already visited once with the rollout's value;
        the rest of the rollout becomes the child's rollout."""
        parent.rollout_used = True
        split = self.rule.split(rollout.tokens, self.engine.detokenize)
        if split.answer:
            child = self._add(parent, "answer", rollout.tokens, rollout.scores)
            child.terminal = _terminal_of(rollout)
            child.answer = rollout.answer
        else:
            n = split.n
            child = self._add(parent, self.rule.kind, rollout.tokens[:n], rollout.scores[:n])
            if n < len(rollout.tokens):
                child.rollout = Rollout(
                    tokens=rollout.tokens[n:],
                    scores=rollout.scores[n:],
                    finish=rollout.finish,
                    value=rollout.value,
                    closed=rollout.closed,
                    budget_cut=rollout.budget_cut,
                    answer=rollout.answer,
                )
            else:
                child.terminal = _terminal_of(rollout)
                child.answer = rollout.answer
        child.visits = 1
        child.value_sum = rollout.value
        self.moved[parent.id] = child.id
        return child

    def _maybe_reflect(self, parent: Node) -> None:
        if (
            not self.reflection_tokens
            or parent.kind == "answer"
            or parent.reflections >= self.config.max_reflections
            or any(self.tree.nodes[c].kind == "reflection" for c in parent.children)
            or self._room(parent) <= len(self.reflection_tokens)
        ):
            return
        scores: list[float | None] = [None] * len(self.reflection_tokens)
        self._add(parent, "reflection", self.reflection_tokens, scores, text=self.reflection_text)
        self.forced += len(self.reflection_tokens)

    def _add(
        self,
        parent: Node,
        kind: str,
        tokens: Sequence[int],
        scores: Sequence[float | None],
        *,
        text: str | None = None,
    ) -> Node:
        if text is None:
            text = self.engine.detokenize(tokens) if tokens else ""
        node = self.tree.add(parent, kind, tokens, scores, text)
        if node.terminal is None and self._room(node) <= 0 and kind != "answer":
            node.terminal = "length"
        return node

    # -- rollouts and backup ----------------------------------------------------------------

    def _evaluate(self, nodes: list[Node]) -> None:
        """Roll out (or complete) the new nodes in one batch, then back up their values."""
        todo: list[tuple[Node, _Pending]] = []
        ready: list[Node] = []
        for node in nodes:
            pending = self.pending.pop(node.id, None) or _Pending([], [], "stop")
            if node.terminal is not None:
                ready.append(node)
            elif pending.finish == "eos":
                self._store_rollout(node, pending.tokens, pending.scores, "eos", budget_cut=False)
                ready.append(node)
            else:
                todo.append((node, pending))
        requests = []
        rooms = []
        share = self._budget_share(len(todo)) if todo else 0
        for node, pending in todo:
            room = self._room(node) - len(pending.tokens)
            rooms.append(room)
            prompt = self.tree.state_tokens(node.id) + pending.tokens
            requests.append(
                Request(
                    prompt=tuple(prompt), max_tokens=max(1, min(room, share)), stop=(OUTPUT_CLOSE,)
                )
            )
        # Nodes with no room left end at their pending tokens without asking the engine.
        live = [i for i, room in enumerate(rooms) if room > 0]
        generations = self._generate([requests[i] for i in live]) if live else []
        by_index = dict(zip(live, generations, strict=True))
        for i, (node, pending) in enumerate(todo):
            gen = by_index.get(i)
            if gen is None:
                self._store_rollout(
                    node, pending.tokens, pending.scores, "length", budget_cut=False
                )
                ready.append(node)
                continue
            scores = [token_confidence(lp) for lp in gen.logprobs]
            budget_cut = gen.finish_reason == "length" and requests[i].max_tokens < rooms[i]
            if node.kind == "answer":
                self.tree.extend(node, gen.tokens, scores, gen.text)
                if OUTPUT_CLOSE in node.text:
                    node.terminal = "answer"
                else:
                    node.terminal = "eos" if gen.finish_reason == "eos" else "length"
                self._set_answer(node)
            else:
                self._store_rollout(
                    node,
                    pending.tokens + list(gen.tokens),
                    pending.scores + scores,
                    gen.finish_reason,
                    budget_cut=budget_cut,
                )
            ready.append(node)
        for node in ready:
            self._backup(node, self._record(node))

    def _store_rollout(
        self,
        node: Node,
        tokens: list[int],
        scores: list[float | None],
        finish: str,
        *,
        budget_cut: bool,
    ) -> None:
        text = self.engine.detokenize(tokens) if tokens else ""
        node.rollout = Rollout(
            tokens=tokens,
            scores=scores,
            finish=finish,
            value=0.0,
            closed=OUTPUT_CLOSE in text,
            budget_cut=budget_cut,
        )
        if not tokens and finish == "eos":
            node.terminal = "eos"  # the model ends its turn right here

    def _record(self, node: Node) -> float:
        """Reward of the path through `node` (and its rollout); records the rollout."""
        tokens = self.tree.generated_tokens(node.id)
        scores = self.tree.path_scores(node.id)
        rollout = node.rollout if node.rollout is not None and not node.rollout_used else None
        if rollout is not None:
            tokens += rollout.tokens
            scores += rollout.scores
        text = self.engine.detokenize(tokens) if tokens else ""
        parsed = parse_response(self.prefix_text + text)
        if rollout is not None:
            closed, ended = rollout.closed, rollout.finish == "eos"
        else:
            closed, ended = node.terminal == "answer", node.terminal == "eos"
        answer = parsed.answer
        sample = PathSample(scores=scores, text=text, answer=answer or None, closed=closed)
        value = self.reward.value(sample)
        if rollout is not None:
            rollout.value = value
            rollout.answer = answer or None
        else:
            node.answer = answer or None
        record = CompletedRollout(
            node_id=node.id,
            answer=answer,
            key=answer_key(answer) if answer else "",
            reward=value,
            tokens=len(tokens),
            closed=closed,
            text=text,
        )
        self.rollouts.append(record)
        if answer and (closed or ended):
            self.completed.append(record)
        return value

    def _set_answer(self, node: Node) -> None:
        text = self.engine.detokenize(self.tree.generated_tokens(node.id))
        node.answer = parse_response(self.prefix_text + text).answer or None

    def _holder(self, node_id: int) -> int:
        """The deepest node now holding the rollout that started at `node_id`: reuse moves a
        rollout's first action into a child, and the rest of the rollout with it."""
        while node_id in self.moved:
            node_id = self.moved[node_id]
        return node_id

    def _backup(self, node: Node | None, value: float) -> None:
        while node is not None:
            node.visits += 1
            node.value_sum += value
            node = self.tree.parent(node)

    # -- engine -----------------------------------------------------------------------------

    def _budget_share(self, n: int) -> int:
        """Tokens each of `n` requests may generate within the search's budget."""
        if self.config.max_tokens is None:
            return self.path_limit or 1
        return max(1, (self.config.max_tokens - self.generated) // max(n, 1))

    def _generate(self, requests: list[Request]) -> list[Generation]:
        """One `generate_batch` call, unless the sequences of a batch outgrow the engine's KV
        cache together: then the batch is retried in halves (and later batches stay that
        small), since each request alone fits by the path limit."""
        generations: list[Generation] = []
        start = 0
        while start < len(requests):
            group = requests[start : start + self.max_batch]
            try:
                done = self.engine.generate_batch(group)
            except ContextOverflowError:
                if len(group) == 1:
                    raise
                self.max_batch = max(1, len(group) // 2)
                self.overflows += 1
                continue
            self.batches += 1
            self.generated += sum(len(g.tokens) for g in done)
            generations += done
            start += len(group)
        return generations

    # -- reporting --------------------------------------------------------------------------

    def _stats(self) -> SearchStats:
        prompt = len(self.tree.prompt_tokens)
        return SearchStats(
            generated=self.generated,
            forced=self.forced,
            prompt=prompt,
            evaluated=self.engine.stats.evaluated - self.evaluated_start,
            unique=prompt + self.generated + self.forced,
            wall_seconds=_now() - self.started,
            iterations=self.iterations_done,
            rollouts=len(self.rollouts),
            completed=len(self.completed),
            batches=self.batches,
            duplicates=self.duplicates,
            split_batches=self.overflows,
            seed=self.seed,
        )

    def _best(self) -> CompletedRollout | None:
        if not self.completed:
            return None
        mode = self.config.select
        if mode == "vote":
            counts = Counter(c.key for c in self.completed)
            best_reward: dict[str, float] = {}
            for c in self.completed:
                best_reward[c.key] = max(best_reward.get(c.key, -math.inf), c.reward)
            winner = max(counts, key=lambda k: (counts[k], best_reward[k]))
            return _max_reward([c for c in self.completed if c.key == winner])
        if mode == "visits":
            for node in reversed(self._visits_chain()):
                inside = [
                    c
                    for c in self.completed
                    if self.tree.is_ancestor(node.id, self._holder(c.node_id))
                ]
                if inside:
                    return _max_reward(inside)
        return _max_reward(self.completed)

    def _visits_chain(self) -> list[Node]:
        node = self.tree.root
        chain = [node]
        while True:
            visited = [c for c in self.tree.children(node) if c.visits > 0]
            if not visited:
                return chain
            node = max(visited, key=lambda c: (c.visits, c.q, -c.id))
            chain.append(node)

    def _best_path(self) -> tuple[int, ...]:
        best = self._best()
        if best is not None:
            return self.tree.path_ids(self._holder(best.node_id))
        return tuple(n.id for n in self._visits_chain())

    def _emit(self, kind: str, result: SearchResult | None = None) -> None:
        if self.on_event is None:
            return
        if result is not None:
            best_path, answer = result.path, (result.answer if result.complete else None)
        else:
            best = self._best()
            best_path = self._best_path()
            answer = best.answer if best else None
        self.on_event(
            SearchEvent(
                kind=kind,
                iteration=self.iteration,
                iterations=self.config.iterations,
                tree=self.tree,
                best_path=best_path,
                stats=self._stats(),
                answer=answer,
            )
        )

    def _result(self, reason: str) -> SearchResult:
        best = self._best()
        if best is not None:
            chosen = best
        elif self.rollouts:
            chosen = _max_reward(self.rollouts)
        else:
            chosen = None
        if chosen is not None:
            path = self.tree.path_ids(self._holder(chosen.node_id))
            text, reward = chosen.text, chosen.reward
        else:
            chain = self._visits_chain()
            path = tuple(n.id for n in chain)
            tokens = self.tree.generated_tokens(chain[-1].id)
            text, reward = (self.engine.detokenize(tokens) if tokens else ""), None
        parsed = parse_response(self.prefix_text + text)
        return SearchResult(
            answer=parsed.answer,
            thought=parsed.thought,
            text=text,
            path=path,
            reward=reward,
            complete=best is not None,
            completed=tuple(replace(c, node_id=self._holder(c.node_id)) for c in self.completed),
            stop_reason=reason,
            interrupted=reason == "interrupted",
            stats=self._stats(),
            tree=self.tree,
            config=self.config,
        )


def _terminal_of(rollout: Rollout) -> str:
    if rollout.closed:
        return "answer"
    return "eos" if rollout.finish == "eos" else "length"


def _max_reward(records: list[CompletedRollout]) -> CompletedRollout:
    """The highest reward; the earliest among equals (deterministic)."""
    best = records[0]
    for record in records[1:]:
        if record.reward > best.reward:
            best = record
    return best
