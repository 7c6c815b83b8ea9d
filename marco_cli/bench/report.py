"""Tables for bench results: one neutral `TextTable`, rendered as Markdown or a Rich table.

Both renderings come from the same rows, so the terminal table, the `--report` Markdown
file and the piped output cannot disagree.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marco_cli.bench.attempts import BenchOptions, ModelRef
from marco_cli.bench.datasets import Dataset
from marco_cli.bench.diagnostics import RewardDiagnostics, SearchDiagnostics
from marco_cli.bench.stats import Comparison, Paired, Summary
from marco_cli.bench.strategies import StrategySpec
from marco_cli.search import SearchConfig

__all__ = [
    "TextTable",
    "comparison_table",
    "diagnostics_table",
    "rewards_table",
    "file_label",
    "markdown_report",
    "paired_table",
    "render_markdown",
    "summary_table",
]


@dataclass
class TextTable:
    title: str
    headers: list[str]
    rows: list[list[str]]
    align: list[str]
    """"l" or "r" per column."""
    notes: list[str] = field(default_factory=list)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"


def _ci(summary: Summary) -> str:
    if summary.ci_low is None or summary.ci_high is None:
        return "–"
    return f"{100 * summary.ci_low:.1f}–{100 * summary.ci_high:.1f}"


def summary_table(summaries: Sequence[Summary], title: str = "marco bench") -> TextTable:
    """Strategy x dataset: Test@1 with its 95% CI and the tokens it cost, Test@k, paper
    figure, the rest of the cost."""
    show_k = any(s.samples > 1 for s in summaries)
    show_paper = any(s.paper is not None for s in summaries)
    show_incomplete = any(s.incomplete or s.errors for s in summaries)
    # Generated tokens sit beside the accuracy: strategies are compared at their cost.
    headers = ["dataset", "strategy", "n", "Test@1 %", "95% CI", "gen tok/problem"]
    align = ["l", "l", "r", "r", "r", "r"]
    if show_k:
        headers.append("Test@k %")
        align.append("r")
    if show_paper:
        headers.append("paper %")
        align.append("r")
    headers += ["eval tok", "s/problem", "tok/s"]
    align += ["r", "r", "r"]
    if show_incomplete:
        headers.append("incomplete/err")
        align.append("r")
    rows = []
    for s in summaries:
        row = [s.dataset, s.strategy, str(s.n), _pct(s.accuracy), _ci(s), _num(s.mean_generated, 0)]
        if show_k:
            row.append(f"{_pct(s.test_at_k)} (k={s.samples})" if s.samples > 1 else "–")
        if show_paper:
            row.append("–" if s.paper is None else f"{s.paper:.1f}")
        row += [
            _num(s.mean_evaluated, 0),
            _num(s.mean_seconds, 1),
            _num(s.tokens_per_second, 1),
        ]
        if show_incomplete:
            row.append(f"{s.incomplete}/{s.errors}")
        rows.append(row)
    models = sorted({s.model for s in summaries})
    notes = [f"model: {', '.join(models)}"] if models else []
    notes.append(
        "Test@1: first attempt correct; 95% CI: Wilson score interval; Test@k: any of k "
        "attempts correct; tokens and seconds: mean per attempt"
    )
    if show_paper:
        notes.append("paper %: Marco-o1 7B on GPU as published (arXiv 2411.14405), for reference")
    if any(s.dataset.startswith("mgsm-") for s in summaries):
        from marco_cli.bench.datasets import MGSM_ATTRIBUTION

        notes.append(f"data: {MGSM_ATTRIBUTION}")
    return TextTable(title, headers, rows, align, notes)


def comparison_table(
    comparisons: Sequence[Comparison], left_label: str, right_label: str
) -> TextTable:
    """Two results files side by side on the problems both hold."""
    a, b = left_label, right_label
    headers = [
        "dataset",
        "strategy",
        "common n",
        f"{a} Test@1 %",
        f"{b} Test@1 %",
        "Δ pts",
        f"only {a} ✓",
        f"only {b} ✓",
        "McNemar p",
        f"{a} s/problem",
        f"{b} s/problem",
        f"{a} gen tok",
        f"{b} gen tok",
    ]
    align = ["l", "l"] + ["r"] * (len(headers) - 2)
    rows = []
    for c in comparisons:
        left_acc = c.left_correct / c.common if c.common else None
        right_acc = c.right_correct / c.common if c.common else None
        delta = c.delta
        rows.append(
            [
                c.dataset,
                c.strategy,
                str(c.common),
                _pct(left_acc),
                _pct(right_acc),
                "–" if delta is None else f"{delta:+.1f}",
                str(c.left_only) if c.common else "–",
                str(c.right_only) if c.common else "–",
                _p(c.p_value),
                _num(c.left.mean_seconds if c.left else None),
                _num(c.right.mean_seconds if c.right else None),
                _num(c.left.mean_generated if c.left else None, 0),
                _num(c.right.mean_generated if c.right else None, 0),
            ]
        )
    notes = [
        f"{a} and {b} compared on the problems both files hold (first attempt); "
        f"Δ = {b} − {a}; only X ✓ = problems only X gets right",
        _MCNEMAR_NOTE,
    ]
    return TextTable(f"{a} vs {b}", headers, rows, align, notes)


_MCNEMAR_NOTE = (
    "McNemar p: exact two-sided binomial test on the problems exactly one side gets right; "
    "below 0.05 the difference is unlikely to be chance"
)

_POWER_NOTE = (
    "n for 80% power: problems a paired run needs for p < 0.05 four times in five, if the shares "
    "of problems only A / only B gets right stay as observed (Connor's approximation; the exact "
    "test needs somewhat more); –: no difference observed"
)


def _power(problems: int | None) -> str:
    return "–" if problems is None else f"{problems:,}"


def paired_table(pairs: Sequence[Paired], title: str = "paired") -> TextTable:
    """Strategies of one run compared problem by problem (first attempts), with McNemar's p."""
    headers = [
        "dataset",
        "A",
        "B",
        "common n",
        "only A ✓",
        "only B ✓",
        "McNemar p",
        "n for 80% power",
    ]
    align = ["l"] * 3 + ["r"] * 5
    rows = [
        [
            p.dataset,
            p.first,
            p.second,
            str(p.common),
            str(p.first_only),
            str(p.second_only),
            _p(p.p_value),
            _power(p.problems_for_power),
        ]
        for p in pairs
    ]
    notes = ["A and B: two strategies on the problems both answered (first attempt)"]
    notes += [_MCNEMAR_NOTE, _POWER_NOTE]
    return TextTable(title, headers, rows, align, notes)


