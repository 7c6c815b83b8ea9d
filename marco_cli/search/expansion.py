"""How the tree grows from generated tokens: children, reflections, and each rollout's record.

**Expand** — a selected leaf gets K (`branch`) children, and the greedy continuation of its
state is always one of them. If the leaf already has a rollout (every node but the root, once
evaluated), the rollout's first action is that child, for free (with its confidences and the
rest of the rollout, so that child is already evaluated: it starts at N=1 with its rollout's
value and is not backed up again, since its ancestors already counted that rollout). A leaf
without a usable rollout — the root, which is never rolled out — asks for its first child at
temperature 0 instead, in the same batch as the others; that child's greedy rollout makes the
root's greedy child the whole greedy chain, exactly what `marco solve --strategy cot` answers
(without reflection), so the search always holds the chain of thought's answer. The other
children are *sampled* actions (`temperature`, `top_p`, `top_k`, a per-child seed derived from
the search's seed). A child that repeats a sibling is dropped. Where a child's action ends is
the action rule's business (`actions.py`); tokens generated past that end start its rollout.

**Reflection** (paper, section 3) — when an *answer* child (the thought closing) is attached to
a node, that node — the thought without its close — also gets a *reflection* child: the task's
reflection text as a forced action (no confidences; it does not count in the reward). It starts
unvisited, so selection visits it on the next pass through its parent, and expanding it makes
the model rethink from there. At most `max_reflections` (1) reflections per path.

**Forced answers** — a path that ends the model's turn without an answer (for Marco-o1: before
`<Output>`) gets the task's `force_answer` appended as forced tokens (no confidences, like a
reflection) and its rollout goes on, as the chain of thought does, so every path that ends
yields an answer (`open_answer`).

**Records** — every rollout that ends is recorded (`RolloutRecord`) with its path's reward and
its answer as the task parses it; one whose answer closed, or whose turn ended with an answer,
is *completed*, a candidate for the result.

**What it hands back** — the expander grows the tree and sets its nodes, and nothing else: what
the policy keeps it returns instead — `prepare` names the child that took over the leaf's
rollout (`Prepared`), `evaluate` the rollout's record (`Evaluation`) — and the scheduler hands
those to the policy (`UctPolicy.hand_over`, `UctPolicy.add_rollout`). It reads only how much room
a path has left, through the `room` it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marco_cli.engine.base import Engine, Generation, Request, Sampling
from marco_cli.search.actions import action_rule
from marco_cli.search.config import SearchConfig
from marco_cli.search.results import RolloutRecord
from marco_cli.search.reward import PathSample, get_reward, token_confidence
from marco_cli.search.task import Task
from marco_cli.search.tree import Node, Rollout, Tree


def child_seed(seed: int, node_id: int, index: int) -> int:
    """A well-mixed 31-bit seed per (search seed, node, child index) — splitmix64."""
    x = (seed * 0x9E3779B97F4A7C15 + node_id * 0xBF58476D1CE4E5B9 + index + 1) & (2**64 - 1)
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & (2**64 - 1)
    x ^= x >> 31
    return x & 0x7FFFFFFF


@dataclass
class Pending:
    """What a new child's rollout starts with: tokens generated past its action's end (a
    closing tag), and whether the model ended its turn there."""

    tokens: list[int]
    scores: list[float | None]
    finish: str
    """The segment's finish: "eos" means the rollout is already complete."""


@dataclass(frozen=True)
class Prepared:
    """What `Expander.prepare` did to a leaf before any generation."""

    reused: Node | None
    """The child that took over the leaf's rollout (its first action), if one did."""
    wanted: int
    """Children still to sample."""


@dataclass(frozen=True)
class Evaluation:
    """A path that `Expander.evaluate` scored: its rollout's record."""

    record: RolloutRecord
    completed: bool
    """Whether the rollout completed an answer: a candidate for the final choice."""


