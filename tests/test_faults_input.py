"""Long and hostile input: a unit or question longer than the context, a 1 MB line, NUL bytes,
a right-to-left override and terminal escape sequences, in the input or in the model's output.
Only that unit fails; nothing on stderr is executed or garbled; stdout stays byte-faithful."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_engine import Doc, FakeEngine
from rich.console import Console
from translate_fake import TranslateFake

from marco_cli.cli import main
from marco_cli.ui.console import terminal_safe

MARCO = str(Path(sys.executable).with_name("marco"))
CLEAR_SCREEN = "\x1b[2J"
SET_TITLE = "\x1b]0;pwned\x07"
RTL_OVERRIDE = "\u202e"
HOSTILE = f"{CLEAR_SCREEN}{SET_TITLE}evil{RTL_OVERRIDE}txt.exe\x9b31m"
MEGABYTE_LINE = "长" * 350_000  # 1.05 MB of UTF-8


def raw_controls(text: str) -> list[str]:
    """The hostile characters that reached `text` unneutralised."""
    return [c for c in (CLEAR_SCREEN, SET_TITLE, RTL_OVERRIDE, "\x9b", "\x07") if c in text]


def marco(*args: str, stdin: bytes, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MARCO, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=dict(os.environ, COLUMNS="1000"),
    )


# -- the real engine, tiny model ------------------------------------------------------------

LINES = [
    "第一行",
    MEGABYTE_LINE,
    "空\x00字节",
    f"右到左{RTL_OVERRIDE}覆盖",
    f"转义{HOSTILE}",
    "末行",
]


def tiny_translate(model: Path, *extra: str) -> subprocess.CompletedProcess:
    args = ["translate", "--model", str(model), "--src", "zh", "--tgt", "en", "--ctx", "4096"]
    args += ["--strategy", "direct", "--no-glossary", "--max-tokens", "4", "--threads", "2"]
    return marco(*args, *extra, stdin="".join(f"{line}\n" for line in LINES).encode())


@pytest.mark.tiny
def test_hostile_lines_through_translate(tiny_model_path: Path) -> None:
    result = tiny_translate(tiny_model_path, "--json")
    err = result.stderr.decode()
    assert result.returncode == 4, err  # the 1 MB line failed; everything else was written
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["source"] for r in records] == LINES  # NUL, RTL and escapes kept as they were
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6]
    long = records[1]
    assert not long["ok"] and long["translation"] == ""
    assert "context holds 4096 (--ctx)" in long["error"]
    failed = [r["line"] for r in records if not r["ok"]]
    assert "line 2: not translated:" in err and "(--ctx)" in err
    # Other lines may fail only the way a random model fails: with no translation.
    assert all(
        r["error"] == "the model produced no translation"
        for r in records
        if r["line"] > 2 and not r["ok"]
    )
    assert f"of 6 units failed (line {', '.join(map(str, failed))})" in " ".join(err.split())
    assert "Traceback" not in err and not raw_controls(err)


@pytest.mark.tiny
def test_overlong_line_leaves_its_output_line_empty(tiny_model_path: Path) -> None:
    result = tiny_translate(tiny_model_path)
    assert result.returncode == 4, result.stderr.decode()
    out = result.stdout.decode()
    assert out.count("\n") == len(LINES) and out.split("\n")[1] == ""


@pytest.mark.tiny
def test_question_longer_than_the_context(tiny_model_path: Path) -> None:
    question = f"{MEGABYTE_LINE}\n{HOSTILE}".encode()
    result = marco("solve", "--model", str(tiny_model_path), "--ctx", "512", stdin=question)
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    (line,) = err.splitlines()
    assert line.startswith("marco: error: the question needs") and "holds 512" in line
    assert "--ctx" in line


@pytest.mark.tiny
def test_question_with_a_nul_byte(tiny_model_path: Path) -> None:
    result = marco("solve", "--model", str(tiny_model_path), stdin=b"What is\n2\x00+2?")
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert err == "marco: error: the question has a NUL byte (line 2); remove it first\n"


# -- the display: escapes from the model are shown, not run -----------------------------------


def test_terminal_safe_shows_controls_and_keeps_text() -> None:
    assert terminal_safe(f"a{CLEAR_SCREEN}b") == "a\\x1b[2Jb"
    assert terminal_safe(f"x{RTL_OVERRIDE}y\x00z\x9b") == "x\\u202ey\\x00z\\x9b"
    assert terminal_safe("tab\tnew\nline 中文 ok") == "tab\tnew\nline 中文 ok"


def test_streamed_thought_neutralises_escapes() -> None:
    from marco_cli.ui.stream import ThoughtStream

    screen = io.StringIO()
    stream = ThoughtStream(Console(file=screen, force_terminal=True, width=200), "Wait!")
    for piece in ["think ", CLEAR_SCREEN[:2], CLEAR_SCREEN[2:], SET_TITLE, RTL_OVERRIDE, " done"]:
        stream(piece)
    stream.close()
    shown = screen.getvalue()
    assert not raw_controls(shown)
    # (each piece is printed as it comes, so the sequence split over two pieces stays split)
    assert "\\x1b[" in shown and "\\x1b]0;pwned\\x07" in shown and "\\u202e" in shown


def test_live_tree_neutralises_escapes() -> None:
    from marco_cli.reasoning import ReasoningTask
    from marco_cli.search import SearchConfig, run_mcts
    from marco_cli.ui.live_tree import render_tree

    docs = [Doc(f"step {HOSTILE}.\n</Thought>\n<Output>1{SET_TITLE}</Output>", 0.9)]
    engine = FakeEngine("Q?", docs)
    task = ReasoningTask("<Thought>\n", "Wait! Maybe I made some mistakes!")
    result = run_mcts(engine, engine.prompt_tokens(), SearchConfig(iterations=3, seed=1), task)
    screen = io.StringIO()
    Console(file=screen, force_terminal=True, width=300).print(render_tree(result.to_json()))
    assert "\\x1b[2J" in screen.getvalue() and not raw_controls(screen.getvalue())


def test_error_lines_neutralise_escapes_from_input(capsys, tmp_path: Path) -> None:
    missing = tmp_path / f"no{CLEAR_SCREEN}{RTL_OVERRIDE}.yaml"  # a file name is user input
    with pytest.raises(SystemExit) as exc:
        main(["translate", "--src", "zh", "--glossary", str(missing), "你好"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "no\\x1b[2J\\u202e.yaml" in err and not raw_controls(err)


def test_translate_stdout_is_byte_faithful(capsys, monkeypatch) -> None:
    fake = TranslateFake({"坏": f"bad{CLEAR_SCREEN}red{RTL_OVERRIDE}"})
    monkeypatch.setattr("marco_cli.cli.session.open_engine", lambda settings: fake)
    with pytest.raises(SystemExit) as exc:
        main(["translate", "--src", "zh", "--strategy", "direct", "坏"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and out == f"bad{CLEAR_SCREEN}red{RTL_OVERRIDE}\n"
