"""Why a search strategy scores what it scores, from its results records alone.

For each (dataset, search strategy), over first attempts:
- **Coverage** (`oracle`): the share of problems where at least one completed rollout is correct.
  No final choice can beat it; when it is far above the chosen answer's accuracy, the choice is
  what loses, when it is close to it, the tree lacks candidates. Self-consistency (`sc`) gets a
  row too, its chains taken as its candidates: coverage, chains (as `completed`) and distinct
  answers at the same tokens as a search.
- **Select modes**: the accuracy each `--select` mode would have had on the same searches (the
  search itself does not depend on the mode), and McNemar's exact test of `vote` against
  `reward` on the searches where exactly one of them is right. Records hold the index each mode
  chooses (`search.choices`); for records written before that existed, `reward` and `vote` are
  recomputed from the completed rollouts with the search's own functions and `visits` is unknown.
  The recorded choosers (`weighted-vote`, `lowest-window`) are reported beside the modes; for
  records written before they were recorded, they are recomputed the same way.
- **Reward AUC**: how well the reward ranks correct completed rollouts above incorrect ones — the
  probability that a random correct rollout out-scores a random incorrect one (ties count half).
  `pooled` compares rollouts across all problems; `within` only pairs from the same problem,
  which is what a final choice needs (a reward that only tells easy problems from hard ones
  scores well pooled and 0.5 within). 0.5 is chance.
- **Length bias**: over pairs of completed rollouts of the same problem with different lengths, the
  share where the longer one has the higher reward (ties count half); 0.5 means the reward does not
  care about length. A mean over tokens drifts up on long paths when their later tokens are easy.
- **Rewards re-scored** (`compare_rewards`): every reward in `REWARDS` applied to the same
  completed rollouts through their stored per-token confidences — which answer `--select reward`
  would have taken with it, its AUC and length bias. The tree itself was grown with the run's own
  reward, so this compares final choices on the same searches, not whole searches.
- **Budget**: completed rollouts per problem, rollouts cut before an answer (by the path's token
  limit or the search budget), the share of completed answers the search had to force, distinct
  answers per problem, problems with no answer, and why searches stopped.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from marco_cli.answers import answers_match, extract_answer
from marco_cli.bench.stats import mcnemar_exact, mean_of
from marco_cli.errors import UsageError
from marco_cli.search import (
    CHOOSERS,
    RECORDED_CHOOSERS,
    REWARDS,
    SELECT_MODES,
    PathSample,
    RolloutRecord,
    get_reward,
    max_reward,
)

__all__ = [
    "RewardDiagnostics",
    "SearchDiagnostics",
    "as_chosen",
    "compare_rewards",
    "diagnose",
    "rank_auc",
]


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
    """Select mode or recorded chooser -> accuracy over the problems where its choice is
    known."""
    select_n: dict[str, int]
    vote_only: int
    """Searches where `--select vote` chose a correct answer and `--select reward` did not."""
    reward_only: int
    """... and the other way round: with `vote_only`, McNemar's test of the two modes."""
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

    @property
    def vote_vs_reward_p(self) -> float | None:
        """McNemar's exact p of vote against reward on the same searches; None without any."""
        if not self.select_n["vote"]:
            return None
        return mcnemar_exact(self.vote_only, self.reward_only)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "vote_vs_reward_p": self.vote_vs_reward_p}


@dataclass
class _Ranking:
    """How rewards rank rollouts, added up problem by problem: the AUCs and the length bias."""

    positives: list[float] = field(default_factory=list)
    negatives: list[float] = field(default_factory=list)
    within_wins: float = 0.0
    within_pairs: int = 0
    longer_wins: float = 0.0
    length_pairs: int = 0

    def add(self, rollouts: Sequence[RolloutRecord], ok: Sequence[bool]) -> None:
        """One problem's completed rollouts and whether each is correct."""
        pos = [c.reward for c, good in zip(rollouts, ok, strict=True) if good]
        neg = [c.reward for c, good in zip(rollouts, ok, strict=True) if not good]
        self.positives.extend(pos)
        self.negatives.extend(neg)
        if pos and neg:
            self.within_pairs += len(pos) * len(neg)
            self.within_wins += (rank_auc(pos, neg) or 0.0) * len(pos) * len(neg)
        for a in rollouts:
            for b in rollouts:
                if a.tokens > b.tokens:
                    self.length_pairs += 1
                    self.longer_wins += (a.reward > b.reward) + 0.5 * (a.reward == b.reward)

    @property
    def auc_pooled(self) -> float | None:
        return rank_auc(self.positives, self.negatives)

    @property
    def auc_within(self) -> float | None:
        return self.within_wins / self.within_pairs if self.within_pairs else None

    @property
    def length_bias(self) -> float | None:
        return self.longer_wins / self.length_pairs if self.length_pairs else None