def diagnostics_table(diagnostics: Sequence[SearchDiagnostics]) -> TextTable:
    """What the searches did: coverage, each select mode, the reward's AUC, the budget."""
    headers = ["dataset", "strategy", "n", "Test@1 %", "coverage %", "reward %", "visits %"]
    headers += ["vote %", "weighted vote %", "lowest window %", "vote/reward only ✓ (p)"]
    headers += ["AUC pooled", "AUC within (pairs)"]
    headers += ["longer wins"]
    headers += ["done/problem", "cut/problem"]
    headers += ["forced %", "answers/problem", "no answer", "stopped by"]
    align = ["l", "l"] + ["r"] * 17 + ["l"]
    rows = []
    for d in diagnostics:
        modes = []
        for mode in ("reward", "visits", "vote", "weighted-vote", "lowest-window"):
            known = d.select_n[mode]
            cell = _pct(d.select[mode])
            modes.append(cell if known in (0, d.n) else f"{cell} (n={known})")
        within = "–" if d.auc_within is None else f"{d.auc_within:.2f} ({d.within_pairs})"
        p = d.vote_vs_reward_p
        versus = "–" if p is None else f"{d.vote_only}/{d.reward_only} ({_p(p)})"
        rows.append(
            [d.dataset, d.strategy, str(d.n), _pct(d.accuracy), _pct(d.oracle), *modes, versus]
            + ["–" if d.auc_pooled is None else f"{d.auc_pooled:.2f}", within]
            + ["–" if d.length_bias is None else f"{d.length_bias:.2f}"]
            + [_num(d.completed), _num(d.cut), _pct(d.forced), _num(d.distinct)]
            + [str(d.no_answer), ", ".join(f"{k} {v}" for k, v in d.stop_reasons.items())]
        )
    notes = [
        "coverage: some completed rollout is correct (no final choice can do better); "
        "reward/visits/vote: the accuracy each --select mode would have had on the same searches; "
        "weighted vote / lowest window: recorded choosers, not --select modes (answers weighted by "
        "their reward; the rollout whose least confident 32 tokens are the most confident); "
        "vote/reward only ✓: searches where only the vote's / only the reward's choice is right, "
        "with McNemar's exact p",
        "AUC: P(correct rollout's reward > incorrect one's), 0.5 = chance; pooled over all "
        "problems, within = pairs from the same problem (what a final choice needs); longer wins: "
        "P(the longer of two rollouts of a problem has the higher reward), 0.5 = no length bias",
        "done/cut: rollouts per problem that completed an answer / ended without one (sc: its "
        "chains); forced: completed answers the search had to ask for",
    ]
    return TextTable("search diagnostics", headers, rows, align, notes)


