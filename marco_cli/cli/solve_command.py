"""`marco solve`: the answer on stdout, the thought (or the search tree) on stderr."""

from __future__ import annotations

import json
from typing import Annotated

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
    read_text_argument,
)
from marco_cli.cli.search_settings import (
    ActionOpt,
    BranchOpt,
    EarlyStopOpt,
    ExplorationOpt,
    IterationsOpt,
    ParallelOpt,
    RewardOpt,
    SaveTreeOpt,
    SelectOpt,
    TimeLimitOpt,
    TreeOpt,
)
from marco_cli.errors import ExitCode, Interrupted
from marco_cli.ui.console import stderr_console, write_result


@app.command()
def solve(
    question: Annotated[
        str | None, typer.Argument(help="The question; '-' or nothing reads it from stdin.")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", "-s", help="cot (chain of thought) or mcts.")
    ] = None,
    reflect: Annotated[
        bool | None,
        typer.Option(
            "--reflect/--no-reflect", help="Make the model rethink once it closes its thought."
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="System prompt: zh (Marco-o1's own) or en.")
    ] = None,
    hide_thought: Annotated[
        bool, typer.Option("--hide-thought", help="Do not stream the thought to stderr.")
    ] = False,
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
    iterations: IterationsOpt = None,
    branch: BranchOpt = None,
    exploration: ExplorationOpt = None,
    action: ActionOpt = None,
    select: SelectOpt = None,
    early_stop: EarlyStopOpt = None,
    time_limit: TimeLimitOpt = None,
    reward: RewardOpt = None,
    parallel: ParallelOpt = None,
    tree: TreeOpt = None,
    save_tree: SaveTreeOpt = None,
) -> None:
    """Answer a question, thinking step by step (cot) or searching over reasoning paths (mcts)."""
    from marco_cli.cli.session import command_prompts, command_settings, open_engine
    from marco_cli.solve import SolveOptions
    from marco_cli.solve import solve as run_solve
    from marco_cli.ui.stream import ThoughtStream

    settings = command_settings(
        "solve",
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
            "strategy": strategy,
            "reflect": reflect,
            "system": system,
            "iterations": iterations,
            "branch": branch,
            "exploration": exploration,
            "action": action,
            "select": select,
            "early_stop": early_stop,
            "time_limit": time_limit,
            "reward": reward,
        },
        config,
    )
    text = read_text_argument(question)
    solve_prompts = command_prompts("solve", settings)
    options = SolveOptions(
        strategy=settings["strategy"],
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"],
        seed=settings["seed"],
        reflect=settings["reflect"],
        system=settings["system"],
    )
    if options.strategy == "mcts":
        from dataclasses import replace

        from marco_cli.cli.search_settings import run_search, search_config

        config = search_config(
            settings, max_tokens=max_tokens, temperature=temperature, parallel=parallel
        )
        options = replace(options, search=config)
        run_search(
            open_engine(settings),
            text,
            options,
            solve_prompts,
            json_out=json_out,
            tree=tree,
            save_tree=save_tree,
        )
        return
    console = stderr_console()
    stream = None
    if console.is_terminal and not hide_thought:
        stream = ThoughtStream(console, solve_prompts["reflection"])
    engine = open_engine(settings)
    try:
        result = run_solve(engine, text, options, solve_prompts, on_text=stream)
    except Interrupted as exc:
        if stream is None and exc.partial:
            console.print(exc.partial, markup=False)
        raise
    finally:
        if stream is not None:
            stream.close()
        engine.close()

    if json_out:
        write_result(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        write_result(result.answer)
    if not result.complete:
        console.print(
            "marco: the model stopped before closing its answer "
            f"({result.generated_tokens} tokens, "
            "the --max-tokens budget); the answer above is partial",
            markup=False,
        )
        raise typer.Exit(ExitCode.INCOMPLETE)
