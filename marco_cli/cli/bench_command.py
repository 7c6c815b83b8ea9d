"""`marco bench`: accuracy (MGSM, CoT vs MCTS), speed and translation suites; `bench report`.

Thin: gathers options, calls `marco_cli.bench`, renders. Tables go to stdout (a Rich table on a
terminal, Markdown otherwise), progress and notes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from marco_cli.cli import app
from marco_cli.cli.options import (
    ConfigOpt,
    CtxOpt,
    GpuLayersOpt,
    JsonOpt,
    MaxTokensOpt,
    ModelOpt,
    PromptsOpt,
    SeedOpt,
    TemperatureOpt,
    ThreadsOpt,
    VerboseOpt,
)
from marco_cli.cli.search_settings import (
    BranchOpt,
    EarlyStopOpt,
    ExplorationOpt,
    IterationsOpt,
    SelectOpt,
    TimeLimitOpt,
)
from marco_cli.errors import ExitCode, Interrupted, UsageError
from marco_cli.ui.console import stderr_console, write_result

bench_app = typer.Typer(
    name="bench",
    help="Benchmark a model: MGSM accuracy of CoT vs MCTS (the paper's table), speed, translation.",
    invoke_without_command=True,
    add_completion=False,
)
app.add_typer(bench_app, name="bench")

SUITES = ("math", "speed", "translate")
DEFAULT_STRATEGIES = "cot,mcts-step"

ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Also write the table(s) as Markdown to FILE.md.")
]


@bench_app.callback(invoke_without_command=True)
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
        str, typer.Option("--suite", help="math (accuracy), speed, or translate.")
    ] = "math",
    strategies: Annotated[
        str | None,
        typer.Option(
            "--strategies",
            "-s",
            help="Comma-separated: cot, mcts-step, mcts-mini64, mcts-mini32, each optionally "
            f"with -reflect/-noreflect. Default: {DEFAULT_STRATEGIES}.",
        ),
    ] = None,
    reflect: Annotated[
        bool | None,
        typer.Option("--reflect/--no-reflect", help="Reflection for strategies without a suffix."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="First N problems.")] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip N problems.")] = 0,
    ids: Annotated[
        str | None, typer.Option("--ids", help="Problem ids (1-based rows), e.g. 1,4,10-20.")
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", "-k", min=1, help="Attempts per problem (Test@k).")
    ] = 1,
    iterations: IterationsOpt = None,
    branch: BranchOpt = None,
    exploration: ExplorationOpt = None,
    select: SelectOpt = None,
    early_stop: EarlyStopOpt = None,
    time_limit: TimeLimitOpt = None,
    search_tokens: Annotated[
        int | None,
        typer.Option(
            "--search-tokens",
            min=1,
            help="MCTS: token budget of a whole search (default: none; --iterations bounds it). "
            "--max-tokens bounds each reasoning path.",
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="System prompt: zh (Marco-o1's own) or en.")
    ] = None,
    src: Annotated[
        str | None, typer.Option("--src", help="translate suite: source language (default auto).")
    ] = None,
    tgt: Annotated[
        str | None, typer.Option("--tgt", help="translate suite: target language (default en).")
    ] = None,
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
            help="Results file (JSON Lines). Default: <user data dir>/marco/bench/"
            "<model>__<datasets>.jsonl.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue (or extend) an existing results file.")
    ] = False,
    report: ReportOpt = None,
    json_out: JsonOpt = False,
    model: ModelOpt = None,
    max_tokens: MaxTokensOpt = None,
    temperature: TemperatureOpt = None,
    seed: SeedOpt = None,
    n_gpu_layers: GpuLayersOpt = None,
    ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    prompts: PromptsOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = None,
) -> None:
    """Run strategies over a benchmark and print the summary table (see `marco bench report`)."""
    if context.invoked_subcommand is not None:
        return
    if suite not in SUITES:
        raise UsageError(f"unknown --suite {suite!r}: use one of {', '.join(SUITES)}")
    from marco_cli.cli.session import command_settings

    settings = command_settings(
        "bench",
        {
            "model": model,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "n_gpu_layers": n_gpu_layers,
            "ctx": ctx,
            "threads": threads,
            "prompts": prompts,
            "verbose": verbose,
            "reflect": reflect,
            "system": system,
            "iterations": iterations,
            "branch": branch,
            "exploration": exploration,
            "select": select,
            "early_stop": early_stop,
            "time_limit": time_limit,
        },
        config,
    )
    search = {
        key: settings.get(key)
        for key in ("iterations", "branch", "exploration", "select", "early_stop", "time_limit")
    }
    search["max_tokens"] = search_tokens
    if suite == "speed":
        # Only explicit flags change the speed suite's own search (branch 4, mini-32, ...).
        flags = {
            "iterations": iterations,
            "branch": branch,
            "exploration": exploration,
            "select": select,
            "early_stop": early_stop,
            "time_limit": time_limit,
            "max_tokens": search_tokens,
            **_speed_strategy(strategies),
        }
        _speed(
            settings=settings,
            search=flags,
            tokens=max_tokens,
            report=report,
            json_out=json_out,
        )
        return
    if suite == "translate":
        _translate(
            settings=settings,
            datasets=dataset,
            strategies=strategies,
            limit=limit,
            offset=offset,
            ids=ids,
            src=src,
            tgt=tgt,
            glossary=glossary,
            search=search,
            report=report,
            json_out=json_out,
        )
        return
    code = _math(
        settings=settings,
        datasets=dataset or ["mgsm-en"],
        strategies=strategies or DEFAULT_STRATEGIES,
        limit=limit,
        offset=offset,
        ids=ids,
        samples=samples,
        search=search,
        out=out,
        resume=resume,
        report=report,
        json_out=json_out,
        command=_command_line(),
    )
    if code:
        raise typer.Exit(code)


@bench_app.command("report")
def report_command(
    results: Annotated[Path, typer.Argument(help="A results file (JSON Lines) of marco bench.")],
    other: Annotated[
        Path | None, typer.Argument(help="A second results file to compare side by side.")
    ] = None,
    report: ReportOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-render the summary table of a results file, or compare two files (e.g. two models)."""
    from marco_cli.bench import (
        compare,
        comparison_table,
        file_label,
        read_records,
        render_markdown,
        summarize,
        summary_table,
    )

    left = read_records(results)
    if other is None:
        summaries = summarize(left)
        table = summary_table(summaries, title=f"marco bench: {results.name}")
        data: Any = {"results": str(results), "summary": [s.to_json() for s in summaries]}
        tables = [table]
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


