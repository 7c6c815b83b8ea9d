"""The `marco` command line: parses options and calls library functions.

Each command lives in its own module and registers itself on `app`. `main()` is the single
place where errors become one line on stderr and an exit code (see `marco_cli.errors.ExitCode`).
Set MARCO_DEBUG=1 to see tracebacks instead.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from marco_cli import __version__
from marco_cli.errors import ExitCode, MarcoError

app = typer.Typer(
    name="marco",
    help="Run Marco-o1 locally: reasoning with chain of thought or Monte Carlo Tree Search, "
    "slang-aware translation, and benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"marco {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Exit codes: 0 ok, 1 error, 2 usage, 3 incomplete answer, 4 some units failed,
    130 interrupted."""


def _register_commands() -> None:
    # Importing a command module registers its command(s) on `app`.
    from marco_cli.cli import bench, config, models, show, solve, translate  # noqa: F401


def error_line(message: str) -> None:
    """Print one `marco: error: ...` line on stderr (no colour unless stderr is a terminal)."""
    from rich.markup import escape

    from marco_cli.ui.console import stderr_console

    stderr_console().print(f"[bold red]marco: error:[/] {escape(message)}", soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    debug = bool(os.environ.get("MARCO_DEBUG"))
    try:
        result = app(args=argv, prog_name="marco", standalone_mode=False)
    except MarcoError as exc:
        if debug:
            raise
        error_line(exc.message)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    sys.exit(result if isinstance(result, int) else ExitCode.OK)
