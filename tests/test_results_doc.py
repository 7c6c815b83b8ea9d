"""benchmarks/results_doc.py's comparison of the two models' searches on shared problems."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
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


def test_the_preregistered_rule_needs_more_vote_wins_and_p_below_005() -> None:
    from marco_cli.bench import as_chosen

    doc = _results_doc()

    def problem(pid: str, vote_right: bool, sc_right: bool) -> list[dict]:
        # the reward takes the lone 5; the two other rollouts vote for 7 (right) or 8
        voted = "7" if vote_right else "8"
        rollouts = [rollout(1, "5", 0.9), rollout(2, voted, 0.6), rollout(3, voted, 0.5)]
        search = dict(record(pid, "7", rollouts), strategy="mcts-step-reflect")
        return [search, sc(pid, "7", ["7" if sc_right else "6"], "sc-3")]

    def records(vote_only: int, sc_only: int, both: int) -> list[dict]:
        kinds = [(True, False)] * vote_only + [(False, True)] * sc_only + [(True, True)] * both
        return [r for i, (v, s) in enumerate(kinds) for r in problem(str(i), v, s)]

    found = doc.h1(as_chosen(records(10, 2, 5), ["vote"]))
    assert (found.common, found.vote_only, found.sc_only) == (17, 10, 2)
    assert found.p < 0.05 and found.holds
    assert not doc.h1(as_chosen(records(6, 2, 5), ["vote"])).holds  # p = 0.29
    assert not doc.h1(as_chosen(records(2, 10, 0), ["vote"])).holds  # sc wins: no switch
    assert doc.h1(as_chosen([problem("1", True, True)[0]], ["vote"])) is None  # no sc yet


def test_a_second_processs_records_must_be_in_the_whole_file_unchanged(tmp_path: Path) -> None:
    doc = _results_doc()
    whole, part = tmp_path / "whole.jsonl", tmp_path / "part.jsonl"
    whole.write_text('{"id": "1"}\n{"id": "2", "answer": "7"}\n', encoding="utf-8")
    part.write_text('{"id": "2", "answer": "7"}\n', encoding="utf-8")
    doc._check_appended(whole, part)
    doc._check_appended(whole, tmp_path / "absent.jsonl")  # a run in one process
    part.write_text('{"id": "2", "answer": "7"}\n{"id": "3"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="line 2"):
        doc._check_appended(whole, part)  # not appended
    part.write_text('{"id": "2", "answer": "8"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="line 1"):
        doc._check_appended(whole, part)  # changed on the way


def test_heldout_section_scores_both_glossary_modes_on_the_lines_both_reached(
    tmp_path: Path, monkeypatch
) -> None:
    import json

    doc = _results_doc()
    monkeypatch.setattr(doc, "ROOT", tmp_path)
    (tmp_path / "benchmarks" / "slang").mkdir(parents=True)
    (tmp_path / doc.HELDOUT_SET).write_text(
        "source\treference\tmust\tmust-not\tterms\n"
        "他又放我鸽子了\t\tstood me up\tpigeon\t放…鸽子\n"
        "我真的会谢\t\tugh|thanks for nothing\tthank you\t会谢\n"
        "还没翻译的一行\t\tx\ty\t翻译\n",
        encoding="utf-8",
    )

    def rec(pid: str, strategy: str, passed: bool, found: bool | None) -> dict:
        gold = None if found is None else [{"term": "t", "found": found}]
        return {
            "dataset": "heldout_zh.tsv",
            "id": pid,
            "strategy": strategy,
            "sample": 0,
            "translation": "x",
            "chrf": None,
            "keywords": {"passed": passed, "why": "ok"},
            "gold_terms": gold,
            "error": None,
            "generated_tokens": 3,
            "seconds": 1.0,
            "model": "toy model",
        }

    records = [
        rec("1", "cot", False, None),
        rec("2", "cot", True, None),
        rec("3", "cot", True, None),  # the glossary run has not reached line 3: left out
        rec("1", "cot+glossary", True, True),
        rec("2", "cot+glossary", True, False),
    ]
    results = tmp_path / "results"
    results.mkdir()
    path = results / "slang-heldout-demo-1.5b.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    text = "\n".join(doc.heldout_section())
    assert "### demo-1.5b (toy model)" in text
    assert "| cot | off | 2 | – | – | 1/2 (50%) | – | 0 |" in text
    assert "| cot | on | 2 | – | – | 2/2 (100%) | 1/2 (50%) | 0 |" in text
    assert "| cot | 2 | 1 | 2 | 1 | 0 | 1 |" in text  # McNemar on one discordant line
    assert "slang-heldout-demo-1.5b.jsonl` (5 records" in text
