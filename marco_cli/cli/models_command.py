"""`marco models`: list the known and cached models, download one, print where one lives,
delete cached ones."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from marco_cli.cli import app
from marco_cli.cli.options import shared_option
from marco_cli.ui.console import write_result

if TYPE_CHECKING:
    from marco_cli.models import ModelInfo

models_app = typer.Typer(
    name="models",
    help="List, download (pull), locate and delete (rm) models.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

JsonOpt = Annotated[bool | None, shared_option("json", "models")]

NameArg = Annotated[
    str,
    typer.Argument(
        help="An alias (marco models list), OWNER/REPO:QUANT, hf.co/OWNER/REPO:QUANT, "
        "hf:OWNER/REPO/FILE.gguf, a .gguf path, or auto.",
        show_default=False,
    ),
]


@models_app.command("list")
def list_command(json_out: JsonOpt = None) -> None:
    """Known model aliases, their size and whether they are on this machine, then every other
    GGUF file in the Hugging Face cache and in marco's cache."""
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


@models_app.command("rm")
def rm_command(
    names: Annotated[
        list[str],
        typer.Argument(
            help="Cached models to delete: names as `marco models list` shows them, or any name "
            "--model takes.",
            metavar="NAME",
            show_default=False,
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete cached models (from the Hugging Face cache: the file and, unless another revision
    uses it, its blob), after asking."""
    from marco_cli.errors import MarcoError, UsageError
    from marco_cli.files import format_size
    from marco_cli.models import cached_name, delete_cached, find_cached
    from marco_cli.ui.console import note

    found = []
    for name in names:  # every name checked before anything is deleted
        cached = find_cached(name)
        if cached not in found:
            found.append(cached)
    if not yes and not (sys.stdin is not None and sys.stdin.isatty()):
        raise UsageError("marco models rm asks before deleting; not on a terminal, pass --yes")
    # named before anything is deleted: a name can depend on the other files of the repository
    named = [(cached, f"{cached_name(cached)} ({format_size(cached.size)})") for cached in found]
    if not yes and not typer.confirm(f"Delete {', '.join(n for _, n in named)}?", err=True):
        raise MarcoError("nothing deleted")
    for cached, name in named:
        delete_cached(cached)
        note(f"deleted {name}: {cached.path}")


def _print_models(rows: list[ModelInfo], *, json_out: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from marco_cli.files import format_size

    if json_out:
        write_result(json.dumps([row.to_dict() for row in rows], indent=2, ensure_ascii=False))
        return

    def size(row: ModelInfo) -> str:
        return format_size(row.size) if row.size_exact else f"~{format_size(row.size)}"

    console = Console(highlight=False)
    if not console.is_terminal:
        # quant comes last: scripts that read the first five columns keep working
        write_result("alias\tsize\tstatus\tpath\tdescription\tquant")
        for row in rows:
            path = str(row.path) if row.path else "-"
            write_result(
                f"{row.alias}\t{size(row)}\t{row.status}\t{path}\t{row.description}\t"
                f"{row.quant or '-'}"
            )
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("model", "quant", "size", "status", "description"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        ready = row.status in ("cached", "ready")
        description = Text(row.description)
        if row.path:
            description.append(f"\n{row.path}", style="dim")
        status = Text(row.status, style="green" if ready else "dim")
        table.add_row(
            Text(row.alias, style="bold"), row.quant or "-", size(row), status, description
        )
    console.print(table)
