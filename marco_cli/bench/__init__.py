"""`marco bench` as a library: datasets, answer checking, the results store, the runner,
summaries and tables, chrF, and the speed and translation suites.

Everything the CLI does can be done from here:

    from marco_cli.bench import load_dataset, parse_strategies, BenchOptions, ResultStore, run_bench

    ds = load_dataset("mgsm-en", limit=20)
    with ResultStore("results.jsonl", resume=True) as store:
        outcome = run_bench(engine, [ds], parse_strategies("cot,mcts-step"), store,
                            options=BenchOptions(), prompts=prompts, model=model_ref)
    print(render_markdown(summary_table(summarize(outcome.records))))
"""

from __future__ import annotations

from marco_cli.answers import answers_match, extract_answer, parse_number
from marco_cli.bench.attempts import BenchOptions, ModelRef, plan_options, solve_options_for
from marco_cli.bench.chrf import chrf_corpus, chrf_sentence
from marco_cli.bench.datasets import (
    MGSM_LANGUAGES,
    Dataset,
    Problem,
    load_dataset,
    load_datasets,
    parse_ids,
    read_problems,
    select_problems,
)
from marco_cli.bench.diagnostics import (
    RewardDiagnostics,
    SearchDiagnostics,
    as_chosen,
    compare_rewards,
    diagnose,
    rank_auc,
)
from marco_cli.bench.report import (
    TextTable,
    comparison_table,
    diagnostics_table,
    file_label,
    markdown_report,
    paired_table,
    render_markdown,
    rewards_table,
    summary_table,
)
from marco_cli.bench.resume import check_resume
from marco_cli.bench.runner import AttemptDone, BenchOutcome, run_bench
from marco_cli.bench.stats import (
    Comparison,
    Paired,
    Summary,
    compare,
    mcnemar_exact,
    paired,
    summarize,
    wilson_interval,
)
from marco_cli.bench.store import (
    ResultsLockedError,
    ResultStore,
    default_results_path,
    read_records,
    record_key,
)
from marco_cli.bench.strategies import STRATEGY_BASES, StrategySpec, parse_strategies

__all__ = [
    "MGSM_LANGUAGES",
    "STRATEGY_BASES",
    "AttemptDone",
    "BenchOptions",
    "BenchOutcome",
    "Comparison",
    "Dataset",
    "ModelRef",
    "Paired",
    "Problem",
    "ResultStore",
    "ResultsLockedError",
    "RewardDiagnostics",
    "SearchDiagnostics",
    "StrategySpec",
    "Summary",
    "TextTable",
    "answers_match",
    "check_resume",
    "chrf_corpus",
    "chrf_sentence",
    "compare",
    "compare_rewards",
    "comparison_table",
    "default_results_path",
    "as_chosen",
    "diagnose",
    "diagnostics_table",
    "extract_answer",
    "file_label",
    "load_dataset",
    "load_datasets",
    "markdown_report",
    "mcnemar_exact",
    "paired",
    "paired_table",
    "parse_ids",
    "parse_number",
    "parse_strategies",
    "plan_options",
    "rank_auc",
    "read_problems",
    "read_records",
    "record_key",
    "render_markdown",
    "rewards_table",
    "run_bench",
    "select_problems",
    "solve_options_for",
    "summarize",
    "summary_table",
    "wilson_interval",
]
