"""Why a search strategy scores what it scores, from its results records alone.

For each (dataset, search strategy), over first attempts:
- **Coverage** (`oracle`): the share of problems where at least one completed rollout is correct.
  No final choice can beat it; when it is far above the chosen answer's accuracy, the choice is
  what loses, when it is close to it, the tree lacks candidates.
- **Select modes**: the accuracy each `--select` mode would have had on the same searches (the
  search itself does not depend on the mode). Records hold the index each mode chooses
  (`search.choices`); for records written before that existed, `reward` and `vote` are recomputed
  from the completed rollouts with the search's own functions and `visits` is unknown.
- **Reward AUC**: how well the reward ranks correct completed rollouts above incorrect ones — the
  probability that a random correct rollout out-scores a random incorrect one (ties count half).
  `pooled` compares rollouts across all problems; `within` only pairs from the same problem,
  which is what a final choice needs (a reward that only tells easy problems from hard ones
  scores well pooled and 0.5 within). 0.5 is chance.
- **Length bias**: over pairs of completed rollouts of the same problem with different lengths, the
  share where the longer one has the higher reward (ties count half); 0.5 means the reward does not
  care about length. A mean over tokens drifts up on long paths when their later tokens are easy.
- **Budget**: completed rollouts per problem, rollouts cut before an answer (by the path's token
  limit or the search budget), the share of completed answers the search had to force, distinct
  answers per problem, problems with no answer, and why searches stopped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from marco_cli.answers import answers_match, extract_answer
from marco_cli.bench.stats import mean_of
from marco_cli.search import SELECT_MODES, RolloutRecord, max_reward, vote_winner

__all__ = ["SearchDiagnostics", "diagnose", "rank_auc"]


def rank_auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """P(a random positive scores above a random negative), ties half; None without both."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@dataclass(frozen=True)
class SearchDiagnostics:
    dataset: str
    strategy: str
    n: int
    """Problems with a search (first attempt)."""
    accuracy: float | None
    oracle: float | None
    select: dict[str, float | None]
    """Select mode -> accuracy over the problems where its choice is known."""
    select_n: dict[str, int]
    auc_pooled: float | None
    auc_within: float | None
    within_pairs: int
    """Correct/incorrect rollout pairs from the same problem behind `auc_within`."""
    length_bias: float | None
    """P(the longer of two rollouts of a problem has the higher reward)."""
    completed: float | None
    """Completed rollouts per problem."""
    cut: float | None
    """Rollouts per problem that ended without an answer."""
    forced: float | None
    """Share of completed rollouts whose answer the search forced (no closed answer)."""
    distinct: float | None
    """Distinct answers per problem among completed rollouts."""
    no_answer: int
    stop_reasons: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _correct(rollout: RolloutRecord, reference: str) -> bool:
    return answers_match(extract_answer(rollout.answer), reference)


def _chosen(search: dict[str, Any], rollouts: list[RolloutRecord]) -> dict[str, RolloutRecord]:
    choices = search.get("choices")
    if choices is not None:
        return {mode: rollouts[i] for mode, i in choices.items()}
    if not rollouts:
        return {}
    return {"reward": max_reward(rollouts), "vote": vote_winner(rollouts)}


def diagnose(records: Iterable[dict[str, Any]]) -> list[SearchDiagnostics]:
    """One entry per (dataset, strategy) whose records carry a search, in first-seen order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if isinstance(r.get("search"), dict) and int(r.get("sample", 0)) == 0:
            groups[(str(r["dataset"]), str(r["strategy"]))].append(r)
    out = []
    for (dataset, strategy), group in groups.items():
        n = len(group)
        right: dict[str, int] = Counter()
        known: dict[str, int] = Counter()
        pooled: tuple[list[float], list[float]] = ([], [])
        within_wins, within_pairs = 0.0, 0
        longer_wins, length_pairs = 0.0, 0
        completed, cut, forced, distinct = [], [], [], []
        oracle = no_answer = 0
        stops: Counter[str] = Counter()
        for r in group:
            search, reference = r["search"], str(r["reference"])
            rollouts = [RolloutRecord.from_json(c) for c in search.get("completed") or []]
            ok = [_correct(c, reference) for c in rollouts]
            for mode, chosen in _chosen(search, rollouts).items():
                known[mode] += 1
                right[mode] += _correct(chosen, reference)
            pos = [c.reward for c, good in zip(rollouts, ok, strict=True) if good]
            neg = [c.reward for c, good in zip(rollouts, ok, strict=True) if not good]
            pooled[0].extend(pos)
            pooled[1].extend(neg)
            if pos and neg:
                within_pairs += len(pos) * len(neg)
                within_wins += (rank_auc(pos, neg) or 0.0) * len(pos) * len(neg)
            for a in rollouts:
                for b in rollouts:
                    if a.tokens > b.tokens:
                        length_pairs += 1
                        longer_wins += (a.reward > b.reward) + 0.5 * (a.reward == b.reward)
            oracle += any(ok)
            no_answer += not rollouts
            stats = search.get("stats") or {}
            completed.append(len(rollouts))
            cut.append(int(stats.get("rollouts", len(rollouts))) - len(rollouts))
            forced.extend(0.0 if c.closed else 1.0 for c in rollouts)
            distinct.append(len({c.key for c in rollouts}))
            stops[str(search.get("stop_reason"))] += 1
        out.append(
            SearchDiagnostics(
                dataset=dataset,
                strategy=strategy,
                n=n,
                accuracy=sum(bool(r.get("correct")) for r in group) / n,
                oracle=oracle / n,
                select={m: (right[m] / known[m] if known[m] else None) for m in SELECT_MODES},
                select_n={m: known[m] for m in SELECT_MODES},
                auc_pooled=rank_auc(*pooled),
                auc_within=within_wins / within_pairs if within_pairs else None,
                within_pairs=within_pairs,
                length_bias=longer_wins / length_pairs if length_pairs else None,
                completed=mean_of(completed),
                cut=mean_of(cut),
                forced=mean_of(forced),
                distinct=mean_of(distinct),
                no_answer=no_answer,
                stop_reasons=dict(stops.most_common()),
            )
        )
    return out
