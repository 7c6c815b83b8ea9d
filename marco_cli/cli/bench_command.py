"""`marco bench`: accuracy (MGSM, CoT vs MCTS), speed and translation suites; `bench report`.

Thin: gathers options, calls `marco_cli.bench`, renders. Tables go to stdout (a Rich table on a
terminal, Markdown otherwise), progress and notes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from marco_cli.cli import app
from marco_cli.cli.options import CommandFlags, choice_type, plain, shared_option, takes_settings
from marco_cli.errors import Interrupted, Outcome, UsageError
from marco_cli.settings import Settings
from marco_cli.ui.console import note, stderr_console, write_result

if TYPE_CHECKING:  # imported when a command runs, so that `marco --help` stays quick
    from marco_cli.bench import AttemptDone, TextTable
    from marco_cli.bench.datasets import Selection
    from marco_cli.bench.suite import Event, Result, Suite
    from marco_cli.engine.base import Engine
    from marco_cli.search import SearchConfig

bench_app = typer.Typer(
    name="bench",
    help="Benchmark a model: MGSM accuracy of CoT vs MCTS (the paper's table), speed, translation.",
    invoke_without_command=True,
    add_completion=False,
)
app.add_typer(bench_app, name="bench")

SUITES = ("math", "speed", "translate")
DEFAULT_STRATEGIES = "cot,mcts-step"

JsonOpt = Annotated[bool | None, shared_option("json", "bench")]

ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Also write the table(s) as Markdown to FILE.md.")
]


@bench_app.callback(invoke_without_command=True)
@takes_settings("bench")
def bench(
    context: typer.Context,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            "-d",
            help="mgsm-en, mgsm-zh (any MGSM language), or a TSV/JSONL file; repeat or "
            "comma-separate for several. Default: mgsm-en.",
        ),
    ] = None,
    suite: Annotated[
        choice_type("suite", SUITES),  # type: ignore[valid-type]
        typer.Option("--suite", help="math (accuracy), speed, or translate.", show_default=False),
    ] = "math",
    strategies: Annotated[
        str | None,
        typer.Option(
            "--strategies",
            "-s",
            help="Comma-separated: cot, mcts-step, mcts-mini64, mcts-mini32, each optionally "
            "with -reflect/-noreflect, and sc or sc-K (self-consistency: majority vote of K "
            f"sampled chains of thought, K=5 for sc). Default: {DEFAULT_STRATEGIES}.",
        ),
    ] = None,
    match_tokens: Annotated[
        bool,
        typer.Option(
            "--match-tokens",
            help="sc samples chains (K per round) until its generated tokens reach those of "
            "the first MCTS strategy in --strategies on the same problem.",
        ),
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="First N problems.")] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip N problems.")] = 0,
    ids: Annotated[
        str | None, typer.Option("--ids", help="Problem ids (1-based rows), e.g. 1,4,10-20.")
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", "-k", min=1, help="Attempts per problem (Test@k).")
    ] = 1,
    glossary: Annotated[
        bool | None,
        typer.Option(
            "--glossary/--no-glossary",
            help="translate suite: only with / without the glossary (default: compare both).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            # no long unbroken path: the help column would cut it with "…"
            help="Results file (JSON Lines). Default: MODEL__DATASETS.jsonl in the bench folder "
            "of marco's data folder (~/.local/share/marco on Linux).",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue (or extend) an existing results file.")
    ] = False,
    report: ReportOpt = None,
    *,
    flags: CommandFlags,
) -> Outcome | None:
    """Run strategies over a benchmark and print the summary table (see `marco bench report`)."""
    if context.invoked_subcommand is not None:
        return None
    from marco_cli.bench.datasets import Selection
    from marco_cli.bench.speed_suite import SPEED_SEARCH, SpeedSuite
    from marco_cli.bench.translate_suite import TranslateSuite
    from marco_cli.cli.search_settings import chosen_search, command_search
    from marco_cli.cli.session import solve_prompts, translate_prompts
    from marco_cli.search import search_config

    settings = flags.resolve()
    suite = plain(suite)
    seed = settings["seed"] if settings.get("seed") is not None else 0
    selection = Selection(ids=ids, offset=offset, limit=limit)
    if suite == "math":
        search = search_config(chosen_search(settings), max_tokens=settings["max_tokens"])
        return _math(
            settings=settings,
            datasets=dataset or ["mgsm-en"],
            strategies=strategies or DEFAULT_STRATEGIES,
            selection=selection,
            samples=samples,
            match_tokens=match_tokens,
            search=search,
            out=out,
            resume=resume,
            report=report,
        )
    if suite == "speed":
        # Only flags change the speed suite's own search (branch 4, mini-32, ...).
        chosen = chosen_search(settings, only_flags=True)
        speed = SpeedSuite(
            solve_prompts(settings),
            decode_tokens=settings.flag("max_tokens"),
            seed=seed,
            search=search_config(chosen, _speed_strategy(strategies), base=SPEED_SEARCH),
            system=settings["system"],
        )
        return _run_on_one_engine(settings, speed, report)
    translate = TranslateSuite.prepare(
        dataset or [],
        translate_prompts(settings),
        selection=selection,
        src=settings["src"],
        tgt=settings["tgt"],
        strategies=strategies,
        glossary=glossary,
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"],
        seed=seed,
        # The translation search, as `marco translate` runs it, with the user's on top.
        search=command_search(settings, "translate"),
        results=out,
        resume=resume,
    )
    return _run_on_one_engine(settings, translate, report)


@bench_app.command("report")
def report_command(
    results: Annotated[Path, typer.Argument(help="A results file (JSON Lines) of marco bench.")],
    other: Annotated[
        Path | None, typer.Argument(help="A second results file to compare side by side.")
    ] = None,
    report: ReportOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also draw a chart to OUT.png or OUT.svg: Test@1 with its 95% interval per "
            "strategy, and Test@1 against generated tokens. Needs the plot extra: "
            "pip install 'marco-cli[plot]'.",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = None,
    diagnostics: Annotated[
        bool,
        typer.Option(
            "--diagnostics",
            help="Also show what the searches did: coverage, each --select mode, the reward's "
            "AUC, how the budget was spent, and every --reward re-scored on the same rollouts.",
        ),
    ] = False,
    choice: Annotated[
        str | None,
        typer.Option(
            "--choice",
            metavar="MODES",
            help="Also score each search by what these final choices took from it (comma-"
            "separated: reward, visits, vote, weighted-vote, lowest-window), as strategies "
            "STRATEGY@MODE beside the others in the summary and the paired tests.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-render the summary table of a results file, or compare two files (e.g. two models)."""
    from marco_cli.bench import (
        as_chosen,
        compare,
        compare_rewards,
        comparison_table,
        diagnose,
        diagnostics_table,
        file_label,
        paired,
        paired_table,
        read_records,
        render_markdown,
        rewards_table,
        summarize,
        summary_table,
    )

    left = read_records(results)
    if choice:
        left = as_chosen(left, [m.strip() for m in choice.split(",") if m.strip()])
    if other is None:
        summaries = summarize(left)
        pairs = paired(left)
        tables = [summary_table(summaries, title=f"marco bench: {results.name}")]
        if pairs:
            tables.append(paired_table(pairs))
        data: Any = {
            "results": str(results),
            "summary": [s.to_json() for s in summaries],
            "paired": [p.to_json() for p in pairs],
        }
        if diagnostics:
            found = diagnose(left)
            rescored = compare_rewards(left)
            if found:
                tables.append(diagnostics_table(found))
            if rescored:
                tables.append(rewards_table(rescored))
            data["diagnostics"] = [d.to_json() for d in found]
            data["rewards"] = [d.to_json() for d in rescored]
    else:
        right = read_records(other)
        a, b = file_label(results, left), file_label(other, right)
        if a == b:
            a, b = results.stem, other.stem
            if a == b:
                a, b = str(results), str(other)
        comparisons = compare(left, right)
        tables = [
            summary_table(summarize(left), title=f"{a} ({results.name})"),
            summary_table(summarize(right), title=f"{b} ({other.name})"),
            comparison_table(comparisons, a, b),
        ]
        data = {
            "left": str(results),
            "right": str(other),
            "comparison": [c.to_json() for c in comparisons],
        }
    if report is not None:
        _write_report(report, "\n".join(render_markdown(t) for t in tables))
    if plot is not None:
        from marco_cli.bench.plot import PlotSeries, plot_summaries

        if other is None:
            series = [PlotSeries(file_label(results, left), summarize(left))]
        else:
            series = [PlotSeries(a, summarize(left)), PlotSeries(b, summarize(right))]
        plot_summaries(series, plot)
        stderr_console().print(f"chart written to {plot}", markup=False)
    if json_out:
        write_result(json.dumps(data, ensure_ascii=False))
    else:
        _print_tables(tables)


