"""benchmarks/results_doc.py's comparison of the two models' searches on shared problems."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from test_bench_diagnostics import record, rollout


def _results_doc():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "results_doc.py"
    spec = importlib.util.spec_from_file_location("results_doc", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def cot(pid: str, correct: bool) -> dict:
    return {"dataset": "toy", "id": pid, "strategy": "cot", "sample": 0, "correct": correct}


def sc(pid: str, reference: str, answers: list[str], name: str) -> dict:
    return {
        "dataset": "toy",
        "id": pid,
        "strategy": name,
        "sample": 0,
        "reference": reference,
        "correct": answers[0] == reference,
        "sc": {"answers": answers},
    }


def test_size_trend_compares_the_search_with_sc_on_the_problems_both_runs_share() -> None:
    doc = _results_doc()
    small = [
        # problem 1: the reward picks the wrong 5, sc's first chain is right
        record(
            "1", "7", [rollout(1, "5", 0.9), rollout(2, "7", 0.6)], choices={"reward": 0, "vote": 1}
        ),
        sc("1", "7", ["7", "7", "5"], "sc-3"),
        cot("1", False),
        # problem 2: only the search ran, so it is left out of the comparison
        record("2", "3", [rollout(1, "3", 0.9)]),
    ]
    large = [
        record(
            "1", "7", [rollout(1, "7", 0.9), rollout(2, "5", 0.6)], choices={"reward": 0, "vote": 0}
        ),
        sc("1", "7", ["5", "7"], "sc-5"),  # a different name, the same strategy
        cot("1", True),
        cot("2", False),  # not shared: it must not count
        record("2", "3", [rollout(1, "3", 0.9)]),
        sc("2", "3", ["3"], "sc-5"),
    ]
    runs = {"small": small, "large": large}
    assert doc._common_problems(runs) == {("toy", "1")}

    lines = doc.size_trend(runs)
    rows = [line.strip("| ").split(" | ") for line in lines if line.startswith("| toy |")]
    head = ["toy", "mcts-step"]
    assert rows == [
        head
        + ["small", "1", "0.0", "100.0", "0.0", "-100.0", "100.0 / 100.0", "0.00 (1)", "-100.0"],
        head
        + ["large", "1", "100.0", "0.0", "100.0", "+100.0", "100.0 / 100.0", "1.00 (1)", "+0.0"],
    ]


def test_size_trend_is_empty_without_shared_problems() -> None:
    doc = _results_doc()
    runs = {"small": [record("1", "7", [rollout(1, "7", 0.9)])], "large": []}
    assert doc.size_trend(runs) == []
