"""The search tree: reasoning states as nodes, stored as token ids (never re-tokenized text).

A node is the state "prompt + the actions on the path from the root to it". It owns only its own
action: the token ids it added, each token's confidence (None for a forced token such as the
reflection phrase, which the model did not choose), and the decoded text of those tokens for
display. A node also keeps its rollout — the greedy continuation from its state to a terminal
state — so that a later expansion can take the rollout's first action as a child for free.

Node ids come from a counter owned by the tree (no global state): two searches in one process
number their nodes independently and a seeded search numbers them identically.

`Tree.to_json()` / `Tree.from_json()` round-trip everything (`--save-tree`); the JSON also carries
derived fields (q, confidence, children, n_tokens) for renderers, which `from_json` ignores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

NODE_KINDS: tuple[str, ...] = ("root", "step", "mini", "reflection", "answer")


def mean_confidence(scores: Sequence[float | None]) -> float | None:
    """Mean of the model-chosen tokens' confidences; forced tokens (None) are left out."""
    total = 0.0
    count = 0
    for score in scores:
        if score is not None:
            total += score
            count += 1
    return total / count if count else None


@dataclass
class Rollout:
    """A greedy continuation from a node's state to a terminal state (or a budget cut)."""

    tokens: list[int]
    scores: list[float | None]
    finish: str
    """"stop" (</Output> closed), "eos" or "length"."""
    value: float
    """The reward of the whole path: the node's path plus these tokens."""
    closed: bool = False
    """The continuation closed the answer with </Output>."""
    budget_cut: bool = False
    """Cut short by the search's overall token budget, not by a terminal state."""
    answer: str | None = None
    """The answer extracted from the whole path, if any."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": list(self.tokens),
            "scores": [_round(s) for s in self.scores],
            "finish": self.finish,
            "value": self.value,
            "closed": self.closed,
            "budget_cut": self.budget_cut,
            "answer": self.answer,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rollout:
        return cls(
            tokens=[int(t) for t in data["tokens"]],
            scores=[None if s is None else float(s) for s in data["scores"]],
            finish=str(data["finish"]),
            value=float(data["value"]),
            closed=bool(data.get("closed", False)),
            budget_cut=bool(data.get("budget_cut", False)),
            answer=data.get("answer"),
        )


@dataclass(eq=False)  # nodes are compared by identity
class Node:
    id: int
    parent: int | None
    kind: str
    depth: int
    tokens: list[int]
    """This node's action: the token ids it appends to its parent's state."""
    scores: list[float | None]
    """Confidence of each action token (see `reward.token_confidence`); None = forced token."""
    text: str
    """Decoded text of `tokens`, for display."""
    children: list[int] = field(default_factory=list)
    visits: int = 0
    value_sum: float = 0.0
    terminal: str | None = None
    """Why the node ends its path: "answer" (the answer closed), "eos" (the model ended its
    turn) or "length" (the path's token limit); None while it can go on."""
    answer: str | None = None
    """The extracted answer, for terminal nodes whose path produced one."""
    rollout: Rollout | None = None
    rollout_used: bool = False
    """The rollout's first action became this node's first child (its rest lives on there)."""
    path_tokens: int = 0
    """Tokens after the prompt up to and including this node (forced ones too)."""
    reflections: int = 0
    """Reflection nodes on the path from the root to this node, itself included."""

    @property
    def q(self) -> float:
        """Mean backed-up value (0 while unvisited)."""
        return self.value_sum / self.visits if self.visits else 0.0

    @property
    def confidence(self) -> float | None:
        """The node's own confidence: the mean over its action's chosen tokens."""
        return mean_confidence(self.scores)

    def to_json(self, *, full: bool = True) -> dict[str, Any]:
        """The node as JSON; `full=False` leaves out token ids, scores and the rollout (what a
        live display needs, cheaply)."""
        confidence = self.confidence
        data: dict[str, Any] = {
            "id": self.id,
            "parent": self.parent,
            "kind": self.kind,
            "depth": self.depth,
            "text": self.text,
            "n_tokens": len(self.tokens),
            "visits": self.visits,
            "value_sum": self.value_sum,
            "q": round(self.q, 6),
            "confidence": None if confidence is None else round(confidence, 6),
            "terminal": self.terminal,
            "answer": self.answer,
            "children": list(self.children),
            "path_tokens": self.path_tokens,
            "reflections": self.reflections,
            "rollout_value": None if self.rollout is None else self.rollout.value,
            "rollout_answer": (
                self.rollout.answer if self.rollout is not None and not self.rollout_used else None
            ),
        }
        if full:
            data["tokens"] = list(self.tokens)
            data["scores"] = [_round(s) for s in self.scores]
            data["rollout"] = None if self.rollout is None else self.rollout.to_json()
            data["rollout_used"] = self.rollout_used
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        rollout = data.get("rollout")
        return cls(
            id=int(data["id"]),
            parent=None if data["parent"] is None else int(data["parent"]),
            kind=str(data["kind"]),
            depth=int(data["depth"]),
            tokens=[int(t) for t in data["tokens"]],
            scores=[None if s is None else float(s) for s in data["scores"]],
            text=str(data["text"]),
            children=[int(c) for c in data.get("children", [])],
            visits=int(data["visits"]),
            value_sum=float(data["value_sum"]),
            terminal=data.get("terminal"),
            answer=data.get("answer"),
            rollout=None if rollout is None else Rollout.from_json(rollout),
            rollout_used=bool(data.get("rollout_used", False)),
            path_tokens=int(data.get("path_tokens", 0)),
            reflections=int(data.get("reflections", 0)),
        )


def _round(score: float | None) -> float | None:
    # Confidences are shown with 3 decimals; 9 keep the mean exact enough and the file small.
    return None if score is None else round(score, 9)


class Tree:
    """All nodes of one search, by id; the root (id 0) holds the prompt."""

    def __init__(self, prompt_tokens: Sequence[int]) -> None:
        self.prompt_tokens: list[int] = list(prompt_tokens)
        self.nodes: dict[int, Node] = {}
        self._next_id = 0
        self.add(None, "root", [], [], "")

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def add(
        self,
        parent: Node | None,
        kind: str,
        tokens: Sequence[int],
        scores: Sequence[float | None],
        text: str,
        *,
        terminal: str | None = None,
    ) -> Node:
        if kind not in NODE_KINDS:
            raise ValueError(f"unknown node kind {kind!r}")
        if len(scores) != len(tokens):
            raise ValueError("one score per token is needed")
        node = Node(
            id=self._next_id,
            parent=None if parent is None else parent.id,
            kind=kind,
            depth=0 if parent is None else parent.depth + 1,
            tokens=list(tokens),
            scores=list(scores),
            text=text,
            terminal=terminal,
            path_tokens=(0 if parent is None else parent.path_tokens) + len(tokens),
            reflections=(0 if parent is None else parent.reflections) + (kind == "reflection"),
        )
        self._next_id += 1
        self.nodes[node.id] = node
        if parent is not None:
            parent.children.append(node.id)
        return node

    def extend(
        self, node: Node, tokens: Sequence[int], scores: Sequence[float | None], text: str
    ) -> None:
        """Append tokens to a childless node's action (an answer completed by its continuation)."""
        if node.children:
            raise ValueError("only a leaf's action can be extended")
        node.tokens.extend(tokens)
        node.scores.extend(scores)
        node.text += text
        node.path_tokens += len(tokens)

    def children(self, node: Node) -> list[Node]:
        return [self.nodes[c] for c in node.children]

    def parent(self, node: Node) -> Node | None:
        return None if node.parent is None else self.nodes[node.parent]

    def path(self, node_id: int) -> list[Node]:
        """The nodes from the root down to `node_id`, both included."""
        path = []
        node: Node | None = self.nodes[node_id]
        while node is not None:
            path.append(node)
            node = self.parent(node)
        path.reverse()
        return path

    def path_ids(self, node_id: int) -> tuple[int, ...]:
        return tuple(n.id for n in self.path(node_id))

    def generated_tokens(self, node_id: int) -> list[int]:
        """Token ids of the state after the prompt: the actions from the root to `node_id`."""
        tokens: list[int] = []
        for node in self.path(node_id):
            tokens.extend(node.tokens)
        return tokens

    def state_tokens(self, node_id: int) -> list[int]:
        """The full token prefix of the state at `node_id` (prompt included)."""
        return self.prompt_tokens + self.generated_tokens(node_id)

    def path_scores(self, node_id: int) -> list[float | None]:
        scores: list[float | None] = []
        for node in self.path(node_id):
            scores.extend(node.scores)
        return scores

    def is_ancestor(self, ancestor_id: int, node_id: int) -> bool:
        """True when `ancestor_id` is on the path from the root to `node_id` (itself included)."""
        node: Node | None = self.nodes[node_id]
        while node is not None:
            if node.id == ancestor_id:
                return True
            node = self.parent(node)
        return False

    def to_json(self, *, full: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "n_prompt_tokens": len(self.prompt_tokens),
            "next_id": self._next_id,
            "nodes": [node.to_json(full=full) for node in self.nodes.values()],
        }
        if full:
            data["prompt_tokens"] = list(self.prompt_tokens)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tree:
        tree = cls.__new__(cls)
        tree.prompt_tokens = [int(t) for t in data["prompt_tokens"]]
        tree.nodes = {}
        for item in data["nodes"]:
            node = Node.from_json(item)
            tree.nodes[node.id] = node
        if 0 not in tree.nodes:
            raise ValueError("the tree has no root node (id 0)")
        for node in tree.nodes.values():
            if node.parent is not None and node.parent not in tree.nodes:
                raise ValueError(f"node {node.id} names a missing parent {node.parent}")
            for child in node.children:
                if child not in tree.nodes:
                    raise ValueError(f"node {node.id} names a missing child {child}")
        tree._next_id = int(data.get("next_id", max(tree.nodes) + 1))
        return tree