# --------------------------------------------------------------------------------------------


def _speed_strategy(strategies: str | None) -> dict[str, Any]:
    """`-s mcts-step-reflect` for the speed suite: its action and reflection switch."""
    if not strategies:
        return {}
    from marco_cli.bench import parse_strategies

    mcts = [s for s in parse_strategies(strategies) if s.strategy == "mcts"]
    if len(mcts) != 1:
        raise UsageError("--suite speed takes one MCTS strategy, e.g. -s mcts-mini32")
    return {"action": mcts[0].action, "reflect": mcts[0].reflect}


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill PID` stops a long bench run like Ctrl-C: finished records stay, a resume hint is
    printed. (A run started in the background with `&` ignores SIGINT.)"""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _command_line() -> str:
    """The command as typed, for the report (empty when marco runs inside another program)."""
    import shlex

    program = Path(sys.argv[0]).name if sys.argv else ""
    if program not in ("marco", "__main__.py"):
        return ""
    return shlex.join(["marco", *sys.argv[1:]])


def _print_tables(tables: list[TextTable]) -> None:
    """A Rich table on a terminal; Markdown (the same rows) when stdout is piped."""
    from marco_cli.bench import render_markdown
    from marco_cli.ui.tables import render_rich

    if sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        for table in tables:
            console.print(render_rich(table))
    else:
        write_result("\n".join(render_markdown(t) for t in tables).rstrip("\n"))


def _write_report(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    stderr_console().print(f"report written to {path}", markup=False)


def _math(
    *,
    settings: Settings,
    datasets: list[str],
    strategies: str,
    selection: Selection,
    samples: int,
    match_tokens: bool,
    search: SearchConfig,
    out: Path | None,
    resume: bool,
    report: Path | None,
) -> Outcome:
    from marco_cli.bench import BenchOptions, ModelRef
    from marco_cli.bench.math_suite import prepare_math_suite
    from marco_cli.cli.session import open_engine, open_lanes, solve_prompts
    from marco_cli.models import ResolvedModel, model_sha256, resolve_model
    from marco_cli.ui.bench_progress import BenchProgress, PeriodicProgress, PlainProgress
    from marco_cli.ui.model_progress import console_reporter

    resolved_once: list[ResolvedModel] = []

    def resolved() -> ResolvedModel:
        """The model, resolved (and announced, downloaded or assembled) once per run."""
        if not resolved_once:
            resolved_once.append(
                resolve_model(
                    settings["model"], reporter=console_reporter(bool(settings.get("verbose")))
                )
            )
        return resolved_once[0]

    concurrency = settings["concurrency"]
    if concurrency > 1 and not settings.get("server"):
        raise UsageError("--concurrency needs --server: a local model runs one problem at a time")
    # The engines of the run, opened once `prepare_math_suite` has checked the options and
    # the data (which is when it asks for `model_ref`), and closed on the way out.
    engines = contextlib.ExitStack()
    served: list[Engine] = []

    def model_ref() -> ModelRef:
        # On a server there is no model file here: the served model's name and the server's
        # address stand for it (no sha256: a server does not publish one).
        if settings.get("server"):
            served.extend(engines.enter_context(open_lanes(settings, concurrency)))
            return ModelRef(served[0].model_name, settings["server"], "")
        model = resolved()
        return ModelRef(model.name, str(model.path), model_sha256(model))

    console = stderr_console()
    options = BenchOptions(
        samples=samples,
        seed=settings["seed"] if settings.get("seed") is not None else 0,
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"],
        system=settings["system"],
        search=search,
        match_tokens=match_tokens,
    )
    with engines:
        suite = prepare_math_suite(
            datasets,
            strategies,
            options,
            solve_prompts(settings),
            model_ref,
            selection=selection,
            reflect=bool(settings.get("reflect")),
            results=out,
            resume=resume,
            command=_command_line(),
            on_note=note,
        )
        engines.callback(suite.close)
        if not settings["json"]:
            console.print(f"results: {suite.path}", markup=False, highlight=False)
        progress: Callable[[AttemptDone], None] | None = None
        if console.is_terminal:
            live = BenchProgress(console)
            for ds in suite.datasets:
                for spec in suite.strategies:
                    live.add(ds.name, spec.name, suite.attempts(ds))
            progress = live
        elif settings.get("verbose"):
            progress = PlainProgress(console)
        elif not settings.get("quiet"):
            progress = PeriodicProgress(console)

        def engine() -> Engine:
            return served[0] if served else engines.enter_context(open_engine(settings, resolved()))

        return _run_suite(settings, suite, engine, progress, report, lanes=served[1:])


def _run_on_one_engine(
    settings: Settings, suite: Suite[str, Result], report: Path | None
) -> Outcome:
    """A suite on one engine, with a line per step it announces on a terminal."""
    from marco_cli.cli.session import open_engine

    with contextlib.ExitStack() as engines:
        engines.callback(suite.close)
        console = stderr_console()
        on_event = (lambda line: console.print(line, markup=False)) if console.is_terminal else None
        return _run_suite(
            settings, suite, lambda: engines.enter_context(open_engine(settings)), on_event, report
        )


def _run_suite(
    settings: Settings,
    suite: Suite[Event, Result],
    engine: Callable[[], Engine],
    on_event: Callable[[Event], None] | None,
    report: Path | None,
    *,
    lanes: Sequence[Engine] = (),
) -> Outcome:
    """Run a prepared suite on the engine `engine()` opens (with `lanes`, more engines), then
    show what it reports: the one way every suite runs. `kill PID` stops it as Ctrl-C does,
    keeping what finished. An `on_event` that is a context manager (a live display) is open
    while the suite runs, and closed before anything else is printed."""
    try:
        with contextlib.ExitStack() as running:
            running.enter_context(_sigterm_as_interrupt())
            opened = engine()  # before a live display, which would draw over its loading line
            if isinstance(on_event, contextlib.AbstractContextManager):
                running.enter_context(on_event)
            result = suite.run(opened, lanes=lanes, on_event=on_event)
    except (KeyboardInterrupt, Interrupted):
        kept = suite.interrupted_note()
        if kept is not None:
            note(f"interrupted; {kept}")
        return Outcome.INTERRUPTED
    shown = suite.report(result)
    if report is not None:
        _write_report(report, shown.markdown)
    if settings["json"]:
        write_result(json.dumps(shown.json, ensure_ascii=False))
    else:
        _print_tables(shown.tables)
    if shown.failed:
        note(shown.failed_note)
        return Outcome.PARTIAL
    return Outcome.OK
