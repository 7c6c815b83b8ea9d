"""`--help` reads cleanly: flags without a type, nothing cut with "…", the model option first,
and a value outside an option's choices answered in marco's words."""

from __future__ import annotations

import pytest

from marco_cli.cli import main

COMMANDS = [
    [],
    ["solve"],
    ["translate"],
    ["bench"],
    ["bench", "report"],
    ["show"],
    ["config", "show"],
    ["models", "list"],
    ["models", "pull"],
    ["models", "path"],
    ["models", "rm"],
]


def marco(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    columns: int = 120,
) -> tuple[int, str, str]:
    """Run marco in this process (Typer reads COLUMNS for every help page it draws)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.mark.parametrize("columns", [100, 120])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "marco")
def test_help_shows_no_bool_type_and_cuts_nothing(
    command: list[str], columns: int, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    code, out, err = marco(capsys, monkeypatch, *command, "--help", columns=columns)
    assert code == 0, err
    assert "<bool>" not in out  # `--version <bool>`: a flag takes no value
    assert "…" not in out  # e.g. bench's --out default was cut short


@pytest.mark.parametrize("command", ["solve", "translate", "bench"])
def test_model_is_the_first_option(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    text = marco(capsys, monkeypatch, command, "--help")[1]
    options = text[text.index("Options") :]
    first = next(line for line in options.splitlines()[1:] if "--" in line)
    assert "--model" in first


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["solve", "--strategy", "mtcs"],
            "--strategy takes cot or mcts, not 'mtcs' (did you mean mcts?)",
        ),
        (["solve", "-smtcs"], "--strategy takes cot or mcts, not 'mtcs' (did you mean mcts?)"),
        (["solve", "--action=mini-16"], "--action takes step, mini-64 or mini-32, not 'mini-16'"),
        (["bench", "--suite", "spede"], "--suite takes math, speed or translate, not 'spede'"),
    ],
)
def test_a_bad_choice_is_one_line_in_marcos_words(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    code, _, err = marco(capsys, monkeypatch, *args, "question")
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith(f"marco: error: {expected}")
    assert "Value error" not in err and "is not one of" not in err
    assert lines[1].startswith("Try 'marco ") and len(lines) == 2