def _print_tables(tables: list[Any]) -> None:
    """A Rich table on a terminal; Markdown (the same rows) when stdout is piped."""
    from marco_cli.bench import render_markdown, render_rich

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
    settings: dict[str, Any],
    datasets: list[str],
    strategies: str,
    limit: int | None,
    offset: int,
    ids: str | None,
    samples: int,
    search: dict[str, Any],
    out: Path | None,
    resume: bool,
    report: Path | None,
    json_out: bool,
    command: str,
) -> int:
    from marco_cli.bench import (
        BenchOptions,
        BenchProgress,
        ModelRef,
        PlainProgress,
        ResultStore,
        check_resume,
        default_results_path,
        load_datasets,
        markdown_report,
        parse_ids,
        parse_strategies,
        plan_options,
        run_bench,
        summarize,
        summary_table,
    )
    from marco_cli.cli.session import command_prompts, open_engine
    from marco_cli.files import file_sha256
    from marco_cli.models import resolve_model

    console = stderr_console()
    loaded = load_datasets(datasets, ids=parse_ids(ids), offset=offset, limit=limit)
    specs = parse_strategies(strategies, reflect=bool(settings.get("reflect")))
    options = BenchOptions(
        samples=samples,
        seed=settings["seed"] if settings.get("seed") is not None else 0,
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"],
        system=settings["system"],
        search=search,
    )
    if samples > 1 and options.temperature == 0 and any(s.strategy == "cot" for s in specs):
        console.print(
            f"marco: note: --samples {samples} with --temperature 0: the cot attempts of a "
            "problem are identical (greedy); pass e.g. --temperature 0.7 for independent ones",
            markup=False,
        )
    planned = plan_options(loaded, specs, options)
    solve_prompts = command_prompts("solve", settings)
    resolved = resolve_model(settings["model"])
    path = out or default_results_path(resolved.name, [d.name for d in loaded])
    store = ResultStore(path, resume=resume).open()
    try:
        if store.repaired:
            console.print(f"marco: dropped a truncated last record in {path}", markup=False)
        ref = ModelRef(resolved.name, str(resolved.path), file_sha256(resolved.path))
        check_resume(store, ref, planned, loaded)
        if not json_out:
            console.print(f"results: {path}", markup=False, highlight=False)
        progress: Any = None
        if console.is_terminal:
            progress = BenchProgress(console)
            for ds in loaded:
                for spec in specs:
                    progress.add(ds.name, spec.name, len(ds.problems) * samples)
        elif settings.get("verbose"):
            progress = PlainProgress(console)
        engine = open_engine(settings)
        backend = getattr(engine, "backend", "")
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(_sigterm_as_interrupt())
                if isinstance(progress, BenchProgress):
                    stack.enter_context(progress)
                outcome = run_bench(
                    engine,
                    loaded,
                    specs,
                    store,
                    options=options,
                    prompts=solve_prompts,
                    model=ref,
                    on_progress=progress,
                )
        except (KeyboardInterrupt, Interrupted):
            console.print(
                f"marco: interrupted; {len(store)} records are safe in {path}: run the same "
                "command with --resume to continue",
                markup=False,
            )
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        finally:
            engine.close()
    finally:
        store.close()

    summaries = summarize(outcome.records)
    table = summary_table(summaries)
    if report is not None:
        _write_report(
            report,
            markdown_report(
                table,
                datasets=loaded,
                model=ref,
                options=options,
                strategies=specs,
                results=path,
                backend=backend,
                command=command,
            ),
        )
    if json_out:
        write_result(
            json.dumps(
                {
                    "results": str(path),
                    "model": ref.to_json(),
                    "new": outcome.new,
                    "resumed": outcome.skipped,
                    "errors": outcome.errors,
                    "summary": [s.to_json() for s in summaries],
                },
                ensure_ascii=False,
            )
        )
    else:
        _print_tables([table])
    errors = sum(1 for r in outcome.records if r.get("error"))
    if errors:
        console.print(
            f'marco: {errors} attempts failed (see "error" in {path}); they count as wrong and '
            "are retried by --resume",
            markup=False,
        )
        return ExitCode.PARTIAL
    return ExitCode.OK


