"""chrF: character n-gram F-score (Popović, "chrF: character n-gram F-score for automatic MT
evaluation", WMT 2015), implemented here so the translate suite needs no new dependency.

Definition used (the common defaults: character n-grams of order 1..6, beta = 2):
- whitespace is removed from hypothesis and reference before counting n-grams;
- for each order n: matches = sum over n-grams of min(count in hypothesis, count in reference);
  precision_n = matches / hypothesis n-grams, recall_n = matches / reference n-grams;
- an order the reference has no n-gram of counts no hypothesis n-grams either;
- CHRP and CHRR are the arithmetic means of precision_n and recall_n over the orders for which
  both strings have at least one n-gram (short strings do not get zeros for orders they cannot
  have);
- chrF = (1 + beta^2) * CHRP * CHRR / (beta^2 * CHRP + CHRR), reported on a 0..100 scale.
Corpus chrF sums the n-gram statistics of all segments before computing precision and recall.
With several references, each segment uses the reference that gives it the best sentence chrF.

This is sacrebleu's chrF with its defaults (`sacrebleu.metrics.CHRF()`: char_order 6, word_order
0, beta 2, mixed case, whitespace removed, effective-order averaging), and
tests/test_chrf_sacrebleu.py keeps the two equal. `chrf_signature` writes sacrebleu's
reproducibility signature for these settings, without sacrebleu's version field (this is not
sacrebleu), so a score printed with it can be set beside published ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["CHAR_ORDER", "BETA", "chrf_corpus", "chrf_sentence", "chrf_signature", "chrf_stats"]

CHAR_ORDER = 6
BETA = 2.0

Stats = list[tuple[int, int, int]]
"""Per order: (hypothesis n-grams, reference n-grams, matches)."""


def _ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf_stats(hypothesis: str, reference: str, order: int = CHAR_ORDER) -> Stats:
    hyp = "".join(hypothesis.split())
    ref = "".join(reference.split())
    stats: Stats = []
    for n in range(1, order + 1):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        matches = sum((h & r).values())
        # As sacrebleu: an order the reference is too short to have counts no hypothesis
        # n-grams either, so a corpus is not marked down for it (it changes corpus scores only).
        stats.append((sum(h.values()) if r else 0, sum(r.values()), matches))
    return stats


def _score(stats: Stats, beta: float = BETA) -> float:
    precisions, recalls = [], []
    for n_hyp, n_ref, n_match in stats:
        if n_hyp > 0 and n_ref > 0:
            precisions.append(n_match / n_hyp)
            recalls.append(n_match / n_ref)
    if not precisions:
        return 0.0
    p = sum(precisions) / len(precisions)
    r = sum(recalls) / len(recalls)
    if p == 0 and r == 0:
        return 0.0
    b2 = beta * beta
    return 100.0 * (1 + b2) * p * r / (b2 * p + r)


def _best(hypothesis: str, references: Sequence[str], order: int, beta: float) -> Stats:
    if not references:
        raise ValueError("chrF needs at least one reference")
    candidates = [chrf_stats(hypothesis, ref, order) for ref in references]
    return max(candidates, key=lambda s: _score(s, beta))


def chrf_sentence(
    hypothesis: str,
    references: str | Sequence[str],
    *,
    order: int = CHAR_ORDER,
    beta: float = BETA,
) -> float:
    """chrF (0..100) of one hypothesis against one or more references."""
    refs = [references] if isinstance(references, str) else list(references)
    return _score(_best(hypothesis, refs, order, beta), beta)


def chrf_corpus(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    *,
    order: int = CHAR_ORDER,
    beta: float = BETA,
) -> float:
    """Corpus chrF (0..100): n-gram statistics summed over segments, then scored."""
    if len(hypotheses) != len(references):
        raise ValueError("chrF: as many reference entries as hypotheses are needed")
    total = [[0, 0, 0] for _ in range(order)]
    for hyp, refs in zip(hypotheses, references, strict=True):
        refs = [refs] if isinstance(refs, str) else list(refs)
        for i, (h, r, m) in enumerate(_best(hyp, refs, order, beta)):
            total[i][0] += h
            total[i][1] += r
            total[i][2] += m
    return _score([(h, r, m) for h, r, m in total], beta)


def chrf_signature(references: Sequence[str | Sequence[str]], *, order: int = CHAR_ORDER) -> str:
    """sacrebleu's chrF signature for a corpus scored here, e.g.
    "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no"; nrefs is "var" when segments have different
    numbers of references, as in sacrebleu."""
    counts = {1 if isinstance(refs, str) else len(refs) for refs in references}
    nrefs = str(counts.pop()) if len(counts) == 1 else "var"
    return f"nrefs:{nrefs}|case:mixed|eff:yes|nc:{order}|nw:0|space:no"
