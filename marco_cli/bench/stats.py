"""Summaries of results records: accuracy with a Wilson interval, Test@k, cost per problem.

Definitions (per dataset x strategy):
- Test@1: the share of problems whose first attempt (sample 0) is correct, as in the paper.
  Its 95% interval is the Wilson score interval over those n problems (it stays inside
  [0, 1] and behaves at small n and at 0% / 100%, where the normal approximation does not).
- Test@k: the share of problems, among those with all k attempts recorded, where any
  attempt is correct (k = the most samples recorded for that strategy).
- Mean tokens / seconds / reward: over all recorded attempts.
- McNemar's exact test (`mcnemar_exact`): two paired sets of first attempts on the same problems
  differ by more than chance when the problems exactly one side gets right (b and c) split
  unevenly; under "no difference" each such problem is a fair coin, so the two-sided p-value is
  2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1.
- Problems for 80% power (`problems_for_power`): how many problems a run like this one would
  need for that test to find the difference it observed, if the observed shares of problems only
  one side gets right were the truth; a "no" at n = 60 then reads as "too few problems" or as
  "no difference to find".
A record with an `error` counts as an incorrect attempt and is also counted in `errors`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

__all__ = [
    "PAPER_MGSM",
    "Comparison",
    "Paired",
    "Summary",
    "compare",
    "mcnemar_exact",
    "paired",
    "problems_for_power",
    "summarize",
    "wilson_interval",
]

Z_95 = 1.959963984540054

PAPER_MGSM: dict[tuple[str, str], float] = {
    ("mgsm-en", "cot"): 85.60,
    ("mgsm-zh", "cot"): 71.20,
    ("mgsm-en", "mcts-step"): 90.40,
    ("mgsm-zh", "mcts-step"): 80.00,
    ("mgsm-en", "mcts-mini64"): 88.40,
    ("mgsm-zh", "mcts-mini64"): 80.40,
    ("mgsm-en", "mcts-mini32"): 87.60,
    ("mgsm-zh", "mcts-mini32"): 82.40,
}
"""Marco-o1 7B MGSM Test@1 accuracy (%) from the paper (reference notes, section 4)."""


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion, as fractions; None when n == 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided p-value of McNemar's exact test on `b` and `c` discordant pairs (see above).

    Exact in integers up to the one final division, so it holds for any n without scipy."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must not be negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def problems_for_power(
    b: int, c: int, n: int, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Paired problems McNemar's test needs to reject "no difference" at `alpha` with probability
    `power`, when the shares of problems only one side gets right are b/n and c/n.

    Connor's (1987) normal approximation: n = (z_a * sqrt(psi) + z_b * sqrt(psi - d^2))^2 / d^2
    with psi = (b + c) / n and d = (b - c) / n. The exact test is more conservative at small
    counts and needs somewhat more. None when b == c: no n finds a zero difference."""
    if n <= 0 or b == c:
        return None
    psi, d = (b + c) / n, abs(b - c) / n
    normal = NormalDist()
    z_a, z_b = normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)
    return math.ceil((z_a * math.sqrt(psi) + z_b * math.sqrt(psi - d * d)) ** 2 / (d * d))


