"""The `marco` command line: parses options and calls library functions.

Each command lives in its own module and registers itself on `app`. `main()` is the single
place where errors and the outcomes commands return become an exit code (see
`marco_cli.errors.ExitCode`): a command never exits by itself.
Set MARCO_DEBUG=1 to see tracebacks instead.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from marco_cli import __version__
from marco_cli.errors import ExitCode, MarcoError, Outcome

app = typer.Typer(
    name="marco",
    help="Run Marco-o1 locally: reasoning with chain of thought or Monte Carlo Tree Search, "
    "slang-aware translation, and benchmarks.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, pwsh
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
    130 interrupted, 141 stdout closed by its reader."""


def _register_commands() -> None:
    # Importing a command module registers its command(s) on `app`.
    from marco_cli.cli import (  # noqa: F401
        bench_command,
        config_command,
        models_command,
        show_command,
        solve_command,
        translate_command,
    )


def error_line(message: str) -> None:
    """Print one `marco: error: ...` line on stderr (no colour unless stderr is a terminal)."""
    from rich.markup import escape

    from marco_cli.ui.console import stderr_console, terminal_safe

    stderr_console().print(
        f"[bold red]marco: error:[/] {escape(terminal_safe(message))}", soft_wrap=True
    )


def _click_class(name: str) -> type[Exception]:
    """One of the exception classes of the click copy Typer runs on, found through what Typer
    exports: Typer 0.29 vendors its own click, older versions use the click package, and the
    two sets of classes do not match each other."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_ClickException = _click_class("ClickException")
_ClickUsageError = _click_class("UsageError")


def usage_error(exc: Exception, argv: list[str]) -> None:
    """click's usage error, shortened to one `marco: error:` line and a hint to `--help`."""
    error_line(_bad_choice(exc, argv) or exc.format_message())  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else _command_path(argv)
    sys.stderr.write(f"Try '{path} --help' for help.\n")


def _bad_choice(exc: Exception, argv: list[str]) -> str | None:
    """A value outside an option's choices in marco's words ("--strategy takes cot or mcts, not
    'mtcs' (did you mean mcts?)"), instead of what the Typer in use says ("Value error, 'mtcs'
    is not one of ..."); None for any other error."""
    import difflib

    param = getattr(exc, "param", None)
    # Typer 0.29 keeps the choices in its type descriptor, earlier versions in a click Choice.
    found = getattr(getattr(param, "type_descriptor", None), "choices", None) or getattr(
        getattr(param, "type", None), "choices", None
    )
    if not found or not getattr(param, "opts", None):
        return None
    choices = [str(getattr(choice, "value", choice)) for choice in found]
    flag = max(param.opts, key=len)  # type: ignore[union-attr]
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    value = _given_value(list(param.opts), argv)  # type: ignore[union-attr]
    if value is None:
        return f"{flag} takes {listed}"
    close = difflib.get_close_matches(value, choices, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{flag} takes {listed}, not {value!r}{hint}"


def _given_value(opts: list[str], argv: list[str]) -> str | None:
    """The last value `argv` gives one of the option names `opts` (`--x V`, `--x=V`, `-xV`)."""
    value = None
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                value = argv[i + 1]
            elif opt.startswith("--") and arg.startswith(opt + "="):
                value = arg[len(opt) + 1 :]
            elif not opt.startswith("--") and arg.startswith(opt) and len(arg) > len(opt):
                value = arg[len(opt) :]
    return value


def _plain_flags(command: Any) -> None:
    """Typer 0.29 writes a type beside every flag in `--help` (`--version <bool>`), though a
    flag takes no value: an empty metavar leaves that column blank. Walks the subcommands."""
    ctx = typer.Context(command)
    for param in command.get_params(ctx):  # the help option included
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in (getattr(command, "commands", None) or {}).values():
        _plain_flags(sub)


def _command_path(argv: list[str]) -> str:
    """`marco` and the (sub)commands named at the start of `argv`, for errors raised before
    click made a context for the command."""
    command = typer.main.get_command(app)
    path = ["marco"]
    for arg in argv:
        commands = getattr(command, "commands", None)
        if not commands or arg not in commands:
            break
        command = commands[arg]
        path.append(arg)
    return " ".join(path)


EXIT_CODES = {
    Outcome.OK: ExitCode.OK,
    Outcome.INCOMPLETE: ExitCode.INCOMPLETE,
    Outcome.PARTIAL: ExitCode.PARTIAL,
    Outcome.INTERRUPTED: ExitCode.INTERRUPTED,
}
"""The exit code of each outcome a command returns (a command that returns None went well)."""

BROKEN_PIPE_EXIT = 128 + 13
"""The exit status of a process killed by SIGPIPE, which `set -o pipefail` and PIPESTATUS
report for `cat big | head -1` too: marco exits with it when its reader goes away."""


def _detach_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of what is still
    buffered for a reader that went away fails no more ("Exception ignored ... BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by an object without a descriptor
        pass
    finally:
        os.close(devnull)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    debug = bool(os.environ.get("MARCO_DEBUG"))
    try:
        command = typer.main.get_command(app)
        _plain_flags(command)
        result = command(args=argv, prog_name="marco", standalone_mode=False)
    except (BrokenPipeError, SystemExit) as exc:
        # The reader of stdout went away (`marco translate < big.txt | head -1`): what it
        # wanted was written, so end quietly, as a tool killed by SIGPIPE would. click turns
        # the BrokenPipeError of a command into a bare exit 1, raised while handling it.
        if not isinstance(exc, BrokenPipeError) and not isinstance(
            exc.__context__, BrokenPipeError
        ):
            raise
        _detach_stdout()
        sys.exit(BROKEN_PIPE_EXIT)
    except MarcoError as exc:
        if debug:
            raise
        error_line(exc.message)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C (or end of input) at a prompt
        if debug:
            raise
        sys.exit(ExitCode.INTERRUPTED)
    except _ClickException as exc:
        if debug:
            raise
        if isinstance(exc, _ClickUsageError):
            usage_error(exc, sys.argv[1:] if argv is None else argv)
            sys.exit(ExitCode.USAGE)
        error_line(exc.format_message())  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    sys.exit(_exit_code(result))


def _exit_code(result: object) -> int:
    """The exit code of what the command line returned: a command's `Outcome`, or the code of
    an exit Typer made itself (`--version`, or 130 for a Ctrl-C it caught), which it returns
    as an int when it does not exit on its own (standalone_mode=False)."""
    if isinstance(result, Outcome):
        return EXIT_CODES[result]
    return result if isinstance(result, int) else ExitCode.OK
