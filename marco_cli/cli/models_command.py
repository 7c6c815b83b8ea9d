"""`marco models`: list the known models, download one, print where one lives."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from marco_cli.cli import app
from marco_cli.cli.options import shared_option
from marco_cli.ui.console import write_result

models_app = typer.Typer(
    name="models",
    help="List, download (pull) and locate models.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

JsonOpt = shared_option("json", "models")

NameArg = Annotated[
    str,
    typer.Argument(
        help="An alias (marco models list), hf:OWNER/REPO/FILE.gguf, a .gguf path, or auto.",
        show_default=False,
    ),
]


@models_app.command("list")
def list_command(json_out: JsonOpt = None) -> None:
    """Known model aliases, their size and whether they are on this machine."""
    from marco_cli.models import list_models

    _print_models(list_models(), json_out=bool(json_out))


@models_app.command("pull")
def pull_command(name: NameArg) -> None:
    """Download a model into the Hugging Face cache (demo: assemble it); print its path."""
    from marco_cli.models import pull_model
    from marco_cli.ui.model_progress import console_reporter

    write_result(str(pull_model(name, reporter=console_reporter()).path))


@models_app.command("path")
def path_command(
    name: NameArg,
    download: Annotated[
        bool, typer.Option("--download", help="Download the model if it is not there yet.")
    ] = False,
) -> None:
    """Print the local path of a model's file (and nothing else)."""
    from marco_cli.models import resolve_model
    from marco_cli.ui.model_progress import console_reporter

    resolved = resolve_model(name, download=download, reporter=console_reporter())
    write_result(str(resolved.path))


def _print_models(rows: list, *, json_out: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from marco_cli.files import format_size

    if json_out:
        write_result(json.dumps([row.to_dict() for row in rows], indent=2, ensure_ascii=False))
        return

    def size(row) -> str:
        return format_size(row.size) if row.size_exact else f"~{format_size(row.size)}"

    console = Console(highlight=False)
    if not console.is_terminal:
        write_result("alias\tsize\tstatus\tpath\tdescription")
        for row in rows:
            path = str(row.path) if row.path else "-"
            write_result(f"{row.alias}\t{size(row)}\t{row.status}\t{path}\t{row.description}")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("model", "size", "status", "description"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        ready = row.status in ("cached", "ready")
        description = Text(row.description)
        if row.path:
            description.append(f"\n{row.path}", style="dim")
        status = Text(row.status, style="green" if ready else "dim")
        table.add_row(Text(row.alias, style="bold"), size(row), status, description)
    console.print(table)
