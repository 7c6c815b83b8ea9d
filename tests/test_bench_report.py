"""Summaries, Wilson intervals, report rendering, two-file comparison, and chrF."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from marco_cli.bench.chrf import chrf_corpus, chrf_sentence
from marco_cli.bench.report import comparison_table, paired_table, render_markdown, summary_table
from marco_cli.bench.stats import (
    compare,
    mcnemar_exact,
    paired,
    problems_for_power,
    summarize,
    wilson_interval,
)


def rec(
    pid: int,
    strategy: str,
    correct: bool,
    sample: int = 0,
    dataset: str = "mgsm-en",
    model: str = "demo",
    gen: int = 100,
    seconds: float = 2.0,
    **extra,
) -> dict:
    return {
        "dataset": dataset,
        "id": str(pid),
        "strategy": strategy,
        "sample": sample,
        "correct": correct,
        "complete": True,
        "generated_tokens": gen,
        "evaluated_tokens": gen + 50,
        "seconds": seconds,
        "reward": 0.5,
        "model": {"name": model, "file": "m.gguf", "sha256": "0" * 64},
        **extra,
    }


# --- Wilson --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (8, 10, 0.4902, 0.9433),
        (50, 100, 0.4038, 0.5962),
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_interval(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_empty() -> None:
    assert wilson_interval(0, 0) is None


# --- summaries -----------------------------------------------------------------------------------


def sample_records() -> list[dict]:
    records = []
    for pid in range(1, 5):  # cot: 3 of 4 right on the first attempt
        records.append(rec(pid, "cot", pid != 4, gen=100, seconds=2.0))
    for pid in range(1, 5):  # mcts-step, 2 samples: first attempt 2/4, any attempt 3/4
        records.append(rec(pid, "mcts-step", pid <= 2, sample=0, gen=300, seconds=6.0))
        records.append(rec(pid, "mcts-step", pid <= 3, sample=1, gen=500, seconds=10.0))
    records.append(
        rec(
            9, "cot", False, dataset="mgsm-zh", gen=0, seconds=0.5, error="too long", complete=False
        )
    )
    return records


def test_summarize() -> None:
    rows = {(s.dataset, s.strategy): s for s in summarize(sample_records())}
    cot = rows[("mgsm-en", "cot")]
    assert (cot.n, cot.correct, cot.accuracy, cot.samples, cot.test_at_k) == (4, 3, 0.75, 1, None)
    assert cot.mean_generated == 100 and cot.mean_seconds == 2.0
    assert cot.tokens_per_second == 50.0
    assert cot.paper == 85.6
    mcts = rows[("mgsm-en", "mcts-step")]
    assert (mcts.n, mcts.correct, mcts.samples, mcts.test_at_k_n) == (4, 2, 2, 4)
    assert mcts.test_at_k == 0.75
    assert mcts.mean_generated == 400 and mcts.attempts == 8
    zh = rows[("mgsm-zh", "cot")]
    assert (zh.n, zh.correct, zh.errors, zh.incomplete) == (1, 0, 1, 1)


def test_summary_markdown_rendering() -> None:
    text = render_markdown(summary_table(summarize(sample_records())))
    lines = text.splitlines()
    assert lines[0] == "## marco bench"
    assert lines[2] == (
        "| dataset | strategy | n | Test@1 % | 95% CI | gen tok/problem | Test@k % | paper %"
        " | eval tok | s/problem | tok/s | incomplete/err |"
    )
    assert lines[3] == "|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert lines[4] == (
        "| mgsm-en | cot | 4 | 75.0 | 30.1–95.4 | 100 | – | 85.6 | 150 | 2.0 | 50.0 | 0/0 |"
    )
    assert lines[5] == (
        "| mgsm-en | mcts-step | 4 | 50.0 | 15.0–85.0 | 400 | 75.0 (k=2) | 90.4 | 450 | 8.0"
        " | 50.0 | 0/0 |"
    )
    assert lines[6].startswith("| mgsm-zh | cot | 1 | 0.0 | 0.0–79.3 | 0 | – | 71.2 | 50 | 0.5 |")
    assert "model: demo" in text and "Wilson" in text


def test_plain_table_has_no_optional_columns() -> None:
    table = summary_table(summarize([rec(1, "cot", True, dataset="mine")]))
    assert table.headers == [
        "dataset",
        "strategy",
        "n",
        "Test@1 %",
        "95% CI",
        "gen tok/problem",
        "eval tok",
        "s/problem",
        "tok/s",
    ]


def test_compare_two_files() -> None:
    left = [rec(i, "cot", i <= 2, model="A") for i in range(1, 5)]  # right on 1, 2
    right = [rec(i, "cot", i in (2, 3, 4), model="B", seconds=1.0) for i in range(2, 6)]
    right.append(rec(1, "mcts-step", True, model="B"))
    comparisons = {c.strategy: c for c in compare(left, right)}
    cot = comparisons["cot"]
    # Common problems 2, 3, 4: A right on {2}, B right on {2, 3, 4}.
    assert (cot.common, cot.left_correct, cot.right_correct) == (3, 1, 3)
    assert (cot.left_only, cot.right_only) == (0, 2)
    assert cot.delta == pytest.approx(200 / 3)
    only_b = comparisons["mcts-step"]
    assert only_b.left is None and only_b.common == 0 and only_b.delta is None
    text = render_markdown(comparison_table(list(comparisons.values()), "A", "B"))
    lines = text.splitlines()
    assert lines[2] == (
        "| dataset | strategy | common n | A Test@1 % | B Test@1 % | Δ pts | only A ✓ | only B ✓"
        " | McNemar p | A s/problem | B s/problem | A gen tok | B gen tok |"
    )
    # b=0, c=2: p = 2 * (1/4) = 0.5
    assert lines[4] == (
        "| mgsm-en | cot | 3 | 33.3 | 100.0 | +66.7 | 0 | 2 | 0.5000 | 2.0 | 1.0 | 100 | 100 |"
    )
    assert lines[5] == "| mgsm-en | mcts-step | 0 | – | – | – | – | – | – | – | 2.0 | – | 100 |"


def test_markdown_escapes_pipes() -> None:
    text = render_markdown(summary_table(summarize([rec(1, "a|b", True, dataset="x")])))
    assert "a\\|b" in text


def test_json_summary_is_serialisable() -> None:
    data = [s.to_json() for s in summarize(sample_records())]
    assert json.loads(json.dumps(data))[0]["accuracy"] == 0.75


# --- chrF, against values computed by hand -------------------------------------------------------


def test_chrf_identical_and_disjoint() -> None:
    assert chrf_sentence("The cat sat.", "The cat sat.") == pytest.approx(100.0)
    assert chrf_sentence("abc", "xyz") == 0.0
    assert chrf_sentence("", "abc") == 0.0


def test_chrf_ignores_whitespace() -> None:
    assert chrf_sentence("a b", "ab") == pytest.approx(100.0)


def test_chrf_hand_computed_symmetric() -> None:
    # "abc" vs "abd": 1-grams 2/3 matched, 2-grams 1/2, 3-grams 0/1 (both ways);
    # CHRP = CHRR = (2/3 + 1/2 + 0) / 3 = 7/18, so chrF = 7/18.
    assert chrf_sentence("abc", "abd") == pytest.approx(100 * 7 / 18)


def test_chrf_hand_computed_recall_weighted() -> None:
    # "ab" vs "abcd": order 1: P = 2/2, R = 2/4; order 2: P = 1/1, R = 1/3; the hypothesis has
    # no 3-grams, so orders 3-6 do not count. CHRP = 1, CHRR = (1/2 + 1/3) / 2 = 5/12;
    # chrF2 = 5 * 1 * 5/12 / (4 * 1 + 5/12) = 25/53.
    assert chrf_sentence("ab", "abcd") == pytest.approx(100 * 25 / 53)
    # beta = 1 is the plain harmonic mean: 2 * 1 * 5/12 / (1 + 5/12) = 10/17.
    assert chrf_sentence("ab", "abcd", beta=1) == pytest.approx(100 * 10 / 17)


def test_chrf_repeated_ngrams_are_clipped() -> None:
    # "aaaa" vs "aa": 1-grams: 4 vs 2, 2 match -> P 1/2, R 1; 2-grams: 3 vs 1, 1 match -> P 1/3,
    # R 1; orders >= 3 only in the hypothesis. CHRP = 5/12, CHRR = 1 -> 5 * 5/12 / (5/3 + 1).
    expected = 100 * 5 * (5 / 12) / (4 * 5 / 12 + 1)
    assert chrf_sentence("aaaa", "aa") == pytest.approx(expected)


def test_chrf_multiple_references_take_the_best() -> None:
    assert chrf_sentence("abc", ["xyz", "abc"]) == pytest.approx(100.0)


def test_chrf_corpus_sums_statistics() -> None:
    # Orders: 1: 4 of 5 both ways; 2: 2 of 3; 3: 0 of 1 -> (4/5 + 2/3 + 0) / 3 = 22/45.
    assert chrf_corpus(["ab", "abc"], ["ab", "abd"]) == pytest.approx(100 * 22 / 45)
    # Not the mean of sentence scores.
    mean = (chrf_sentence("ab", "ab") + chrf_sentence("abc", "abd")) / 2
    assert not math.isclose(chrf_corpus(["ab", "abc"], ["ab", "abd"]), mean)


def test_chrf_unicode_characters() -> None:
    assert chrf_sentence("踩屎感", "踩屎感") == pytest.approx(100.0)
    assert 0 < chrf_sentence("很舒服的鞋", "这鞋很舒服") < 100


def test_report_reads_a_results_file(tmp_path: Path) -> None:
    from marco_cli.bench.store import read_records

    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in sample_records()) + '{"trunc')
    rows = summarize(read_records(path))
    assert len(rows) == 3


def test_comparison_costs_use_the_common_problems() -> None:
    left = [rec(1, "cot", True, seconds=50.0), rec(2, "cot", True, seconds=2.0)]
    right = [rec(2, "cot", False, seconds=4.0)]
    (c,) = compare(left, right)
    assert c.common == 1 and c.left.mean_seconds == 2.0 and c.right.mean_seconds == 4.0
    assert (c.left_only, c.right_only) == (1, 0)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (10, 2, 0.03857421875),  # 2 * (1 + 12 + 66) / 2**12
        (2, 10, 0.03857421875),
        (5, 5, 1.0),
        (0, 0, 1.0),
        (0, 1, 1.0),
        (0, 6, 0.03125),  # 2 / 2**6
        (0, 5, 0.0625),
        (3, 12, 0.03515625),  # 2 * (1 + 15 + 105 + 455) / 2**15
    ],
)
def test_mcnemar_exact_known_values(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p, abs=1e-12)


def test_mcnemar_large_counts_stay_exact_and_in_range() -> None:
    assert mcnemar_exact(600, 400) == pytest.approx(2.7e-10, rel=0.1)
    assert mcnemar_exact(1000, 1000) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def _exact_power(n: int, b: int, c: int, common: int) -> float:
    """P(McNemar's exact p < 0.05) for n paired problems drawn with the shares b/common (only A
    right) and c/common (only B right): the discordant count is binomial, then its split."""
    psi, share = (b + c) / common, b / (b + c)
    total = 0.0
    for m in range(n + 1):
        p_m = math.comb(n, m) * psi**m * (1 - psi) ** (n - m)
        if p_m < 1e-9:
            continue  # far in the tails: skipping them keeps the test fast
        rejected = sum(
            math.comb(m, a) * share**a * (1 - share) ** (m - a)
            for a in range(m + 1)
            if mcnemar_exact(a, m - a) < 0.05
        )
        total += p_m * rejected
    return total


@pytest.mark.parametrize(("b", "c", "common"), [(7, 2, 60), (12, 2, 60), (20, 8, 100)])
def test_problems_for_power_gives_about_four_in_five(b: int, c: int, common: int) -> None:
    n = problems_for_power(b, c, common)
    assert n is not None
    # The approximation is close to the exact test, a little optimistic (hence "somewhat more").
    assert 0.65 <= _exact_power(n, b, c, common) <= 0.85
    assert _exact_power(2 * n, b, c, common) > 0.9


def test_problems_for_power_edges() -> None:
    assert problems_for_power(5, 5, 60) is None
    assert problems_for_power(0, 0, 0) is None
    assert problems_for_power(2, 7, 60) == problems_for_power(7, 2, 60)
    # a larger difference at the same discordance needs fewer problems
    assert problems_for_power(8, 1, 60) < problems_for_power(6, 3, 60)
    assert problems_for_power(7, 2, 60, power=0.9) > problems_for_power(7, 2, 60)


def test_paired_strategies_of_one_file() -> None:
    records = [rec(i, "cot", i <= 10) for i in range(1, 13)]
    records += [rec(i, "sc-5", i in (1, 2, 11, 12)) for i in range(1, 13)]
    records += [rec(i, "mcts-step", True) for i in range(1, 4)]
    records.append(rec(1, "cot", False, dataset="mgsm-zh"))
    pairs = {(p.first, p.second): p for p in paired(records)}
    assert set(pairs) == {("cot", "sc-5"), ("cot", "mcts-step"), ("sc-5", "mcts-step")}
    cot_sc = pairs[("cot", "sc-5")]
    assert (cot_sc.common, cot_sc.first_only, cot_sc.second_only) == (12, 8, 2)
    assert cot_sc.p_value == pytest.approx(mcnemar_exact(8, 2))
    assert pairs[("sc-5", "mcts-step")].common == 3
    text = render_markdown(paired_table(list(pairs.values())))
    assert "| mgsm-en | cot | sc-5 | 12 | 8 | 2 | 0.1094 | 24 |" in text
    assert "McNemar" in text
