"""`marco solve` (chain of thought) through the real CLI: answers, JSON, stdin, and every error."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

NATALIA = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in "
    "May. How many clips did Natalia sell altogether in April and May?"
)


def marco(
    *args: str, stdin: bytes | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run `python -m marco_cli ARGS` with the test's isolated environment."""
    return subprocess.run(
        [sys.executable, "-m", "marco_cli", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=timeout,
        env=dict(os.environ, COLUMNS="1000"),
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.decode()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("marco: error:")]
    assert len(lines) == 1, err
    return lines[0]


# -- demo model: real answers -------------------------------------------------------------


@pytest.mark.demo
def test_grade_school_problem_answered_on_stdout(demo_model_path: Path) -> None:
    result = marco("solve", "--model", str(demo_model_path), "--max-tokens", "600", NATALIA)
    assert result.returncode == 0, result.stderr.decode()
    assert "72" in result.stdout.decode()
    assert "<Output>" not in result.stdout.decode()


@pytest.mark.demo
def test_json_from_stdin(demo_model_path: Path) -> None:
    result = marco(
        "solve",
        "--json",
        "--model",
        str(demo_model_path),
        "--max-tokens",
        "300",
        stdin=b"What is 7 plus 5? Answer with the number.",
    )
    assert result.returncode in (0, 3), result.stderr.decode()
    data = json.loads(result.stdout)
    for key in (
        "question",
        "answer",
        "thought",
        "model",
        "strategy",
        "prompt_tokens",
        "generated_tokens",
        "evaluated_tokens",
        "seconds",
        "tokens_per_second",
        "complete",
    ):
        assert key in data
    assert data["question"].startswith("What is 7 plus 5")
    assert data["strategy"] == "cot" and data["generated_tokens"] > 0
    assert data["evaluated_tokens"] >= data["prompt_tokens"]


# -- tiny model: the real engine path, fast ---------------------------------------------------


@pytest.mark.tiny
def test_budget_hit_prints_partial_and_exits_3(tiny_model_path: Path) -> None:
    result = marco("solve", "--model", str(tiny_model_path), "--max-tokens", "8", "hello")
    assert result.returncode == 3
    assert "stopped before closing its answer" in result.stderr.decode()


@pytest.mark.tiny
def test_lines_on_a_piped_stderr_do_not_wrap(tiny_model_path: Path) -> None:
    """Rich wraps at 80 columns when stderr is no terminal: a message is one line anyway."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    result = subprocess.run(
        [sys.executable, "-m", "marco_cli", "solve", "-m", str(tiny_model_path)]
        + ["--max-tokens", "8", "hello"],
        capture_output=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 3
    line = next(
        line for line in result.stderr.decode().splitlines() if "stopped before closing" in line
    )
    assert len(line) > 80 and line.endswith("the answer above is partial")


@pytest.mark.tiny
def test_question_longer_than_the_context(tiny_model_path: Path) -> None:
    result = marco("solve", "--model", str(tiny_model_path), "--ctx", "256", "word " * 400)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "tokens" in line and "256" in line


@pytest.mark.tiny
def test_ctrl_c_exits_130_with_partial_output(tiny_model_path: Path) -> None:
    # stderr is a pseudo-terminal so the thought streams live: the interrupt is sent once the
    # first words are visible, i.e. in the middle of generation whatever the machine's speed.
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marco_cli",
            "solve",
            "--model",
            str(tiny_model_path),
            "--ctx",
            "4096",
            "--max-tokens",
            "3000",
            "tell me a long story",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=dict(os.environ, NO_COLOR="1"),
    )
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + 120
    while not shown.strip() and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1)
        if ready:
            shown += os.read(controller, 4096)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    while select.select([controller], [], [], 0.2)[0]:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closes with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    err = shown.decode(errors="replace")
    assert proc.returncode == 130, err
    assert out == b""
    assert shown.strip()
    assert "Traceback" not in err


# -- errors: one line, meaningful exit code ---------------------------------------------------


def test_empty_question() -> None:
    result = marco("solve", "   ")
    assert result.returncode == 2
    assert "question is empty" in one_error_line(result)


def test_invalid_utf8_on_stdin() -> None:
    result = marco("solve", stdin=b"caf\xe9\n")
    assert result.returncode == 2
    assert "not valid UTF-8" in one_error_line(result)


def test_missing_model_file(tmp_path: Path) -> None:
    result = marco("solve", "--model", str(tmp_path / "nope.gguf"), "hi")
    assert result.returncode == 1
    assert "nope.gguf" in one_error_line(result)


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("just text")
    result = marco("solve", "--model", str(fake), "hi")
    assert result.returncode == 1
    assert "notes.gguf" in one_error_line(result)


@pytest.mark.tiny
def test_truncated_model(tiny_model_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    data = tiny_model_path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = marco("solve", "--model", str(cut), "hi")
    assert result.returncode == 1
    assert "cut.gguf" in one_error_line(result)


def test_unknown_alias() -> None:
    result = marco("solve", "--model", "marco-o9", "hi")
    assert result.returncode == 2
    assert "marco-o9" in one_error_line(result)


def test_hub_unreachable_and_not_cached() -> None:
    result = marco("solve", "--model", "marco-o1:q8_0", "hi")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "--model" in line or "marco models pull" in line


def test_bad_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model: demo\nctx: [unclosed\n")
    result = marco("solve", "--config", str(config), "hi")
    assert result.returncode == 2
    assert str(config) in one_error_line(result)


def test_prompt_file_with_a_bad_key_is_one_line(tmp_path: Path, tiny_model_path: Path) -> None:
    """A user's prompts folder is checked key by key: no traceback, exit 2, file and key named."""
    (tmp_path / "solve.yaml").write_text("force_answer: [not, text]\n", encoding="utf-8")
    result = marco("solve", "-m", str(tiny_model_path), "--prompts", str(tmp_path), "1+1?")
    assert result.returncode == 2
    line = one_error_line(result)
    assert str(tmp_path / "solve.yaml") in line and "`force_answer`" in line


def test_prompt_file_with_only_some_keys_is_laid_over_the_shipped_one(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    (tmp_path / "solve.yaml").write_text("system_en: Be brief.\n", encoding="utf-8")
    result = marco(
        "solve",
        "-m",
        str(tiny_model_path),
        "--prompts",
        str(tmp_path),
        "--max-tokens",
        "8",
        "--system",
        "en",
        "1+1?",
    )
    assert result.returncode in (0, 3), result.stderr.decode()
