"""Monte Carlo Tree Search over reasoning (Marco-o1 paper, sections 2 and 3).

One iteration (several run at once, see "Speed" below):

1. **Select** — from the root, descend by UCT (Q + c·sqrt(ln N(parent) / N(child))), taking an
   unvisited child first (the first in creation order), until a node without children.
2. **Expand** — give that node K (`branch`) children. If the node already has a rollout, the
   rollout's first action becomes one child for free (with its confidences and the rest of the
   rollout, so that child is already evaluated); the other children are *sampled* actions
   (`temperature`, `top_p`, a per-child seed derived from `seed`), all in ONE
   `engine.generate_batch` call.
3. **Roll out** — every new child continues greedily to a terminal state (`</Output>` closed, the
   end of the model's turn, or the path's token limit); the children's rollouts run side by side
   in the same batches, `chunk` (32) tokens per call.
4. **Back up** — each rollout's reward is added to the visit count and value sum of its child
   and the child's ancestors as soon as it ends (a reused child starts at N=1 with its rollout's
   value but is not backed up again: its ancestors already counted that rollout).

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
about twice as fast in total), and rollouts end at very different lengths, so the search keeps
the batch full: several iterations are in flight at once — by default a new one starts whenever
fewer than eight sequences are busy (`parallel` fixes their number instead). Each engine call
carries the sampled children of newly selected leaves plus the next chunk of every running
rollout; when a rollout ends, its value is backed up and its place goes to new work on the next
call. A leaf in flight carries a virtual loss (one visit of value 0 along its path, taken back
when its last rollout ends) so that concurrent selections spread out, and leaves in flight or
still rolling out are not selected again. `parallel=1` is the textbook one-iteration-at-a-time
loop (rollouts still go in chunks; greedy results are the same).

The search never imports the UI: `on_event` receives `SearchEvent`s whose `snapshot()` is plain
JSON-ready data (the same shape `--save-tree` writes).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any

from marco_cli.engine.base import Engine, Generation, Request, Sampling
from marco_cli.errors import ContextOverflowError
from marco_cli.response import OUTPUT_CLOSE, parse_response
from marco_cli.search.actions import action_rule, tokens_covering
from marco_cli.search.config import SearchConfig
from marco_cli.search.results import (
    CompletedRollout,
    SearchEvent,
    SearchResult,
    SearchStats,
    answer_key,
)
from marco_cli.search.reward import PathSample, get_reward, token_confidence
from marco_cli.search.tree import Node, Rollout, Tree, uct_score

BATCH_TARGET = 8
"""Sequences per batch the default `parallel` aims at: on a CPU, llama.cpp's total speed grows
up to about 8 sequences (1.9x one sequence on the demo model), little beyond."""

_now = time.perf_counter  # tests replace it


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


@dataclass(eq=False)
class _Flight:
    """An iteration in progress: its leaf, the path carrying its virtual loss, and what it
    still waits for."""

    leaf: Node
    path: list[Node]
    expanding: bool = False
    waiting: int = 0
    """Rollouts of its new children still running."""


@dataclass(eq=False)
class _Job:
    """A rollout in progress, generated `chunk` tokens per engine call."""

    node: Node
    flight: _Flight | None
    tokens: list[int]
    scores: list[float | None]
    text: str = ""
    finish: str | None = None
    budget_cut: bool = False


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
        # Auto: start iterations while fewer than BATCH_TARGET sequences are busy (at most
        # BATCH_TARGET iterations in flight); an explicit `parallel` fixes the count instead.
        self.parallel = config.parallel or BATCH_TARGET
        self.load_target = BATCH_TARGET if config.parallel is None else None
        self.path_limit = max(0, min(config.max_path_tokens, engine.n_ctx - len(prompt_tokens)))
        self.generated = 0
        self.forced = 0
        self.batches = 0
        self.duplicates = 0
        self.max_batch = 1 << 30
        self.overflows = 0
        self.iterations_done = 0
        self.leaves_started = 0
        """Iterations begun: the number of the latest, as events report it."""
        self.flights: dict[int, _Flight] = {}
        self.jobs: list[_Job] = []
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
            while True:
                stop = self._stop_now()
                if stop:
                    reason = stop
                    break
                if not self.flights and not self.jobs and self._exhausted():
                    reason = "exhausted"
                    break
                planned = self._fill()
                if not planned and not self.jobs:
                    if self.flights:  # expansions that made no new child: nothing to wait for
                        self._land_finished()
                        continue
                    if self.leaves_started >= self.config.iterations:
                        break
                    reason = "exhausted"
                    break
                self._step(planned)
                if self._agreed():
                    reason = "early_stop"
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        self._abort_flights()
        result = self._result(reason)
        with contextlib.suppress(KeyboardInterrupt):
            self._emit("done", result)
        return result

    def _fill(self) -> list[tuple[Node, int]]:
        """Start new iterations until `parallel` leaves are in flight: select a leaf (in-flight
        leaves and running rollouts excluded), put a virtual loss on its path, and plan its
        expansion. Returns the (leaf, sampled children wanted) to request in the next call."""
        planned: list[tuple[Node, int]] = []
        while len(self.flights) < self.parallel and self.leaves_started < self.config.iterations:
            busy = len(self.jobs) + sum(wanted for _, wanted in planned)
            if self.flights and self.load_target is not None and busy >= self.load_target:
                break
            taken = set(self.flights) | {job.node.id for job in self.jobs}
            leaf = self._select(taken)
            if leaf is None:
                break
            settled = not self._expandable(leaf) and (leaf.visits > 0 or leaf.terminal is not None)
            if settled and self.flights:
                # Selecting a finished path only counts its value again. While iterations are
                # running, wait for their values (the one-at-a-time loop would have them), or
                # the remaining iterations all drain into this one path at once.
                break
            self.leaves_started += 1
            if self._expandable(leaf):
                flight = self._take_off(leaf)
                wanted = self._prepare_expansion(leaf)
                if wanted > 0:
                    planned.append((leaf, wanted))
                    flight.expanding = True
            elif leaf.visits == 0 and leaf.terminal is None:
                flight = self._take_off(leaf)  # e.g. a reflection child at max_depth
                self._start_job(leaf, flight)
            else:
                self._backup(leaf, leaf.q)  # terminal: its value again
                self.iterations_done += 1
                self._emit("iteration")
        return planned

    def _step(self, planned: list[tuple[Node, int]]) -> None:
        """ONE engine call: the sampled children of every planned expansion, plus the next
        chunk of every running rollout. Finished rollouts are backed up at once and their
        sequences replaced by new work on the next call."""
        share = self._budget_share(sum(wanted for _, wanted in planned) + len(self.jobs))
        requests: list[Request] = []
        for leaf, wanted in planned:
            requests += self._expansion_requests(leaf, wanted, share)
        jobs = list(self.jobs)
        caps = [self._job_cap(job, share) for job in jobs]
        requests += [self._job_request(job, cap) for job, cap in zip(jobs, caps, strict=True)]
        generations = iter(self._generate(requests))
        for leaf, wanted in planned:
            gens = [next(generations) for _ in range(wanted)]
            flight = self.flights[leaf.id]
            for child in self._finish_expansion(leaf, gens, share):
                self._start_job(child, flight)
            flight.expanding = False
        if planned:
            self._emit("expand")
        for job, cap in zip(jobs, caps, strict=True):
            self._advance(job, next(generations), cap)
        self._land_finished()

    # -- flights: iterations in progress ------------------------------------------------------

    def _take_off(self, leaf: Node) -> _Flight:
        path = self.tree.path(leaf.id)
        for node in path:
            node.visits += 1  # virtual loss: a visit worth 0 until the real values arrive
        flight = _Flight(leaf=leaf, path=path)
        self.flights[leaf.id] = flight
        return flight

    def _land_finished(self) -> None:
        for leaf_id, flight in list(self.flights.items()):
            if not flight.expanding and flight.waiting == 0:
                for node in flight.path:
                    node.visits -= 1
                del self.flights[leaf_id]
                self.iterations_done += 1
                self._emit("iteration")

    def _abort_flights(self) -> None:
        """Stopping early: unfinished rollouts end where they are (cut, so never complete; their
        partial value still counts), and the virtual losses are taken back."""
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            if job.tokens:
                job.finish, job.budget_cut = "length", True
                self._finish_job(job)
        for flight in self.flights.values():
            for node in flight.path:
                node.visits -= 1
        self.flights.clear()

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

    def _select(self, taken: AbstractSet[int] = frozenset()) -> Node | None:
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
                score = uct_score(child, node.visits, self.config.exploration)
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

    def _room(self, node: Node) -> int:
        return self.path_limit - node.path_tokens

    def _expandable(self, node: Node) -> bool:
        if node.terminal is not None or node.children or self._room(node) <= 0:
            return False
        return self.config.max_depth is None or node.depth < self.config.max_depth

    # -- expansion --------------------------------------------------------------------------

    def _prepare_expansion(self, parent: Node) -> int:
        """Children that need no generation — the first action of the parent's rollout, and a
        reflection when that action is the answer — then how many to sample."""
        rollout = parent.rollout
        if rollout is not None and not rollout.budget_cut and not parent.rollout_used:
            child = self._child_from_rollout(parent, rollout)
            if child.kind == "answer":
                self._maybe_reflect(parent)
        return max(0, self.config.branch - len(parent.children))

    def _expansion_requests(self, parent: Node, wanted: int, share: int) -> list[Request]:
        state = tuple(self.tree.state_tokens(parent.id))
        cap = min(self.rule.max_tokens, self._room(parent), share)
        return [
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

    def _finish_expansion(
        self, parent: Node, generations: list[Generation], share: int
    ) -> list[Node]:
        room = self._room(parent)
        at_path_end = min(self.rule.max_tokens, room, share) == room  # "length" = path full
        new = []
        for gen in generations:
            child = self._child_from_segment(parent, gen, at_path_end)
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

    def _start_job(self, node: Node, flight: _Flight | None) -> None:
        """Begin the rollout of a new node, or settle it at once when it needs none."""
        pending = self.pending.pop(node.id, None) or _Pending([], [], "stop")
        if node.terminal is None and pending.finish == "eos":
            self._store_rollout(node, pending.tokens, pending.scores, "eos", budget_cut=False)
        if node.terminal is not None or node.rollout is not None:
            self._backup(node, self._record(node))
            return
        job = _Job(node=node, flight=flight, tokens=pending.tokens, scores=pending.scores)
        if self._room(node) - len(job.tokens) <= 0:  # no room left: ends at its pending tokens
            job.finish = "length"
            self._finish_job(job)
            return
        self.jobs.append(job)
        if flight is not None:
            flight.waiting += 1

    def _job_cap(self, job: _Job, share: int) -> int:
        return max(1, min(self.config.chunk, self._room(job.node) - len(job.tokens), share))

    def _job_request(self, job: _Job, cap: int) -> Request:
        prompt = self.tree.state_tokens(job.node.id) + job.tokens
        return Request(prompt=tuple(prompt), max_tokens=cap, stop=(OUTPUT_CLOSE,))

    def _advance(self, job: _Job, gen: Generation, cap: int) -> None:
        """Append one chunk to a running rollout; finish it at its end."""
        room_before = self._room(job.node) - len(job.tokens)
        seen = len(job.text)
        job.tokens = job.tokens + list(gen.tokens)
        job.scores = job.scores + [token_confidence(lp) for lp in gen.logprobs]
        job.text += gen.text
        if gen.finish_reason != "length":
            job.finish = gen.finish_reason
        elif OUTPUT_CLOSE in job.text[max(0, seen - len(OUTPUT_CLOSE)) :]:
            self._cut_after_close(job)  # "</Output>" straddled two chunks: the engine missed it
        elif cap >= room_before:
            job.finish = "length"  # the path is full
        # else: cut by the chunk (or this call's share of the budget): it goes on next call
        if job.finish is not None:
            self.jobs.remove(job)
            self._finish_job(job)
            if job.flight is not None:
                job.flight.waiting -= 1

    def _cut_after_close(self, job: _Job) -> None:
        text = self.engine.detokenize(job.tokens)
        at = text.find(OUTPUT_CLOSE)
        if at < 0:
            return
        n = tokens_covering(job.tokens, at + len(OUTPUT_CLOSE), self.engine.detokenize)
        job.tokens, job.scores = job.tokens[:n], job.scores[:n]
        job.finish = "stop"

    def _finish_job(self, job: _Job) -> None:
        node = job.node
        if node.kind == "answer":
            self.tree.extend(node, job.tokens, job.scores, "")
            node.text = self.engine.detokenize(node.tokens)
            if OUTPUT_CLOSE in node.text:
                node.terminal = "answer"
            else:
                node.terminal = "eos" if job.finish == "eos" else "length"
            self._set_answer(node)
        else:
            self._store_rollout(
                node, job.tokens, job.scores, job.finish or "length", budget_cut=job.budget_cut
            )
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
                iteration=self.leaves_started,
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