class Expander:
    """Adds children to the tree and scores rollouts, for one search; `room` says how many
    tokens a path through a node may still add."""

    def __init__(
        self,
        engine: Engine,
        task: Task,
        config: SearchConfig,
        tree: Tree,
        room: Callable[[Node], int],
        seed: int,
    ) -> None:
        self.engine = engine
        self.task = task
        self.config = config
        self.tree = tree
        self.room = room
        self.seed = seed
        self.rule = action_rule(config.action, task.answer_markers, config.max_step_tokens)
        self.reward = get_reward(config.reward)
        self.reflection_text = task.reflection
        self.reflection_tokens: list[int] = []
        if config.reflect and config.max_reflections > 0 and self.reflection_text:
            self.reflection_tokens = engine.tokenize(self.reflection_text, special=False)
        self.pending: dict[int, Pending] = {}
        self.duplicates = 0
        """Sampled children dropped because they repeated a sibling."""
        self.answer_tokens: list[int] = []
        if task.force_answer:
            self.answer_tokens = engine.tokenize(task.force_answer, special=False)
        self.forced = 0
        """Tokens the search inserted (reflections, forced answers)."""

    # -- expansion --------------------------------------------------------------------------

    def prepare(self, parent: Node) -> Prepared:
        """Children that need no generation — the first action of the parent's rollout, and a
        reflection when that action is the answer — then how many to sample."""
        rollout = parent.rollout
        reused = None
        if rollout is not None and not rollout.budget_cut and not parent.rollout_used:
            reused = self.child_from_rollout(parent, rollout)
            if reused.kind == "answer":
                self._maybe_reflect(parent)
        return Prepared(reused=reused, wanted=max(0, self.config.branch - len(parent.children)))

    def requests(self, parent: Node, wanted: int, share: int) -> list[Request]:
        """`wanted` actions from `parent`'s state, each at most `share` tokens: sampled, but
        the first greedy when no rollout gave `parent` its greedy child (the root, or a node
        whose rollout the search's budget cut)."""
        state = tuple(self.tree.state_tokens(parent.id))
        cap = min(self.rule.max_tokens, self.room(parent), share)
        greedy_first = not parent.rollout_used
        return [
            Request(
                prompt=state,
                max_tokens=cap,
                stop=self.rule.stops,
                sampling=Sampling(
                    temperature=0.0 if greedy_first and index == 0 else self.config.temperature,
                    top_p=self.config.top_p,
                    top_k=self.config.top_k,
                    seed=child_seed(self.seed, parent.id, index),
                ),
            )
            for index in range(wanted)
        ]

    def add_sampled(self, parent: Node, generations: list[Generation], share: int) -> list[Node]:
        """The children of `requests(parent, ..., share)`'s generations (repeats dropped)."""
        room = self.room(parent)
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
            if self.task.closed_end(child.text) is not None:
                child.terminal = "answer"
            elif gen.finish_reason == "eos":
                self.pending[child.id] = Pending([], [], "eos")  # settled by `take_pending`
            elif gen.finish_reason == "length" and at_path_end:
                child.terminal = "length"
            if child.terminal is not None:
                self._set_answer(child)
            return child
        n = split.n
        child = self._add(parent, self.rule.kind, tokens[:n], scores[:n])
        if n < len(tokens) or gen.finish_reason == "eos":
            self.pending[child.id] = Pending(tokens[n:], scores[n:], gen.finish_reason)
        elif gen.finish_reason == "length" and at_path_end:
            child.terminal = "length"
        if child.terminal is not None:
            self._set_answer(child)
        return child

    def child_from_rollout(self, parent: Node, rollout: Rollout) -> Node:
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
        return child

    def _maybe_reflect(self, parent: Node) -> None:
        if (
            not self.reflection_tokens
            or parent.kind == "answer"
            or parent.reflections >= self.config.max_reflections
            or any(self.tree.nodes[c].kind == "reflection" for c in parent.children)
            or self.room(parent) <= len(self.reflection_tokens)
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
        if node.terminal is None and self.room(node) <= 0 and kind != "answer":
            node.terminal = "length"
        return node

    # -- rollouts ---------------------------------------------------------------------------

    def take_pending(self, node: Node) -> Pending:
        """What a new node's rollout starts with; when the model already ended its turn there,
        settles the node, or — without an answer yet — forces one for the rollout to finish."""
        pending = self.pending.pop(node.id, None) or Pending([], [], "stop")
        if node.terminal is None and pending.finish == "eos":
            forced = self.open_answer(node, pending.tokens)
            if forced:
                scores: list[float | None] = [None] * len(forced)
                return Pending(pending.tokens + forced, pending.scores + scores, "stop")
            self.finish_rollout(node, pending.tokens, pending.scores, "eos", budget_cut=False)
        return pending

    def open_answer(self, node: Node, tokens: list[int]) -> list[int]:
        """The forced tokens that open an answer, counted as inserted, when the path through
        `node` plus `tokens` ended the model's turn without one and has room for them and an
        answer; else none (the path then ends as it is)."""
        if not self.answer_tokens:
            return []
        if self.room(node) - len(tokens) <= len(self.answer_tokens):
            return []
        generated = self.tree.generated_tokens(node.id) + tokens
        if not self.task.needs_answer(self.engine.detokenize(generated)):
            return []
        self.forced += len(self.answer_tokens)
        return list(self.answer_tokens)

    def finish_rollout(
        self,
        node: Node,
        tokens: list[int],
        scores: list[float | None],
        finish: str,
        *,
        budget_cut: bool,
    ) -> None:
        """Attach a rollout that ended: an answer node takes it into its own action (the
        answer completed), any other node keeps it as its rollout."""
        if node.kind == "answer":
            self.tree.extend(node, tokens, scores, "")
            node.text = self.engine.detokenize(node.tokens)
            if self.task.closed_end(node.text) is not None:
                node.terminal = "answer"
            else:
                node.terminal = "eos" if finish == "eos" else "length"
            self._set_answer(node)
        else:
            self.store_rollout(node, tokens, scores, finish, budget_cut=budget_cut)

    def store_rollout(
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
            closed=self.task.closed_end(text) is not None,
            budget_cut=budget_cut,
        )
        if not tokens and finish == "eos":
            node.terminal = "eos"  # the model ends its turn right here

    def evaluate(self, node: Node) -> Evaluation:
        """The reward of the path through `node` (and its rollout) in the rollout's record;
        the rollout keeps its value and answer (a node without one, its answer)."""
        tokens = self.tree.generated_tokens(node.id)
        scores = self.tree.path_scores(node.id)
        rollout = node.rollout if node.rollout is not None and not node.rollout_used else None
        if rollout is not None:
            tokens += rollout.tokens
            scores += rollout.scores
        text = self.engine.detokenize(tokens) if tokens else ""
        parsed = self.task.parse(text)
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
        record = RolloutRecord(
            node_id=node.id,
            answer=answer,
            key=self.task.answer_key(answer) if answer else "",
            reward=value,
            tokens=len(tokens),
            closed=closed,
            text=text,
            confidences=tuple(scores),
        )
        return Evaluation(record=record, completed=bool(answer) and (closed or ended))

    def _set_answer(self, node: Node) -> None:
        text = self.engine.detokenize(self.tree.generated_tokens(node.id))
        node.answer = self.task.parse(text).answer or None


def _terminal_of(rollout: Rollout) -> str:
    if rollout.closed:
        return "answer"
    return "eos" if rollout.finish == "eos" else "length"
