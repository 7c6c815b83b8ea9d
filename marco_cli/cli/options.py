"""The commands' options, made from the one declaration of each in `marco_cli.settings.SCHEMA`.

`@takes_settings("solve")` appends every option `marco solve` takes to the decorated function's
signature, where Typer reads them, and hands the function their values as one `CommandFlags`:

    @app.command()
    @takes_settings("solve")
    def solve(question: ..., *, flags: CommandFlags) -> None:
        settings = flags.resolve()   # flag > environment > config file > the command's default

Every option defaults to None on the command line, so that "not given" can fall back to the
config file and to the command's own default, which its help states.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from marco_cli.settings import SCHEMA, Setting, Settings, options_for, resolve_settings

_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool, "path": Path}


@functools.cache
def choice_type(name: str, choices: Sequence[str]) -> type[enum.Enum]:
    """A str Enum of `choices`: Typer turns it into a click choice, so help lists the values,
    a wrong one is a usage error and shell completion offers them."""
    members = [(value, value) for value in choices]
    return cast("type[enum.Enum]", enum.Enum(f"{name.title()}Choice", members, type=str))


def _python_type(setting: Setting) -> Any:
    if setting.choices:
        return choice_type(setting.name, setting.choices)
    return _TYPES[setting.kind]


def typer_option(setting: Setting, command: str) -> Any:
    """The annotated type of the option `setting` in `command`, for a function signature."""
    return Annotated[_python_type(setting) | None, _option(setting, command)]


def _option(setting: Setting, command: str) -> Any:
    return typer.Option(
        *setting.flag_names(),
        help=setting.help_for(command),
        min=setting.minimum,
        max=setting.maximum,
        show_default=False,
    )


def shared_option(name: str, command: str) -> Any:
    """The Typer option `name` for a command that has no settings of its own (`marco config
    path`), to annotate its parameter with: `Annotated[Path | None, shared_option(...)]`."""
    return _option(next(s for s in SCHEMA if s.name == name), command)


def plain(value: Any) -> Any:
    """A choice's string (Typer passes an Enum member), any other value unchanged."""
    return value.value if isinstance(value, enum.Enum) else value


@dataclass(frozen=True)
class CommandFlags:
    """The declared options of one command as given on its command line (None: not given)."""

    command: str
    values: dict[str, Any]

    def resolve(self) -> Settings:
        """The command's settings: these flags over the environment, the config file (--config
        or the default one) and the command's defaults."""
        return resolve_settings(self.command, self.values, self.values.get("config"))


LEADING = ("model",)
"""Options that `--help` lists before a command's own: which model runs comes first."""


def takes_settings(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give the decorated command every option `command` takes (see the module docstring); the
    function receives them as its keyword argument `flags`."""
    declared = options_for(command)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(func, eval_str=True)
        # Typer lists options in signature order and tells arguments by their annotation, not
        # by their kind: all keyword-only, the leading options can come first.
        kept = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in own.parameters.values()
            if p.name != "flags"
        ]
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=typer_option(setting, command),
            )
            for name, setting in declared.items()
        ]
        leading = [p for p in added if p.name in LEADING]
        ordered = [*leading, *kept, *(p for p in added if p.name not in LEADING)]

        @functools.wraps(func)
        def command_function(**kwargs: Any) -> Any:
            given = {name: plain(kwargs.pop(name)) for name in declared}
            return func(**kwargs, flags=CommandFlags(command, given))

        command_function.__signature__ = own.replace(parameters=ordered)  # type: ignore[attr-defined]
        return command_function

    return decorate