@dataclass(frozen=True)
class Summary:
    dataset: str
    strategy: str
    model: str
    n: int
    correct: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    samples: int
    test_at_k: float | None
    test_at_k_n: int
    attempts: int
    incomplete: int
    errors: int
    mean_generated: float | None
    mean_evaluated: float | None
    mean_seconds: float | None
    tokens_per_second: float | None
    mean_reward: float | None
    paper: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mean_of(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    items = [v for v in values if v is not None]
    return sum(items) / len(items) if items else None


def _model_label(records: Sequence[dict[str, Any]]) -> str:
    names = sorted({str((r.get("model") or {}).get("name") or "?") for r in records})
    return names[0] if len(names) == 1 else ", ".join(names)


def _group(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[(str(record["dataset"]), str(record["strategy"]))].append(record)
    return groups


def _summarize_group(dataset: str, strategy: str, records: list[dict[str, Any]]) -> Summary:
    first = {str(r["id"]): r for r in records if int(r.get("sample", 0)) == 0}
    n = len(first)
    correct = sum(1 for r in first.values() if r.get("correct"))
    ci = wilson_interval(correct, n)
    k = max(int(r.get("sample", 0)) for r in records) + 1
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_problem[str(r["id"])].append(r)
    full = [rs for rs in by_problem.values() if len({int(r.get("sample", 0)) for r in rs}) >= k]
    at_k = sum(1 for rs in full if any(r.get("correct") for r in rs))
    generated = sum(int(r.get("generated_tokens") or 0) for r in records)
    seconds = sum(float(r.get("seconds") or 0.0) for r in records)
    return Summary(
        dataset=dataset,
        strategy=strategy,
        model=_model_label(records),
        n=n,
        correct=correct,
        accuracy=correct / n if n else None,
        ci_low=ci[0] if ci else None,
        ci_high=ci[1] if ci else None,
        samples=k,
        test_at_k=(at_k / len(full)) if (k > 1 and full) else None,
        test_at_k_n=len(full) if k > 1 else 0,
        attempts=len(records),
        incomplete=sum(1 for r in records if r.get("complete") is False),
        errors=sum(1 for r in records if r.get("error")),
        mean_generated=mean_of(r.get("generated_tokens") for r in records),
        mean_evaluated=mean_of(r.get("evaluated_tokens") for r in records),
        mean_seconds=mean_of(r.get("seconds") for r in records),
        tokens_per_second=generated / seconds if seconds > 0 else None,
        mean_reward=mean_of(r.get("reward") for r in records),
        paper=PAPER_MGSM.get((dataset, strategy)),
    )


def summarize(records: Iterable[dict[str, Any]]) -> list[Summary]:
    """One Summary per (dataset, strategy): grouped by dataset, datasets and strategies each in
    first-seen order."""
    groups = _group(records)
    datasets = list(dict.fromkeys(d for d, _ in groups))
    strategies = list(dict.fromkeys(s for _, s in groups))
    keys = sorted(groups, key=lambda k: (datasets.index(k[0]), strategies.index(k[1])))
    return [_summarize_group(d, s, groups[(d, s)]) for d, s in keys]


@dataclass(frozen=True)
class Comparison:
    """One dataset x strategy compared between two results files on their common problems."""

    dataset: str
    strategy: str
    left: Summary | None
    """Summary of the left file's records (on the common problems when there are any)."""
    right: Summary | None
    common: int
    left_correct: int
    right_correct: int
    left_only: int
    """Problems the left file gets right and the right file gets wrong (sample 0)."""
    right_only: int

    @property
    def delta(self) -> float | None:
        """Right minus left Test@1 on the common problems, in percentage points."""
        if not self.common:
            return None
        return 100.0 * (self.right_correct - self.left_correct) / self.common

    @property
    def p_value(self) -> float | None:
        """McNemar's exact test on the common problems (None when there are none)."""
        return mcnemar_exact(self.left_only, self.right_only) if self.common else None

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "strategy": self.strategy,
            "left": self.left.to_json() if self.left else None,
            "right": self.right.to_json() if self.right else None,
            "common": self.common,
            "left_correct": self.left_correct,
            "right_correct": self.right_correct,
            "left_only": self.left_only,
            "right_only": self.right_only,
            "delta": self.delta,
            "p_value": self.p_value,
        }


def _first_correct(records: Iterable[dict[str, Any]]) -> dict[str, bool]:
    """Problem id -> whether its first attempt (sample 0) is correct."""
    return {str(r["id"]): bool(r.get("correct")) for r in records if int(r.get("sample", 0)) == 0}


@dataclass(frozen=True)
class Paired:
    """Two strategies of one results file on the problems of a dataset both answered (sample 0)."""

    dataset: str
    first: str
    second: str
    common: int
    first_only: int
    """Problems `first` gets right and `second` gets wrong."""
    second_only: int

    @property
    def p_value(self) -> float:
        return mcnemar_exact(self.first_only, self.second_only)

    @property
    def problems_for_power(self) -> int | None:
        """Problems a run would need to tell this difference from chance (see the module doc)."""
        return problems_for_power(self.first_only, self.second_only, self.common)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "p_value": self.p_value,
            "problems_for_power": self.problems_for_power,
        }


def paired(records: Iterable[dict[str, Any]]) -> list[Paired]:
    """Every pair of strategies of each dataset that share at least one problem, in the order of
    `summarize` (the earlier strategy first)."""
    groups = _group(records)
    datasets = list(dict.fromkeys(d for d, _ in groups))
    strategies = list(dict.fromkeys(s for _, s in groups))
    out: list[Paired] = []
    for dataset in datasets:
        present = [s for s in strategies if (dataset, s) in groups]
        firsts = {s: _first_correct(groups[(dataset, s)]) for s in present}
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                common = [p for p in firsts[a] if p in firsts[b]]
                if not common:
                    continue
                out.append(
                    Paired(
                        dataset,
                        a,
                        b,
                        len(common),
                        sum(1 for p in common if firsts[a][p] and not firsts[b][p]),
                        sum(1 for p in common if firsts[b][p] and not firsts[a][p]),
                    )
                )
    return out


def compare(left: Iterable[dict[str, Any]], right: Iterable[dict[str, Any]]) -> list[Comparison]:
    """Pair two sets of records by (dataset, strategy) and compare them problem by problem."""
    lg, rg = _group(left), _group(right)
    out: list[Comparison] = []
    for key in list(dict.fromkeys([*lg, *rg])):
        lrs, rrs = lg.get(key, []), rg.get(key, [])
        lfirst, rfirst = _first_correct(lrs), _first_correct(rrs)
        common = [i for i in lfirst if i in rfirst]
        if common:  # costs too are compared on the common problems
            shared = set(common)
            lrs = [r for r in lrs if str(r["id"]) in shared]
            rrs = [r for r in rrs if str(r["id"]) in shared]
        out.append(
            Comparison(
                dataset=key[0],
                strategy=key[1],
                left=_summarize_group(*key, lrs) if lrs else None,
                right=_summarize_group(*key, rrs) if rrs else None,
                common=len(common),
                left_correct=sum(lfirst[i] for i in common),
                right_correct=sum(rfirst[i] for i in common),
                left_only=sum(1 for i in common if lfirst[i] and not rfirst[i]),
                right_only=sum(1 for i in common if rfirst[i] and not lfirst[i]),
            )
        )
    return out
