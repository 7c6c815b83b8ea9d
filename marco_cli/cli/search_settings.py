"""The search side of `marco solve --strategy mcts`: its options, live tree and output.

`marco solve` declares these options and hands over to `run_search` for strategy mcts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from marco_cli.errors import ExitCode, MarcoError, UsageError


def budget_options(iterations: int, branch: int, early_stop: int) -> tuple[Any, Any, Any]:
    """--iterations, --branch and --early-stop, whose help states the command's own defaults
    (the CLI does not import the search to read them; tests check they agree)."""
    return (
        Annotated[
            int | None,
            typer.Option(
                "--iterations", min=1, help=f"mcts: search iterations (default {iterations})."
            ),
        ],
        Annotated[
            int | None,
            typer.Option(
                "--branch", min=1, help=f"mcts: children per expansion (default {branch})."
            ),
        ],
        Annotated[
            int | None,
            typer.Option(
                "--early-stop",
                min=0,
                help=f"mcts: stop once this many answers agree (default {early_stop}; 0 off).",
            ),
        ],
    )


IterationsOpt, BranchOpt, EarlyStopOpt = budget_options(iterations=16, branch=3, early_stop=5)
ExplorationOpt = Annotated[
    float | None,
    typer.Option("--exploration", min=0.0, help="mcts: UCT exploration constant (default √2)."),
]
ActionOpt = Annotated[
    str | None,
    typer.Option("--action", help="mcts: action size: step (default), mini-64 or mini-32."),
]
SelectOpt = Annotated[
    str | None,
    typer.Option("--select", help="mcts: final answer by reward (default), visits or vote."),
]
TimeLimitOpt = Annotated[
    float | None,
    typer.Option("--time-limit", min=0.001, help="mcts: stop the search after this many seconds."),
]
ParallelOpt = Annotated[
    int | None,
    typer.Option(
        "--parallel",
        min=1,
        help="mcts: iterations in flight at once (default: about 8 sequences; 1 = one at a time).",
    ),
]
RewardOpt = Annotated[str | None, typer.Option("--reward", help="mcts: path reward: confidence.")]
TreeOpt = Annotated[
    bool | None,
    typer.Option(
        "--tree/--no-tree",
        help="mcts: keep the live tree after the search (default on a terminal) / hide it; "
        "when stderr is not a terminal, --tree prints the final tree once.",
    ),
]
SaveTreeOpt = Annotated[
    Path | None,
    typer.Option(
        "--save-tree", help="mcts: write the whole search tree to this JSON file (see marco show)."
    ),
]

SEARCH_KEYS = (
    "iterations",
    "branch",
    "exploration",
    "action",
    "select",
    "reward",
    "early_stop",
    "time_limit",
)


def search_config(
    settings: dict[str, Any],
    *,
    max_tokens: int | None,
    temperature: float | None,
    parallel: int | None = None,
    defaults: dict[str, Any] | None = None,
) -> Any:
    """A SearchConfig from resolved settings over `defaults` (the command's own SearchConfig
    fields; None: the search's). `max_tokens` and `temperature` are the command-line flags
    only: for a search they mean the whole search's token budget and the children's sampling
    temperature, not cot's or translate's per-answer values."""
    from marco_cli.search import SearchConfig

    values: dict[str, Any] = dict(defaults or {})
    values.update({k: settings[k] for k in SEARCH_KEYS if settings.get(k) is not None})
    if max_tokens is not None:
        values["max_tokens"] = max_tokens
    if temperature is not None:
        values["temperature"] = temperature
    if parallel is not None:
        values["parallel"] = parallel
    if settings.get("seed") is not None:
        values["seed"] = settings["seed"]
    if settings.get("reflect") is not None:
        values["reflect"] = bool(settings["reflect"])
    config = SearchConfig(**values)
    config.validate()
    return config


def run_search(
    engine: Any,
    question: str,
    options: Any,
    prompts: dict[str, Any],
    *,
    json_out: bool,
    tree: bool | None,
    save_tree: Path | None,
) -> None:
    """Run the search with the live tree on a terminal, write the answer, save the tree, and
    exit 130 when interrupted or 3 when no rollout completed."""
    from marco_cli.solve import solve as run_solve
    from marco_cli.ui.console import stderr_console, write_result
    from marco_cli.ui.tree import LiveTree, print_tree

    console = stderr_console()
    if save_tree is not None and not save_tree.parent.is_dir():
        engine.close()
        raise UsageError(f"cannot save the tree to {save_tree}: its folder does not exist")
    live = LiveTree(console, keep=tree is not False) if console.is_terminal else None
    try:
        if live is not None:
            live.start()
        result = run_solve(engine, question, options, prompts, on_event=live)
    finally:
        if live is not None:
            live.stop()
        engine.close()
    searched = result.tree  # the SearchResult
    if save_tree is not None:
        _save(save_tree, searched.to_json())
    if live is None and tree:
        print_tree(console, searched.to_json())

    if json_out:
        write_result(json.dumps(result.to_json(), ensure_ascii=False))
    elif result.complete:
        write_result(result.answer)
    interrupted = bool(result.search and result.search.get("interrupted"))
    if not result.complete:
        why = "interrupted before any" if interrupted else "the search completed no"
        console.print(
            f"marco: {why} rollout reached an answer ({result.generated_tokens} tokens, "
            f"stopped: {result.finish_reason}); the best partial path:",
            markup=False,
        )
        console.print(searched.text.strip() or "(nothing generated)", markup=False, style="dim")
    elif interrupted:
        console.print("marco: interrupted; the answer above is the best found so far", markup=False)
    if interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)
    if not result.complete:
        raise typer.Exit(ExitCode.INCOMPLETE)


def _save(path: Path, document: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:
        raise MarcoError(f"cannot write the tree to {path}: {exc.strerror or exc}") from None
