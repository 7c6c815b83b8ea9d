"""`marco bench report --plot`: the chart of a results file, and the error without the extra."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from bench_helpers import write_results

from marco_cli.cli import main


def rec(pid: int, strategy: str, correct: bool, model: str, gen: int) -> dict:
    return {
        "schema": 1,
        "dataset": "mgsm-en",
        "id": str(pid),
        "strategy": strategy,
        "sample": 0,
        "correct": correct,
        "complete": True,
        "generated_tokens": gen,
        "evaluated_tokens": gen + 20,
        "seconds": 2.0,
        "reward": None,
        "model": {"name": model, "file": "x", "sha256": "0"},
    }


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def svg_text(path: Path) -> list[str]:
    """The text elements of an SVG chart (matplotlib keeps text as text with svg.fonttype none)."""
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)", path.read_text(encoding="utf-8"))]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    # cot: 3 of 4 right at 100 tokens; mcts-step: 1 of 4 at 700 tokens.
    records = [rec(i, "cot", i < 4, "Model A", 100) for i in range(1, 5)]
    records += [rec(i, "mcts-step", i == 1, "Model A", 700) for i in range(1, 5)]
    return write_results(tmp_path / "a.jsonl", records)


def test_plot_svg_holds_each_strategy_its_accuracy_and_interval(results, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    chart = tmp_path / "charts" / "a.svg"
    code, out, err = run(capsys, "bench", "report", str(results), "--plot", str(chart))
    assert code == 0 and f"chart written to {chart}" in " ".join(err.split())
    assert "| mgsm-en | cot | 4 |" in out  # the table is still printed
    text = svg_text(chart)
    assert "cot" in text and "mcts-step" in text  # bar labels and scatter labels
    assert text.count("cot") >= 2 and text.count("mcts-step") >= 2
    assert "75%" in text and "25%" in text and text.count("n=4") == 2
    assert "marco bench: Model A" in text
    assert "generated tokens per attempt (mean)" in text
    assert "accuracy, 95% Wilson interval" in text


def test_plot_png_of_two_files_is_an_image(results, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    other = write_results(
        tmp_path / "b.jsonl", [rec(i, "cot", True, "Model B", 300) for i in range(1, 5)]
    )
    chart = tmp_path / "cmp.png"
    code, _, err = run(capsys, "bench", "report", str(results), str(other), "--plot", str(chart))
    assert code == 0, err
    data = chart.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    svg = tmp_path / "cmp.svg"
    run(capsys, "bench", "report", str(results), str(other), "--plot", str(svg))
    text = svg_text(svg)
    assert "Model A" in text and "Model B" in text and "100%" in text


def test_the_same_results_draw_the_same_svg(results, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    first, second = tmp_path / "1.svg", tmp_path / "2.svg"
    run(capsys, "bench", "report", str(results), "--plot", str(first))
    run(capsys, "bench", "report", str(results), "--plot", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_plot_without_matplotlib_names_the_extra(results, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    chart = tmp_path / "a.png"
    code, out, err = run(capsys, "bench", "report", str(results), "--plot", str(chart))
    assert code == 1 and out == "" and not chart.exists()
    assert err.strip() == "marco: error: --plot needs matplotlib: pip install 'marco-cli[plot]'"


def test_plot_refuses_other_formats(results, tmp_path, capsys):
    code, _, err = run(capsys, "bench", "report", str(results), "--plot", str(tmp_path / "a.pdf"))
    assert code == 2 and "must end in .png or .svg" in err


@pytest.mark.tiny
def test_plot_of_a_real_bench_run_on_the_tiny_model(tiny_model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 1+1?\t2\nWhat is 2+2?\t4\n", encoding="utf-8")
    out_file = tmp_path / "r.jsonl"
    args = ["bench", "-m", str(tiny_model_path), "-d", str(toy), "-s", "cot,mcts-mini32"]
    args += [
        "--max-tokens",
        "16",
        "--iterations",
        "2",
        "--search-tokens",
        "64",
        "-o",
        str(out_file),
    ]
    code, _, err = run(capsys, *args)
    assert code == 0, err
    chart = tmp_path / "r.svg"
    code, _, err = run(capsys, "bench", "report", str(out_file), "--plot", str(chart))
    assert code == 0, err
    text = svg_text(chart)
    assert "cot" in text and "mcts-mini32" in text and text.count("n=2") == 2
