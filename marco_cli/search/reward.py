"""Rewards: how good a finished (or cut) reasoning path is.

The search stores, for every token the model chose, its *confidence* (the paper's c_i), and asks
a `Reward` for the value of a whole path from those numbers plus the path's text and extracted
answer. A later reward (a reward model, a vote among rollouts) implements the same protocol and
is registered in `REWARDS`; the search never looks inside a reward.

The confidence of a token (Marco-o1 paper, section 2)::

    c_i = exp(lp(t_i)) / sum over the top-5 candidates k of exp(lp(t_k))

Convention when the chosen token t_i is *not* among the top-5 candidates (it can be, when a child
is sampled at a temperature): its own probability is added to the denominator, so the sum runs
over the top-5 plus t_i and c_i stays in (0, 1). When t_i is among them it is counted once.

The confidence reward of a path is v = mean of c_i over the path's *generated* tokens: every token
from the end of the prompt to the end of the rollout that the model chose. Forced tokens — the
reflection phrase inserted by the search — have no log-probabilities of the model's own choosing
and are left out of both the sum and the count.

Two variants score the same numbers differently (`--reward confidence-geo|confidence-low`); the
paper's mean rises on long paths whose later tokens are easy, and both variants weigh the unsure
tokens more. `marco bench report FILE --diagnostics` re-scores a run's stored rollouts with every
reward, so they can be compared on the same searches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from marco_cli.engine.base import TokenLogprobs
from marco_cli.errors import UsageError


def token_confidence(logprobs: TokenLogprobs) -> float:
    """c_i for one generated token (see the module docstring for the out-of-top-5 convention)."""
    chosen = math.exp(logprobs.logprob)
    denominator = sum(math.exp(lp) for lp in logprobs.top_logprobs)
    if logprobs.token not in logprobs.top_ids:
        denominator += chosen
    if denominator <= 0.0:
        return 0.0
    return min(1.0, chosen / denominator)


@dataclass(frozen=True)
class PathSample:
    """What a reward sees of one path: root to the end of a rollout."""

    scores: Sequence[float | None]
    """Confidence of each generated token in order; None for forced tokens."""
    text: str
    """The generated text after the prompt (forced text included)."""
    answer: str | None
    """The extracted answer, if the path produced one."""
    closed: bool
    """The answer was closed with </Output>."""


class Reward(Protocol):
    name: str

    def value(self, path: PathSample) -> float:
        """The path's reward; higher is better. Values in [0, 1] keep UCT's constant meaningful."""
        ...


def _model_scores(path: PathSample) -> list[float]:
    """The confidences of the tokens the model chose (forced tokens left out)."""
    return [score for score in path.scores if score is not None]


class ConfidenceReward:
    """The paper's reward: the mean confidence of the path's generated tokens (0 for none)."""

    name = "confidence"

    def value(self, path: PathSample) -> float:
        scores = _model_scores(path)
        return sum(scores) / len(scores) if scores else 0.0


class GeometricConfidenceReward:
    """The geometric mean of the confidences, exp(mean log c_i): an unsure token pulls a path
    down far more than under the arithmetic mean (c = 0.1 costs log 0.1 = -2.3, not 0.1)."""

    name = "confidence-geo"

    def value(self, path: PathSample) -> float:
        scores = _model_scores(path)
        if not scores:
            return 0.0
        # A confidence of 0 can only come from an underflow; floor it so the log is defined.
        return math.exp(sum(math.log(max(s, 1e-9)) for s in scores) / len(scores))


class LowConfidenceReward:
    """The mean of the lowest tenth of the confidences (at least one): a path is as good as its
    least certain tokens; the many easy tokens of a long path do not count."""

    name = "confidence-low"
    share = 0.1

    def value(self, path: PathSample) -> float:
        scores = sorted(_model_scores(path))
        if not scores:
            return 0.0
        lowest = scores[: max(1, int(len(scores) * self.share))]
        return sum(lowest) / len(lowest)


REWARDS: dict[str, type] = {
    "confidence": ConfidenceReward,
    "confidence-geo": GeometricConfidenceReward,
    "confidence-low": LowConfidenceReward,
}


def get_reward(name: str) -> Reward:
    try:
        return REWARDS[name]()
    except KeyError:
        raise UsageError(f"unknown reward {name!r}; choose one of {', '.join(REWARDS)}") from None
