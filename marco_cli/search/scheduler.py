"""The scheduler: runs the search's iterations so that the engine's batch stays full.

Batches are only fast when they are full (on a CPU two sequences cost as much as one, eight run
about twice as fast in total), and rollouts end at very different lengths, so several
iterations are in flight at once (`Flight`) — by default a new one starts whenever fewer than
eight sequences are busy (`parallel` fixes their number instead). Each engine call carries the
sampled children of newly selected leaves plus the next chunk (`chunk`, 32 tokens) of every
running rollout (`Job`); when a rollout ends, its value is backed up and its place goes to new
work on the next call. A leaf in flight carries a virtual loss and is not selected again while
it or its rollouts run (`uct.py`). `parallel=1` is the textbook one-iteration-at-a-time loop
(rollouts still go in chunks; greedy results are the same).

The phases hand each other values: the expander returns what the policy keeps (the child that
took over a leaf's rollout, each ended rollout's record) and the loop passes it on
(`prepare`, `_evaluate`); neither writes the other's state.

Every rollout continues greedily to a terminal state: the task's answer closed (`rollout_stops`),
the end of the model's turn, or the path's token limit. A turn that ends without an answer gets
the task's `force_answer` and goes on (`Expander.open_answer`), as the chain of thought does.
Selecting a terminal node (or one at `max_depth`) backs its value up again without generating.

Budgets and stops: `max_tokens` is shared out among the requests of each call; a batch whose
sequences outgrow the engine's KV cache together is retried in halves. The search stops after
`iterations`, at the token budget, at `time_limit`, when `early_stop` completed rollouts agree
on an answer, when nothing is left to expand, on Ctrl-C or when `should_stop()` says so.

Speed: requests name full token prefixes; the engine forks its KV cache from the longest cached
prefix, so siblings share their parent's cache and a greedy rollout's first action, reused as a
child, is never recomputed. The result's stats report generated, evaluated and unique tokens.

The search never imports the UI: `on_event` receives `SearchEvent`s whose `snapshot()` is plain
JSON-ready data (the same shape `--save-tree` writes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from marco_cli.engine.base import Engine, Generation, Request, answer_room
from marco_cli.errors import ContextOverflowError
from marco_cli.search.actions import tokens_covering
from marco_cli.search.config import SearchConfig
from marco_cli.search.expansion import Expander
from marco_cli.search.results import SearchEvent, SearchResult, SearchStats
from marco_cli.search.reward import token_confidence
from marco_cli.search.task import Task
from marco_cli.search.tree import Node, Tree
from marco_cli.search.uct import UctPolicy, max_reward

BATCH_TARGET = 8
"""Sequences per batch the default `parallel` aims at: on a CPU, llama.cpp's total speed grows
up to about 8 sequences (1.9x one sequence on the demo model), little beyond."""

_now = time.perf_counter  # tests replace it


@dataclass(eq=False)
class Flight:
    """An iteration in progress: its leaf, the path carrying its virtual loss, and what it
    still waits for."""

    leaf: Node
    path: list[Node]
    expanding: bool = False
    waiting: int = 0
    """Rollouts of its new children still running."""


@dataclass(eq=False)
class Job:
    """A rollout in progress, generated `chunk` tokens per engine call."""

    node: Node
    flight: Flight | None
    tokens: list[int]
    scores: list[float | None]
    text: str = ""
    finish: str | None = None
    budget_cut: bool = False


class Scheduler:
    """One search: the tree, its policy and expander, and the loop that drives the engine."""

    def __init__(
        self,
        engine: Engine,
        prompt_tokens: Sequence[int],
        config: SearchConfig,
        task: Task,
        seed: int,
        on_event: Callable[[SearchEvent], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.task = task
        self.seed = seed
        self.on_event = on_event
        self.should_stop = should_stop
        self.tree = Tree(prompt_tokens)
        self.policy = UctPolicy(
            self.tree,
            exploration=config.exploration,
            select=config.select,
            path_limit=answer_room(config.max_tokens, len(prompt_tokens), engine.n_ctx),
            max_depth=config.max_depth,
        )
        self.expander = Expander(engine, task, config, self.tree, self.policy.room, seed)
        # Auto: start iterations while fewer than BATCH_TARGET sequences are busy (at most
        # BATCH_TARGET iterations in flight); an explicit `parallel` fixes the count instead.
        self.parallel = config.parallel or BATCH_TARGET
        self.load_target = BATCH_TARGET if config.parallel is None else None
        self.generated = 0
        self.batches = 0
        self.max_batch = 1 << 30
        self.overflows = 0
        self.iterations_done = 0
        self.leaves_started = 0
        """Iterations begun (some may still be running): what `config.iterations` limits."""
        self.flights: dict[int, Flight] = {}
        self.jobs: list[Job] = []
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
                if not self.flights and not self.jobs and self.policy.exhausted():
                    reason = "exhausted"
                    break
                planned = self.fill()
                if not planned and not self.jobs:
                    if self.flights:  # expansions that made no new child: nothing to wait for
                        self._land_finished()
                        continue
                    if self.leaves_started >= self.config.iterations:
                        break
                    reason = "exhausted"
                    break
                self.step(planned)
                if self.policy.agreed(self.config.early_stop):
                    reason = "early_stop"
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        self._abort_flights()
        result = self._result(reason)
        with contextlib.suppress(KeyboardInterrupt):
            self._emit("done", result)
        return result

    def fill(self) -> list[tuple[Node, int]]:
        """Start new iterations until `parallel` leaves are in flight: select a leaf (in-flight
        leaves and running rollouts excluded), put a virtual loss on its path, and plan its
        expansion. Returns the (leaf, sampled children wanted) to request in the next call."""
        policy = self.policy
        planned: list[tuple[Node, int]] = []
        while len(self.flights) < self.parallel and self.leaves_started < self.config.iterations:
            busy = len(self.jobs) + sum(wanted for _, wanted in planned)
            if self.flights and self.load_target is not None and busy >= self.load_target:
                break
            taken = set(self.flights) | {job.node.id for job in self.jobs}
            leaf = policy.select(taken)
            if leaf is None:
                break
            settled = not policy.expandable(leaf) and (leaf.visits > 0 or leaf.terminal is not None)
            if settled and self.flights:
                # Selecting a finished path only counts its value again. While iterations are
                # running, wait for their values (the one-at-a-time loop would have them), or
                # the remaining iterations all drain into this one path at once.
                break
            self.leaves_started += 1
            if policy.expandable(leaf):
                flight = self._take_off(leaf)
                wanted = self.prepare(leaf)
                if wanted > 0:
                    planned.append((leaf, wanted))
                    flight.expanding = True
            elif leaf.visits == 0 and leaf.terminal is None:
                flight = self._take_off(leaf)  # e.g. a reflection child at max_depth
                self.start_job(leaf, flight)
            else:
                policy.backup(leaf, leaf.q)  # terminal: its value again
                self.iterations_done += 1
                self._emit("iteration")
        return planned

    def prepare(self, leaf: Node) -> int:
        """Give `leaf` the children that need no generation, and tell the policy which of them
        took over the leaf's rollout; returns how many children to sample."""
        prepared = self.expander.prepare(leaf)
        if prepared.reused is not None:
            self.policy.hand_over(leaf, prepared.reused)
        return prepared.wanted

    def step(self, planned: list[tuple[Node, int]]) -> None:
        """ONE engine call: the sampled children of every planned expansion, plus the next
        chunk of every running rollout. Finished rollouts are backed up at once and their
        sequences replaced by new work on the next call."""
        share = self.budget_share(sum(wanted for _, wanted in planned) + len(self.jobs))
        requests: list[Request] = []
        for leaf, wanted in planned:
            requests += self.expander.requests(leaf, wanted, share)
        jobs = list(self.jobs)
        caps = [self._job_cap(job, share) for job in jobs]
        requests += [self._job_request(job, cap) for job, cap in zip(jobs, caps, strict=True)]
        generations = iter(self.generate(requests))
        for leaf, wanted in planned:
            gens = [next(generations) for _ in range(wanted)]
            flight = self.flights[leaf.id]
            for child in self.expander.add_sampled(leaf, gens, share):
                self.start_job(child, flight)
            flight.expanding = False
        if planned:
            self._emit("expand")
        for job, cap in zip(jobs, caps, strict=True):
            self._advance(job, next(generations), cap)
        self._land_finished()

    # -- flights: iterations in progress ----------------------------------------------------

    def _take_off(self, leaf: Node) -> Flight:
        flight = Flight(leaf=leaf, path=self.policy.take_off(leaf))
        self.flights[leaf.id] = flight
        return flight

    def _land_finished(self) -> None:
        for leaf_id, flight in list(self.flights.items()):
            if not flight.expanding and flight.waiting == 0:
                self.policy.land(flight.path)
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
            self.policy.land(flight.path)
        self.flights.clear()

    def _stop_now(self) -> str | None:
        if self.should_stop is not None and self.should_stop():
            return "interrupted"
        if self.config.time_limit is not None and _now() - self.started >= self.config.time_limit:
            return "time_limit"
        if self.config.search_tokens is not None and self.generated >= self.config.search_tokens:
            return "search_tokens"
        return None

    # -- rollouts ---------------------------------------------------------------------------

    def start_job(self, node: Node, flight: Flight | None) -> None:
        """Begin the rollout of a new node, or settle it at once when it needs none."""
        pending = self.expander.take_pending(node)
        if node.terminal is not None or node.rollout is not None:
            self._evaluate(node)
            return
        job = Job(node=node, flight=flight, tokens=pending.tokens, scores=pending.scores)
        if self.policy.room(node) - len(job.tokens) <= 0:  # no room: ends at its pending tokens
            job.finish = "length"
            self._finish_job(job)
            return
        self.jobs.append(job)
        if flight is not None:
            flight.waiting += 1

    def _job_cap(self, job: Job, share: int) -> int:
        return max(1, min(self.config.chunk, self.policy.room(job.node) - len(job.tokens), share))

    def _job_request(self, job: Job, cap: int) -> Request:
        prompt = self.tree.state_tokens(job.node.id) + job.tokens
        return Request(prompt=tuple(prompt), max_tokens=cap, stop=self.task.rollout_stops)

    def _advance(self, job: Job, gen: Generation, cap: int) -> None:
        """Append one chunk to a running rollout; finish it at its end."""
        room_before = self.policy.room(job.node) - len(job.tokens)
        job.tokens = job.tokens + list(gen.tokens)
        job.scores = job.scores + [token_confidence(lp) for lp in gen.logprobs]
        job.text += gen.text
        forced = []
        if gen.finish_reason == "eos":
            forced = self.expander.open_answer(job.node, job.tokens)
        if forced:
            # The turn ended without an answer: open one and let the model finish it.
            job.tokens = job.tokens + forced
            job.scores = job.scores + [None] * len(forced)
            job.text += self.task.force_answer
        elif gen.finish_reason != "length":
            job.finish = gen.finish_reason
        elif self.task.closed_end(job.text) is not None:
            # The close straddled two chunks, so the engine missed it (an earlier close
            # would have ended the job already).
            self._cut_after_close(job)
        elif cap >= room_before:
            job.finish = "length"  # the path is full
        # else: cut by the chunk (or this call's share of the budget): it goes on next call
        if job.finish is not None:
            self.jobs.remove(job)
            self._finish_job(job)
            if job.flight is not None:
                job.flight.waiting -= 1

    def _cut_after_close(self, job: Job) -> None:
        end = self.task.closed_end(self.engine.detokenize(job.tokens))
        if end is None:
            return
        n = tokens_covering(job.tokens, end, self.engine.detokenize)
        job.tokens, job.scores = job.tokens[:n], job.scores[:n]
        job.finish = "stop"

    def _finish_job(self, job: Job) -> None:
        self.expander.finish_rollout(
            job.node, job.tokens, job.scores, job.finish or "length", budget_cut=job.budget_cut
        )
        self._evaluate(job.node)

    def _evaluate(self, node: Node) -> None:
        """Score the ended path through `node`; the policy keeps its record and backs it up."""
        evaluation = self.expander.evaluate(node)
        self.policy.add_rollout(node, evaluation.record, completed=evaluation.completed)

    # -- engine -----------------------------------------------------------------------------

    def budget_share(self, n: int) -> int:
        """Tokens each of `n` requests may generate within the search's budget."""
        if self.config.search_tokens is None:
            return self.policy.path_limit or 1
        return max(1, (self.config.search_tokens - self.generated) // max(n, 1))

    def generate(self, requests: list[Request]) -> list[Generation]:
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
        forced = self.expander.forced
        return SearchStats(
            generated=self.generated,
            forced=forced,
            prompt=prompt,
            evaluated=self.engine.stats.evaluated - self.evaluated_start,
            unique=prompt + self.generated + forced,
            wall_seconds=_now() - self.started,
            iterations=self.iterations_done,
            rollouts=len(self.policy.rollouts),
            completed=len(self.policy.completed),
            batches=self.batches,
            duplicates=self.expander.duplicates,
            split_batches=self.overflows,
            seed=self.seed,
        )

    def _emit(self, kind: str, result: SearchResult | None = None) -> None:
        if self.on_event is None:
            return
        if result is not None:
            best_path, answer = result.path, (result.answer if result.complete else None)
        else:
            best = self.policy.best()
            best_path = self.policy.best_path()
            answer = best.answer if best else None
        self.on_event(
            SearchEvent(
                kind=kind,
                # finished ones, as the saved tree counts them (stats.iterations): iterations
                # begun include those an early stop cuts off
                iteration=self.iterations_done,
                iterations=self.config.iterations,
                tree=self.tree,
                best_path=best_path,
                stats=self._stats(),
                answer=answer,
            )
        )

    def _result(self, reason: str) -> SearchResult:
        policy = self.policy
        best = policy.best()
        if best is not None:
            chosen = best
        elif policy.rollouts:
            chosen = max_reward(policy.rollouts)
        else:
            chosen = None
        if chosen is not None:
            path = self.tree.path_ids(policy.holder(chosen.node_id))
            text, reward = chosen.text, chosen.reward
        else:
            chain = policy.visits_chain()
            path = tuple(n.id for n in chain)
            tokens = self.tree.generated_tokens(chain[-1].id)
            text, reward = (self.engine.detokenize(tokens) if tokens else ""), None
        parsed = self.task.parse(text)
        return SearchResult(
            answer=parsed.answer,
            thought=parsed.thought,
            text=text,
            path=path,
            reward=reward,
            complete=best is not None,
            completed=tuple(replace(c, node_id=policy.holder(c.node_id)) for c in policy.completed),
            choices=policy.choices(),
            stop_reason=reason,
            interrupted=reason == "interrupted",
            stats=self._stats(),
            tree=self.tree,
            config=self.config,
        )