@dataclass(frozen=True)
class RewardDiagnostics:
    dataset: str
    strategy: str
    reward: str
    n: int
    """Problems whose searches recorded their rollouts' confidences (first attempt)."""
    accuracy: float | None
    """Test@1 had `--select reward` chosen by this reward; a search without a completed
    rollout counts as wrong."""
    auc_within: float | None
    within_pairs: int
    length_bias: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _correct(answer: str | None, reference: str) -> bool:
    return answers_match(extract_answer(answer or ""), reference)


def _index(rollouts: list[RolloutRecord], chosen: RolloutRecord) -> int:
    return next(i for i, c in enumerate(rollouts) if c is chosen)


_CHOICES = SELECT_MODES + RECORDED_CHOOSERS


def _chosen(search: dict[str, Any], rollouts: list[RolloutRecord]) -> dict[str, int]:
    """Select mode or recorded chooser -> the index of the rollout it chooses: as recorded, and
    where the record predates a chooser that needs only the rollouts, recomputed."""
    chosen = dict(search.get("choices") or {})
    if not rollouts:
        return chosen
    scored = all(c.confidences for c in rollouts)
    for mode, choose in CHOOSERS.items():
        # Records from before per-token confidences were kept cannot say their lowest window.
        if mode not in chosen and (scored or mode != "lowest-window"):
            chosen[mode] = _index(rollouts, choose(rollouts))
    return chosen


