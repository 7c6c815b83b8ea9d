"""The bench runner with a scripted solve(): records, resume, errors, interruption, options."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from marco_cli.bench import BenchOptions, ModelRef, parse_strategies, run_bench
from marco_cli.bench.datasets import load_dataset
from marco_cli.bench.store import ResultStore, read_records
from marco_cli.errors import ContextOverflowError, UsageError
from marco_cli.search import search_config

MODEL = ModelRef("Test Model", "/models/test.gguf", "ab" * 32)
PROMPTS: dict[str, Any] = {}


@dataclass
class FakeResult:
    answer: str
    complete: bool = True
    generated_tokens: int = 10
    evaluated_tokens: int = 30
    seconds: float = 0.5
    reward: float | None = None
    search: dict | None = None
    finish_reason: str = "stop"


@dataclass
class ScriptedSolve:
    """Answers "Q<n>" with n (right) unless told otherwise; records its calls."""

    wrong: set[str] = field(default_factory=set)
    overflow: set[str] = field(default_factory=set)
    interrupt_at: int | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def __call__(self, engine, question, options, prompts, **kwargs):
        self.calls.append((question, options))
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if question in self.overflow:
            raise ContextOverflowError("the question needs 9999 tokens; raise --ctx")
        n = question.removeprefix("Q")
        answer = "999" if question in self.wrong else f"The answer is **{n}**."
        reward = 0.8 if options.strategy == "mcts" else None
        return FakeResult(answer=answer, reward=reward)


@pytest.fixture
def dataset(tmp_path: Path):
    path = tmp_path / "toy.tsv"
    path.write_text("".join(f"Q{i}\t{i:,}\n" for i in (5, 1200, 7, 8)), encoding="utf-8")
    return load_dataset(str(path))


# --- running -------------------------------------------------------------------------------------


def run(
    dataset,
    path: Path,
    solve: ScriptedSolve,
    *,
    strategies: str = "cot,mcts-step",
    resume: bool = False,
    options: BenchOptions | None = None,
    model: ModelRef = MODEL,
    events: list | None = None,
):
    with ResultStore(path, resume=resume) as store:
        return run_bench(
            None,
            [dataset],
            parse_strategies(strategies),
            store,
            options=options or BenchOptions(max_tokens=64),
            prompts=PROMPTS,
            model=model,
            solve_fn=solve,
            on_progress=events.append if events is not None else None,
        )


def test_records(dataset, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    solve = ScriptedSolve(wrong={"Q7"})
    outcome = run(dataset, path, solve)
    assert (outcome.new, outcome.skipped, outcome.errors) == (8, 0, 0)
    # Problem-major order: both strategies on a problem before the next one.
    assert [q for q, _ in solve.calls] == ["Q5", "Q5", "Q1200", "Q1200", "Q7", "Q7", "Q8", "Q8"]
    records = read_records(path)
    assert len(records) == 8
    r = records[2]
    assert (r["dataset"], r["id"], r["strategy"], r["sample"]) == ("toy", "2", "cot", 0)
    assert (r["reference"], r["answer"], r["correct"]) == ("1,200", "1200", True)
    assert r["output"] == "The answer is **1200**."
    assert r["model"] == {"name": "Test Model", "file": "/models/test.gguf", "sha256": "ab" * 32}
    assert r["dataset_file"]["sha256"] == dataset.sha256
    assert r["options"]["strategy"] == "cot" and r["options"]["max_tokens"] == 64
    assert r["options"]["search"] is None
    for key in ("generated_tokens", "evaluated_tokens", "seconds", "reward", "time", "seed"):
        assert key in r
    mcts = records[3]
    assert mcts["strategy"] == "mcts-step" and mcts["reward"] == 0.8
    assert mcts["options"]["search"]["action"] == "step"
    assert [r["correct"] for r in records if r["id"] == "3"] == [False, False]


def test_progress_events(dataset, tmp_path: Path) -> None:
    events: list = []
    run(dataset, tmp_path / "r.jsonl", ScriptedSolve(wrong={"Q7"}), strategies="cot", events=events)
    assert [(e.done, e.total, e.correct) for e in events] == [
        (1, 4, 1),
        (2, 4, 2),
        (3, 4, 2),
        (4, 4, 3),
    ]
    assert events[-1].generated == 40 and events[-1].seconds == pytest.approx(2.0)


def test_resume_skips_done_records(dataset, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    first = ScriptedSolve(interrupt_at=4)
    with pytest.raises(KeyboardInterrupt):
        run(dataset, path, first)
    assert len(read_records(path)) == 3  # the interrupted attempt wrote nothing
    second = ScriptedSolve()
    events: list = []
    outcome = run(dataset, path, second, resume=True, events=events)
    assert (outcome.new, outcome.skipped) == (5, 3)
    assert [q for q, _ in second.calls] == ["Q1200", "Q7", "Q7", "Q8", "Q8"]
    lines = path.read_text().splitlines()
    keys = [(json.loads(x)["id"], json.loads(x)["strategy"]) for x in lines]
    assert len(keys) == len(set(keys)) == 8
    assert sum(e.resumed for e in events) == 3
    # Nothing left: a third run does nothing.
    third = ScriptedSolve()
    assert run(dataset, path, third, resume=True).new == 0 and third.calls == []


def test_errors_are_recorded_and_retried(dataset, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    outcome = run(dataset, path, ScriptedSolve(overflow={"Q8"}), strategies="cot")
    assert outcome.errors == 1
    bad = [r for r in read_records(path) if r["id"] == "4"][0]
    assert bad["error"].startswith("the question needs") and bad["correct"] is False
    retry = ScriptedSolve()
    outcome = run(dataset, path, retry, strategies="cot", resume=True)
    assert [q for q, _ in retry.calls] == ["Q8"] and outcome.errors == 0
    assert len(read_records(path)) == 4  # the retried record replaced the failed one


def test_samples_and_seeds(dataset, tmp_path: Path) -> None:
    solve = ScriptedSolve()
    options = BenchOptions(samples=3, seed=10, temperature=0.7)
    outcome = run(dataset, tmp_path / "r.jsonl", solve, strategies="cot", options=options)
    assert outcome.new == 12
    assert [o.seed for _, o in solve.calls[:3]] == [10, 11, 12]
    assert {r["sample"] for r in outcome.records} == {0, 1, 2}
    assert all(r["options"]["seed"] == 10 for r in outcome.records)


def test_resume_with_other_options_is_refused(dataset, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    run(dataset, path, ScriptedSolve(), strategies="cot")
    with pytest.raises(UsageError, match="max_tokens differ"):
        run(
            dataset,
            path,
            ScriptedSolve(),
            strategies="cot",
            resume=True,
            options=BenchOptions(max_tokens=99),
        )
    # More samples may be added (they only add attempts) ...
    more = BenchOptions(max_tokens=64, samples=2)
    assert run(dataset, path, ScriptedSolve(), strategies="cot", resume=True, options=more).new == 4
    # ... and another strategy may be added to the same file.
    assert run(dataset, path, ScriptedSolve(), strategies="cot,mcts-step", resume=True).new == 4


def test_a_file_written_before_the_budgets_were_renamed_resumes(dataset, tmp_path: Path) -> None:
    """Records whose search says `max_path_tokens` (one path) and `max_tokens` (the whole
    search) resume under today's names."""
    path = tmp_path / "r.jsonl"
    options = BenchOptions(max_tokens=64, search=search_config({"search_tokens": 500}))
    run(dataset, path, ScriptedSolve(), strategies="mcts-step", options=options)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        search = record["options"]["search"]
        search["max_path_tokens"] = search.pop("max_tokens")
        search["max_tokens"] = search.pop("search_tokens")
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    again = run(
        dataset, path, ScriptedSolve(), strategies="mcts-step", resume=True, options=options
    )
    assert (again.new, again.skipped) == (0, 4)
    other = BenchOptions(max_tokens=64, search=search_config({"search_tokens": 600}))
    with pytest.raises(UsageError, match="search differ"):
        run(dataset, path, ScriptedSolve(), strategies="mcts-step", resume=True, options=other)


