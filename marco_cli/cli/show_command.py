"""`marco show FILE.json`: draw a tree saved by `marco solve --strategy mcts --save-tree`, on the
terminal or into an HTML page or an SVG picture."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marco_cli.cli import app
from marco_cli.errors import UsageError


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
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write the tree as one self-contained HTML page (collapsible, the chosen path "
            "highlighted) instead of drawing it.",
            show_default=False,
        ),
    ] = None,
    svg: Annotated[
        Path | None,
        typer.Option(
            "--svg",
            help="Write the terminal drawing (folded by --max-lines) as an SVG picture instead "
            "of drawing it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Draw a saved search tree: each node's kind, visits N, value Q, confidence and text."""
    from rich.console import Console

    from marco_cli.ui.live_tree import load_tree_document, print_tree

    doc = load_tree_document(file)
    if html is None and svg is None:
        print_tree(Console(highlight=False, soft_wrap=False), doc, max_lines=max_lines)
        return
    from marco_cli.ui.tree_export import tree_html, tree_svg

    title = f"marco search tree: {file.name}"
    if html is not None:
        _write(html, tree_html(doc, title=title))
    if svg is not None:
        _write(svg, tree_svg(doc, title=title, max_lines=max_lines))


def _write(path: Path, text: str) -> None:
    from marco_cli.ui.console import stderr_console

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    stderr_console().print(f"written to {path}", markup=False, highlight=False)
