"""Plain progress lines where stderr is not a terminal: none for work shorter than 10 s, then at
most one every 10 s, none with --quiet; for a search (`solve --strategy mcts`) and for bench."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from test_search_ui import run_cli

from marco_cli.ui import progress_lines
from marco_cli.ui.progress_lines import ProgressLines


def test_no_line_before_ten_seconds_then_at_most_one_every_ten() -> None:
    now = [0.0]
    console = Console(file=io.StringIO(), width=200)
    built: list[float] = []

    def line() -> str:
        built.append(now[0])
        return f"at {now[0]:.0f}"

    lines = ProgressLines(console, clock=lambda: now[0])
    for t in (1.0, 9.9, 10.0, 12.0, 19.9, 20.5, 31.0, 32.0):
        now[0] = t
        lines(line)
    assert console.file.getvalue().splitlines() == ["marco: at 10", "marco: at 20", "marco: at 31"]
    assert built == [10.0, 20.5, 31.0]  # a line is only built when it is printed


@pytest.mark.tiny
@pytest.mark.parametrize("quiet", [False, True])
def test_a_search_on_a_piped_stderr_prints_progress_lines(
    quiet: bool,
    tiny_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(progress_lines, "EVERY_S", 0.0)  # every event is "10 s later"
    args = ["solve", "-m", str(tiny_model_path), "--strategy", "mcts", "--iterations", "2"]
    args += ["--max-tokens", "16", "--quiet"] if quiet else ["--max-tokens", "16"]
    code, _, err = run_cli(capsys, *args, "1+1?")
    assert code in (0, 3), err
    shown = [line for line in err.splitlines() if line.startswith("marco: searching: iteration")]
    assert (shown == []) is quiet, err
    if not quiet:
        pattern = r"marco: searching: iteration \d/2, [\d,]+ tokens, \d+ answers, \d+ s"
        assert all(re.fullmatch(pattern, line) for line in shown), shown


@pytest.mark.tiny
@pytest.mark.parametrize("quiet", [False, True])
def test_bench_on_a_piped_stderr_prints_progress_lines(
    quiet: bool,
    tiny_model_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(progress_lines, "EVERY_S", 0.0)
    toy = tmp_path / "toy.tsv"
    toy.write_text("1+1?\t2\n2+2?\t4\n", encoding="utf-8")
    args = ["bench", "-m", str(tiny_model_path), "-d", str(toy), "-s", "cot"]
    args += ["--max-tokens", "8", "--out", str(tmp_path / "r.jsonl")]
    code, _, err = run_cli(capsys, *args, *(["--quiet"] if quiet else []))
    assert code in (0, 4), err
    shown = [line for line in err.splitlines() if line.startswith("marco: bench: toy cot")]
    if quiet:
        assert shown == []
    else:
        assert [line.split()[4] for line in shown] == ["1/2", "2/2"]