def _speed(
    *,
    settings: dict[str, Any],
    search: dict[str, Any],
    tokens: int | None,
    report: Path | None,
    json_out: bool,
) -> None:
    from marco_cli.bench import render_markdown
    from marco_cli.bench.speed import run_speed_suite, speed_table
    from marco_cli.cli.session import command_prompts, open_engine

    solve_prompts = command_prompts("solve", settings)
    console = stderr_console()
    engine = open_engine(settings)
    try:
        result = run_speed_suite(
            engine,
            solve_prompts,
            decode_tokens=tokens,
            seed=settings["seed"] if settings.get("seed") is not None else 0,
            search=search,
            system=settings["system"],
            on_step=(lambda step: console.print(f"measuring: {step}", markup=False))
            if console.is_terminal
            else None,
        )
    finally:
        engine.close()
    table = speed_table(result)
    if report is not None:
        _write_report(report, render_markdown(table))
    if json_out:
        write_result(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_tables([table])


def _translate(
    *,
    settings: dict[str, Any],
    datasets: list[str] | None,
    strategies: str | None,
    limit: int | None,
    offset: int,
    ids: str | None,
    src: str | None,
    tgt: str | None,
    glossary: bool | None,
    search: dict[str, Any],
    report: Path | None,
    json_out: bool,
) -> None:
    from marco_cli.bench import parse_ids, render_markdown, select_problems
    from marco_cli.bench.translate_suite import (
        read_translation_set,
        run_translate_suite,
        translate_table,
    )
    from marco_cli.cli.session import command_prompts, open_engine
    from marco_cli.languages import detect_language, parse_language

    if not datasets or len(datasets) != 1:
        raise UsageError(
            "--suite translate needs one --dataset FILE.tsv "
            "(source<TAB>reference(s)[<TAB>must<TAB>must-not])"
        )
    items = select_problems(
        read_translation_set(datasets[0]), ids=parse_ids(ids), offset=offset, limit=limit
    )
    if not items:
        raise UsageError("the selection (--ids/--offset/--limit) holds no lines")
    source_language = parse_language(src or "auto", "--src", allow_auto=True)
    if source_language is None:
        source_language = detect_language("\n".join(item.source for item in items))
    target_language = parse_language(tgt or "en", "--tgt")
    names = [s.strip() for s in (strategies or "direct,cot").split(",") if s.strip()]
    modes = (False, True) if glossary is None else (glossary,)
    search_config = None
    if "mcts" in names:

        from marco_cli.search import SearchConfig
        from marco_cli.translate import SEARCH_DEFAULTS

        overrides = {k: v for k, v in search.items() if v is not None}
        search_config = SearchConfig(**{**SEARCH_DEFAULTS, **overrides})
        search_config.validate()
    translate_prompts = command_prompts("translate", settings)
    console = stderr_console()
    engine = open_engine(settings)
    try:
        results = run_translate_suite(
            engine,
            items,
            translate_prompts,
            src=source_language,
            tgt=target_language,
            strategies=names,
            glossary_modes=modes,
            max_tokens=settings["max_tokens"],
            temperature=settings["temperature"],
            seed=settings["seed"] if settings.get("seed") is not None else 0,
            search=search_config,
            on_variant=(lambda name: console.print(f"translating: {name}", markup=False))
            if console.is_terminal
            else None,
        )
    finally:
        engine.close()
    table = translate_table(results, title=f"translate: {Path(datasets[0]).name}")
    if report is not None:
        _write_report(report, render_markdown(table))
    if json_out:
        write_result(json.dumps([r.to_json() for r in results], ensure_ascii=False))
    else:
        _print_tables([table])
