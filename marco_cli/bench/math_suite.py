"""The accuracy suite (`marco bench --suite math`) from start to end, as a library.

    suite = prepare_math_suite(["mgsm-en"], "cot,mcts-step", BenchOptions(), prompts,
                               lambda: model_ref)
    try:
        outcome = suite.run(engine)
    finally:
        suite.close()
    print(suite.markdown(outcome))

Preparing does everything that may fail before a model is loaded: it reads the data sets,
parses the strategies, checks the options and opens the results file, refusing a resume that
would mix models, data or options.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from marco_cli.bench.attempts import BenchOptions, ModelRef, plan_options
from marco_cli.bench.datasets import (
    EVERY_PROBLEM,
    Dataset,
    Selection,
    load_datasets,
    parse_ids,
)
from marco_cli.bench.report import TextTable, markdown_report, paired_table, summary_table
from marco_cli.bench.resume import check_resume
from marco_cli.bench.runner import AttemptDone, BenchOutcome, run_bench
from marco_cli.bench.stats import Summary, paired, summarize
from marco_cli.bench.store import ResultStore, default_results_path
from marco_cli.bench.strategies import StrategySpec, parse_strategies
from marco_cli.bench.suite import SuiteReport
from marco_cli.engine.base import Engine
from marco_cli.prompts import SolvePrompts


@dataclass
class MathSuite:
    """A prepared accuracy run; `close()` it (the results file stays locked until then)."""

    datasets: list[Dataset]
    strategies: list[StrategySpec]
    options: BenchOptions
    prompts: SolvePrompts
    model: ModelRef
    store: ResultStore
    command: str = ""
    """The command line the Markdown report names."""
    backend: str = ""
    """The engine's backend, once the suite has run."""

    @property
    def path(self) -> Path:
        return self.store.path

    def attempts(self, dataset: Dataset) -> int:
        """Attempts per strategy on `dataset` (problems times samples)."""
        return len(dataset.problems) * self.options.samples

    def run(
        self,
        engine: Engine,
        *,
        lanes: Sequence[Engine] = (),
        on_event: Callable[[AttemptDone], None] | None = None,
    ) -> BenchOutcome:
        """Run every attempt the results file does not hold yet (with `lanes`, more engines:
        one problem in flight on each, see `run_bench`)."""
        self.backend = engine.backend
        return run_bench(
            engine,
            self.datasets,
            self.strategies,
            self.store,
            options=self.options,
            prompts=self.prompts,
            model=self.model,
            on_progress=on_event,
            lanes=lanes,
        )

    def summaries(self, outcome: BenchOutcome) -> list[Summary]:
        return summarize(outcome.records)

    def tables(self, outcome: BenchOutcome) -> list[TextTable]:
        """The summary table, then (when two or more strategies answered the same problems)
        their paired comparison with McNemar's test."""
        tables = [summary_table(self.summaries(outcome))]
        pairs = paired(outcome.records)
        if pairs:
            tables.append(paired_table(pairs))
        return tables

    def markdown(self, outcome: BenchOutcome) -> str:
        """The report: the tables with the model, data, options and command behind it."""
        return markdown_report(
            self.tables(outcome),
            datasets=self.datasets,
            model=self.model,
            options=self.options,
            strategies=self.strategies,
            results=self.path,
            backend=self.backend,
            command=self.command,
        )

    def report(self, outcome: BenchOutcome) -> SuiteReport:
        failed = sum(1 for r in outcome.records if r.get("error"))
        data = {
            "results": str(self.path),
            "model": self.model.to_json(),
            "new": outcome.new,
            "resumed": outcome.skipped,
            "errors": outcome.errors,
            "summary": [s.to_json() for s in self.summaries(outcome)],
            "paired": [p.to_json() for p in paired(outcome.records)],
        }
        return SuiteReport(
            self.tables(outcome),
            data,
            self.markdown(outcome),
            failed,
            f'{failed} attempts failed (see "error" in {self.path}); they count as wrong and '
            "are retried by --resume",
        )

    def interrupted_note(self) -> str:
        return (
            f"{len(self.store)} records are safe in {self.path}: run the same command with "
            "--resume to continue"
        )

    def close(self) -> None:
        self.store.close()


def prepare_math_suite(
    datasets: Sequence[str],
    strategies: str,
    options: BenchOptions,
    prompts: SolvePrompts,
    model: Callable[[], ModelRef],
    *,
    selection: Selection = EVERY_PROBLEM,
    reflect: bool = False,
    results: Path | None = None,
    resume: bool = False,
    command: str = "",
    on_note: Callable[[str], None] | None = None,
) -> MathSuite:
    """Load and check everything for a run (see the module docstring). `model` names the
    model once the options are checked (finding it may mean a download). `reflect` is the
    reflection of strategies named without -reflect/-noreflect; `results` defaults to a file
    named for the model and data sets in the user data folder; `on_note` hears advice and
    repairs (a dropped truncated record); `command` is the command line the report names."""
    note = on_note or (lambda _message: None)
    loaded = load_datasets(
        list(datasets),
        ids=parse_ids(selection.ids),
        offset=selection.offset,
        limit=selection.limit,
    )
    specs = parse_strategies(strategies, reflect=reflect)
    if options.samples > 1 and options.temperature == 0 and any(s.strategy == "cot" for s in specs):
        note(
            f"note: --samples {options.samples} with --temperature 0: the cot attempts of a "
            "problem are identical (greedy); pass e.g. --temperature 0.7 for independent ones"
        )
    planned = plan_options(loaded, specs, options)
    ref = model()
    path = results or default_results_path(ref.name, [d.name for d in loaded])
    store = ResultStore(path, resume=resume).open()
    try:
        if store.repaired:
            note(f"dropped a truncated last record in {path}")
        check_resume(store, ref, planned, loaded)
    except BaseException:
        store.close()
        raise
    return MathSuite(loaded, specs, options, prompts, ref, store, command)
