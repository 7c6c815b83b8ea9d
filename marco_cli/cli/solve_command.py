"""`marco solve`: the answer on stdout, the thought (or the search tree) on stderr."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from marco_cli.cli import app
from marco_cli.cli.input import read_text_argument
from marco_cli.cli.options import CommandFlags, takes_settings
from marco_cli.errors import Interrupted, MarcoError, Outcome, UsageError
from marco_cli.ui.console import stderr_console, terminal_safe, write_result

if TYPE_CHECKING:
    from marco_cli.prompts import SolvePrompts
    from marco_cli.reasoning import SolveOptions
    from marco_cli.search import SearchEvent
    from marco_cli.settings import Settings


@app.command()
@takes_settings("solve")
def solve(
    question: Annotated[
        str | None, typer.Argument(help="The question; '-' or nothing reads it from stdin.")
    ] = None,
    hide_thought: Annotated[
        bool, typer.Option("--hide-thought", help="Do not stream the thought to stderr.")
    ] = False,
    tree: Annotated[
        bool | None,
        typer.Option(
            "--tree/--no-tree",
            help="mcts: keep the live tree after the search (default on a terminal) / hide it; "
            "when stderr is not a terminal, --tree prints the final tree once.",
        ),
    ] = None,
    save_tree: Annotated[
        Path | None,
        typer.Option(
            "--save-tree",
            help="mcts: write the whole search tree to this JSON file (see marco show).",
        ),
    ] = None,
    *,
    flags: CommandFlags,
) -> Outcome:
    """Answer a question, thinking step by step (cot) or searching over reasoning paths (mcts)."""
    settings = flags.resolve()
    if save_tree is not None and settings["strategy"] == "mcts":
        _check_tree_file(save_tree)  # before the imports below, which take a while
    from marco_cli.cli.session import open_engine, solve_prompts
    from marco_cli.reasoning import SolveOptions
    from marco_cli.reasoning import solve as run_solve
    from marco_cli.ui.stream import ThoughtStream

    text = read_text_argument(question)
    if "\0" in text:
        # llama.cpp reads the prompt as a C string, which would end at the NUL unseen.
        line = text[: text.index("\0")].count("\n") + 1
        raise UsageError(f"the question has a NUL byte (line {line}); remove it first")
    prompts = solve_prompts(settings)
    options = SolveOptions(
        strategy=settings["strategy"],
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"],
        seed=settings["seed"],
        reflect=settings["reflect"],
        system=settings["system"],
    )
    json_out = bool(settings["json"])
    if options.strategy == "mcts":
        from dataclasses import replace

        from marco_cli.cli.search_settings import command_search

        # A --temperature on the command line also sets the children's sampling temperature.
        search = command_search(settings, temperature=settings.flag("temperature"))
        return _run_search(
            settings,
            text,
            replace(options, search=search),
            prompts,
            json_out=json_out,
            tree=tree,
            save_tree=save_tree,
            quiet=bool(settings.get("quiet")),
        )
    console = stderr_console()
    stream = None
    if console.is_terminal and not hide_thought:
        stream = ThoughtStream(console, prompts.reflection)
    with open_engine(settings) as engine:
        try:
            result = run_solve(engine, text, options, prompts, on_text=stream)
        except Interrupted as exc:
            if stream is None and exc.partial:
                console.print(terminal_safe(exc.partial), markup=False)
            raise
        finally:
            if stream is not None:
                stream.close()

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
        return Outcome.INCOMPLETE
    return Outcome.OK


def _check_tree_file(path: Path) -> None:
    """Refuse a --save-tree file that could not be written, before a model is opened (it may
    first have to be downloaded) and the search runs."""
    if not path.parent.is_dir():
        raise UsageError(f"cannot save the tree to {path}: its folder does not exist")
    if path.is_dir():
        raise UsageError(f"cannot save the tree to {path}: it is a folder; name a file in it")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise UsageError(f"cannot save the tree to {path}: permission denied")


def _run_search(
    settings: Settings,
    question: str,
    options: SolveOptions,
    prompts: SolvePrompts,
    *,
    json_out: bool,
    tree: bool | None,
    save_tree: Path | None,
    quiet: bool,
) -> Outcome:
    """Run the search with the live tree on a terminal (elsewhere a progress line every 10 s
    unless `quiet`), write the answer and save the tree; the outcome is INTERRUPTED when
    interrupted, INCOMPLETE when no rollout completed."""
    from marco_cli.cli.session import open_engine
    from marco_cli.reasoning import solve as run_solve
    from marco_cli.ui.live_tree import LiveTree, print_tree
    from marco_cli.ui.progress_lines import ProgressLines, search_line

    console = stderr_console()
    with open_engine(settings) as engine:
        live = LiveTree(console, keep=tree is not False) if console.is_terminal else None
        on_event: Callable[[SearchEvent], None] | None = live
        if live is None and not quiet:
            lines = ProgressLines(console)

            def on_event(event: SearchEvent) -> None:
                lines(lambda: search_line(event))

        try:
            if live is not None:
                live.start()
            result = run_solve(engine, question, options, prompts, on_event=on_event)
        finally:
            if live is not None:
                live.stop()
    searched = result.search_result
    assert searched is not None  # a search's result always holds its search
    if save_tree is not None:
        # The question rides along so `marco show --html` can put it above the tree.
        _save(save_tree, {"question": question, **searched.to_json()})
    if live is None and tree:
        print_tree(console, searched.to_json())

    if json_out:
        write_result(json.dumps(result.to_json(), ensure_ascii=False))
    elif result.complete:
        write_result(result.answer)
    interrupted = bool(result.search_summary and result.search_summary.get("interrupted"))
    if not result.complete:
        why = "interrupted before any" if interrupted else "the search completed no"
        console.print(
            f"marco: {why} rollout reached an answer ({result.generated_tokens} tokens, "
            f"stopped: {result.finish_reason}); the best partial path:",
            markup=False,
        )
        partial = terminal_safe(searched.text.strip()) or "(nothing generated)"
        console.print(partial, markup=False, style="dim")
    elif interrupted:
        console.print("marco: interrupted; the answer above is the best found so far", markup=False)
    if interrupted:
        return Outcome.INTERRUPTED
    if not result.complete:
        return Outcome.INCOMPLETE
    return Outcome.OK


def _save(path: Path, document: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:
        raise MarcoError(f"cannot write the tree to {path}: {exc.strerror or exc}") from None
