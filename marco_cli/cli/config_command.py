"""`marco config`: where the config file is, what it resolves to, and every key it takes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marco_cli.cli import app
from marco_cli.cli.options import shared_option
from marco_cli.ui.console import write_result

config_app = typer.Typer(
    name="config",
    help="Show the config file's path, the resolved settings, or an annotated example.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")

ConfigOpt = Annotated[Path | None, shared_option("config", "config")]


@config_app.command("path")
def path_command(config: ConfigOpt = None) -> None:
    """Print the config file's path (MARCO_CONFIG, else the user config folder)."""
    from marco_cli.settings import config_path

    write_result(str(config_path(config)))


@config_app.command("show")
def show_command(
    command: Annotated[
        str | None,
        typer.Argument(
            help="Show the settings of this command (solve, translate, bench); "
            "default: the shared ones.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the resolved settings as YAML, each with where its value came from."""
    from marco_cli.errors import UsageError
    from marco_cli.settings import COMMANDS, resolve_settings, settings_yaml

    if command is not None and command not in COMMANDS:
        raise UsageError(f"no settings for {command!r}; choose one of {', '.join(COMMANDS)}")
    write_result(settings_yaml(resolve_settings(command, {}, config)))


@config_app.command("example")
def example_command() -> None:
    """Print an annotated config file with every key, commented out, at its default."""
    from marco_cli.settings import example_config

    write_result(example_config())