def _searches(
    records: Iterable[dict[str, Any]], kind: str = "search"
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """First attempts that carry a `kind` part ("search", or "sc" for self-consistency), by
    (dataset, strategy) in first-seen order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if isinstance(r.get(kind), dict) and int(r.get("sample", 0)) == 0:
            groups[(str(r["dataset"]), str(r["strategy"]))].append(r)
    return groups


def _chains(dataset: str, strategy: str, group: list[dict[str, Any]]) -> SearchDiagnostics:
    """Self-consistency's row: its chains are its candidates, so coverage and distinct answers
    compare with a search's at the same tokens; the rest is a search's alone."""
    covered = no_answer = 0
    distinct, chains = [], []
    for r in group:
        answers = r["sc"].get("answers") or []
        covered += any(_correct(a, str(r["reference"])) for a in answers)
        no_answer += not any(answers)
        distinct.append(len({a for a in answers if a}))
        chains.append(len(answers))
    n = len(group)
    return SearchDiagnostics(
        dataset=dataset,
        strategy=strategy,
        n=n,
        accuracy=sum(bool(r.get("correct")) for r in group) / n,
        oracle=covered / n,
        select={m: None for m in _CHOICES},
        select_n={m: 0 for m in _CHOICES},
        vote_only=0,
        reward_only=0,
        auc_pooled=None,
        auc_within=None,
        within_pairs=0,
        length_bias=None,
        completed=mean_of(chains),
        cut=None,
        forced=None,
        distinct=mean_of(distinct),
        no_answer=no_answer,
    )


def _rollouts(record: dict[str, Any]) -> list[RolloutRecord]:
    return [RolloutRecord.from_json(c) for c in record["search"].get("completed") or []]


def compare_rewards(records: Iterable[dict[str, Any]]) -> list[RewardDiagnostics]:
    """Every reward on the same completed rollouts, per (dataset, strategy); only searches
    written with per-token confidences (and `choices`, recorded since the same version) count."""
    out = []
    for (dataset, strategy), group in _searches(records).items():
        # Each search's rollouts with whether each is right: that does not depend on the reward.
        searches = []
        for r in group:
            rollouts = _rollouts(r)
            if "choices" in r["search"] and all(c.confidences for c in rollouts):
                searches.append(
                    (rollouts, [_correct(c.answer, str(r["reference"])) for c in rollouts])
                )
        if not searches:
            continue
        for name in REWARDS:
            reward = get_reward(name)
            ranking = _Ranking()
            right = 0
            for rollouts, ok in searches:
                # Records keep no text, so rewards that read it cannot be re-scored here; the
                # confidence rewards read only the scores.
                scored = [
                    dataclasses.replace(
                        c,
                        reward=reward.value(PathSample(c.confidences, "", c.answer, c.closed)),
                    )
                    for c in rollouts
                ]
                ranking.add(scored, ok)
                if scored:
                    right += ok[_index(scored, max_reward(scored))]
            out.append(
                RewardDiagnostics(
                    dataset=dataset,
                    strategy=strategy,
                    reward=name,
                    n=len(searches),
                    accuracy=right / len(searches),
                    auc_within=ranking.auc_within,
                    within_pairs=ranking.within_pairs,
                    length_bias=ranking.length_bias,
                )
            )
    return out


def diagnose(records: Iterable[dict[str, Any]]) -> list[SearchDiagnostics]:
    """One entry per (dataset, strategy) whose records carry a search, in first-seen order,
    then one per self-consistency strategy (its chains taken as its candidates)."""
    records = list(records)
    out = []
    for (dataset, strategy), group in _searches(records).items():
        n = len(group)
        right: dict[str, int] = Counter()
        known: dict[str, int] = Counter()
        ranking = _Ranking()
        vote_only = reward_only = 0
        completed: list[int] = []
        cut: list[int] = []
        forced: list[float] = []
        distinct: list[int] = []
        oracle = no_answer = 0
        stops: Counter[str] = Counter()
        for r in group:
            search, reference = r["search"], str(r["reference"])
            rollouts = _rollouts(r)
            ok = [_correct(c.answer, reference) for c in rollouts]
            chosen_right = {m: ok[i] for m, i in _chosen(search, rollouts).items()}
            for mode, good in chosen_right.items():
                known[mode] += 1
                right[mode] += good
            if "reward" in chosen_right and "vote" in chosen_right:
                vote_only += chosen_right["vote"] and not chosen_right["reward"]
                reward_only += chosen_right["reward"] and not chosen_right["vote"]
            ranking.add(rollouts, ok)
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
                select={m: (right[m] / known[m] if known[m] else None) for m in _CHOICES},
                select_n={m: known[m] for m in _CHOICES},
                vote_only=vote_only,
                reward_only=reward_only,
                auc_pooled=ranking.auc_pooled,
                auc_within=ranking.auc_within,
                within_pairs=ranking.within_pairs,
                length_bias=ranking.length_bias,
                completed=mean_of(completed),
                cut=mean_of(cut),
                forced=mean_of(forced),
                distinct=mean_of(distinct),
                no_answer=no_answer,
                stop_reasons=dict(stops.most_common()),
            )
        )
    sc = _searches(records, "sc")
    out += [_chains(dataset, strategy, group) for (dataset, strategy), group in sc.items()]
    return out


def as_chosen(records: Iterable[dict[str, Any]], modes: Sequence[str]) -> list[dict[str, Any]]:
    """The records, each search followed by one copy per mode in `modes` that answers what
    that select mode or recorded chooser took from the same search, as strategy
    `STRATEGY@MODE`: summaries and McNemar's test then set a final choice beside the other
    strategies without running the search again. A search whose choice is unknown (a mode
    recorded after it ran) gets no copy; one without a completed rollout is a wrong answer."""
    unknown = [m for m in modes if m not in _CHOICES]
    if unknown:
        raise UsageError(
            f"unknown choice {unknown[0]!r}; choose from {', '.join(_CHOICES)} "
            "(each search records them all)"
        )
    out = []
    for r in records:
        out.append(r)
        if not isinstance(r.get("search"), dict):
            continue
        rollouts = _rollouts(r)
        chosen = _chosen(r["search"], rollouts)
        for mode in modes:
            if rollouts and mode not in chosen:
                continue
            rollout = rollouts[chosen[mode]] if rollouts else None
            answer = extract_answer(rollout.answer) if rollout else None
            correct = rollout is not None and _correct(rollout.answer, str(r["reference"]))
            out.append(
                {
                    **r,
                    "strategy": f"{r['strategy']}@{mode}",
                    "answer": answer,
                    "correct": correct,
                    "reward": rollout.reward if rollout else None,
                    # the copy is a view of the search above, not a search of its own
                    "search": None,
                }
            )
    return out