def rewards_table(found: Sequence[RewardDiagnostics]) -> TextTable:
    """Each reward applied to the same stored rollouts: its choice's Test@1, AUC, length bias."""
    headers = ["dataset", "strategy", "reward", "n", "Test@1 % (its choice)"]
    headers += ["AUC within (pairs)", "longer wins"]
    rows = [
        [d.dataset, d.strategy, d.reward, str(d.n), _pct(d.accuracy)]
        + ["–" if d.auc_within is None else f"{d.auc_within:.2f} ({d.within_pairs})"]
        + ["–" if d.length_bias is None else f"{d.length_bias:.2f}"]
        for d in found
    ]
    notes = [
        "every --reward re-scores the same completed rollouts from their stored token "
        "confidences; the trees were grown with the run's own reward, so this compares final "
        "choices, not whole searches; n: searches that stored confidences"
    ]
    return TextTable("rewards re-scored", headers, rows, ["l", "l", "l"] + ["r"] * 4, notes)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render_markdown(table: TextTable, *, heading: bool = True) -> str:
    lines = [f"## {table.title}", ""] if heading and table.title else []
    lines.append("| " + " | ".join(_escape(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---:" if a == "r" else ":---" for a in table.align) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_escape(c) for c in row) + " |")
    if table.notes:
        lines.append("")
        lines.extend(table.notes)
    return "\n".join(lines) + "\n"


def file_label(path: str | Path, records: Sequence[dict[str, Any]]) -> str:
    """How a results file is named in a comparison: its model when it holds one, else its name."""
    names = {str((r.get("model") or {}).get("name") or "") for r in records}
    names.discard("")
    return names.pop() if len(names) == 1 else Path(path).stem


def markdown_report(
    tables: Sequence[TextTable],
    *,
    datasets: Sequence[Dataset],
    model: ModelRef,
    options: BenchOptions,
    strategies: Sequence[StrategySpec],
    results: Path,
    backend: str = "",
    command: str = "",
) -> str:
    """A self-describing Markdown report: the tables plus what produced them."""
    lines = ["# marco bench", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines.append(f"- model: {model.name} (`{Path(model.file).name}`, sha256 `{model.sha256}`)")
    machine = f"{platform.system()} {platform.machine()}, {_cpu_count()} CPUs"
    lines.append(f"- machine: {machine}" + (f"; backend {backend}" if backend else ""))
    lines.append(f"- strategies: {', '.join(s.name for s in strategies)}")
    # The search settings that are not the library's defaults (max tokens is listed already).
    defaults = SearchConfig().to_json()
    search = {
        k: v for k, v in options.search.to_json().items() if v != defaults[k] and k != "max_tokens"
    }
    lines.append(
        f"- samples {options.samples}, seed {options.seed}, max tokens {options.max_tokens}, "
        f"temperature {options.temperature}, system prompt {options.system}"
        + (f", search {search}" if search else "")
    )
    for ds in datasets:
        lines.append(
            f"- dataset {ds.name}: {len(ds.problems)} of {ds.total} problems "
            f"(`{Path(ds.path).name}`, sha256 `{ds.sha256[:12]}…`)"
            + (f"; {ds.attribution}" if ds.attribution else "")
        )
    lines += [f"- results: `{results}`", ""]
    lines.append(render_markdown(tables[0], heading=False))
    lines += [render_markdown(table) for table in tables[1:]]
    return "\n".join(lines)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
