"""`marco show FILE.json`: draw a tree saved by `marco solve --strategy mcts --save-tree`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marco_cli.cli import app


@app.command()
def show(
    file: Annotated[
        Path, typer.Argument(help="A tree saved with --save-tree.", show_default=False)
    ],
    max_lines: Annotated[
        int | None,
        typer.Option(
            "--max-lines",
            min=5,
            help="Fold low-value subtrees to fit this many lines (default: all).",
        ),
    ] = None,
) -> None:
    """Draw a saved search tree: each node's kind, visits N, value Q, confidence and text."""
    from rich.console import Console

    from marco_cli.ui.live_tree import load_tree_document, print_tree

    doc = load_tree_document(file)
    print_tree(Console(highlight=False, soft_wrap=False), doc, max_lines=max_lines)