def test_resume_with_an_edited_dataset_is_refused(dataset, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    run(dataset, path, ScriptedSolve(), strategies="cot")
    dataset.path.write_text("Q5\t5\nQ6\t6\n", encoding="utf-8")
    edited = load_dataset(str(dataset.path))
    with pytest.raises(UsageError, match="another version of toy"):
        run(edited, path, ScriptedSolve(), strategies="cot", resume=True)


def test_resume_with_another_model_is_refused(dataset, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    run(dataset, path, ScriptedSolve(), strategies="cot")
    other = ModelRef("Other", "/o.gguf", "cd" * 32)
    with pytest.raises(UsageError, match="another model"):
        run(dataset, path, ScriptedSolve(), strategies="cot", resume=True, model=other)


def test_interrupted_search_writes_no_record(dataset, tmp_path: Path) -> None:
    class Interrupting(ScriptedSolve):
        def __call__(self, engine, question, options, prompts, **kwargs):
            result = super().__call__(engine, question, options, prompts)
            if question == "Q1200":
                result.search_summary = {"interrupted": True}
            return result

    path = tmp_path / "r.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run(dataset, path, Interrupting(), strategies="cot")
    assert [r["id"] for r in read_records(path)] == ["1"]


def test_real_solve_with_a_scripted_engine(dataset, tmp_path: Path) -> None:
    """The runner drives the real solve() (cot) end to end; only the model is scripted."""
    from fake_engine import FakeEngine

    from marco_cli.prompts import load_solve_prompts

    engine = FakeEngine("", [], fallback="7 + 1 = 8.\n</Thought>\n<Output>It is 8.</Output>")
    path = tmp_path / "r.jsonl"
    with ResultStore(path) as store:
        outcome = run_bench(
            engine,
            [dataset],
            parse_strategies("cot"),
            store,
            options=BenchOptions(max_tokens=200),
            prompts=load_solve_prompts(),
            model=MODEL,
        )
    assert [(r["id"], r["answer"], r["correct"]) for r in outcome.records] == [
        ("1", "8", False),
        ("2", "8", False),
        ("3", "8", False),
        ("4", "8", True),
    ]
    assert all(r["complete"] and r["generated_tokens"] > 0 for r in outcome.records)
