"""The accuracy suite as a library (`bench/math_suite.py`), on the tiny real llama.cpp model."""

from __future__ import annotations

from pathlib import Path

import pytest

from marco_cli.bench import BenchOptions, ModelRef, read_records
from marco_cli.bench.datasets import Selection
from marco_cli.bench.math_suite import prepare_math_suite
from marco_cli.errors import UsageError
from marco_cli.prompts import load_solve_prompts
from marco_cli.search import search_config

MODEL = ModelRef("tiny", "tiny.gguf", "0" * 64)


def toy_set(tmp_path: Path) -> Path:
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 2 + 3?\t5\nWhat is 4 + 4?\t8\nWhat is 1 + 1?\t2\n", encoding="utf-8")
    return toy


def test_a_run_records_every_attempt_and_reports_it(tiny_engine, tmp_path: Path) -> None:
    notes: list[str] = []
    results = tmp_path / "r.jsonl"
    suite = prepare_math_suite(
        [str(toy_set(tmp_path))],
        "cot,mcts-mini32",
        BenchOptions(
            max_tokens=24, samples=2, search=search_config({"iterations": 1, "branch": 1})
        ),
        load_solve_prompts(),
        lambda: MODEL,
        selection=Selection(ids="1,3"),
        results=results,
        command="marco bench",
        on_note=notes.append,
    )
    try:
        assert suite.path == results and suite.attempts(suite.datasets[0]) == 4
        outcome = suite.run(tiny_engine)
    finally:
        suite.close()
    assert outcome.new == 8 and len(read_records(results)) == 8
    assert "| toy | cot | 2 |" in suite.markdown(outcome)
    # The shape every suite shares: what the command shows, writes and exits with.
    shown = suite.report(outcome)
    assert shown.markdown == suite.markdown(outcome) and "marco bench" in shown.markdown
    assert shown.json["new"] == 8 and shown.failed == 0
    assert [t.title for t in shown.tables] == [t.title for t in suite.tables(outcome)]
    assert notes and "identical (greedy)" in notes[0]  # two greedy cot samples are one


def test_bad_strategies_fail_before_the_model_is_looked_up(tmp_path: Path) -> None:
    def model() -> ModelRef:
        raise AssertionError("the model must not be needed")

    with pytest.raises(UsageError, match="unknown strategy 'beam'"):
        prepare_math_suite(
            [str(toy_set(tmp_path))], "beam", BenchOptions(), load_solve_prompts(), model
        )
