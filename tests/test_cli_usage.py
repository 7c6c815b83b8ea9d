"""Usage errors through the installed `marco` entry point, run the way a user runs it.

Typer may carry its own copy of click, so these run the real console script in a subprocess
rather than calling the app in-process: only then do the exception classes match what users get.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _marco() -> list[str]:
    """The console script installed beside this Python (falls back to `python -m marco_cli`)."""
    script = Path(sys.executable).with_name("marco")
    if script.is_file():
        return [str(script)]
    found = shutil.which("marco")
    return [found] if found else [sys.executable, "-m", "marco_cli"]


def run_marco(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MARCO_DEBUG"}
    return subprocess.run(
        [*_marco(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["solve", "--bogus", "x"], "--bogus"),
        (["solve", "--iterations", "abc", "x"], "--iterations"),
        (["nosuchcmd"], "nosuchcmd"),
        (["bench", "report", "r.jsonl", "--frobnicate", "x"], "--frobnicate"),
        (["solve", "--iterations", "0", "x"], "--iterations"),
        (["translate", "--ctx"], "--ctx"),
        (["models", "path"], "name"),
        (["config", "show", "extra", "args"], "extra"),
    ],
    ids=[
        "unknown-option",
        "bad-value",
        "unknown-command",
        "subcommand-option",
        "out-of-range",
        "missing-value",
        "missing-argument",
        "extra-argument",
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], expected: str) -> None:
    result = run_marco(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 3, result.stderr
    assert lines[0].startswith("marco: error:")
    assert expected.lower() in result.stderr.lower()
    assert "--help" in result.stderr


def test_debug_shows_the_traceback() -> None:
    env = {**os.environ, "MARCO_DEBUG": "1"}
    result = subprocess.run(
        [*_marco(), "solve", "--bogus", "x"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_abort_at_a_prompt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C or end of input at a confirmation prompt is an interruption, not an error."""
    import io

    import typer

    from marco_cli.cli import app, main

    @app.command("ask-for-test", hidden=True)
    def ask() -> None:
        typer.confirm("go on?", abort=True)

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["ask-for-test"])
    finally:
        app.registered_commands[:] = [
            c for c in app.registered_commands if c.name != "ask-for-test"
        ]
    assert exit_info.value.code == 130
