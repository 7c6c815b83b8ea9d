"""Search diagnostics (`bench/diagnostics.py`): coverage, select modes, the reward's AUC, budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_bench_sc import run_suite

from marco_cli.bench import (
    BenchOptions,
    as_chosen,
    compare_rewards,
    diagnose,
    diagnostics_table,
    rank_auc,
    read_records,
    rewards_table,
)
from marco_cli.errors import UsageError
from marco_cli.search import search_config


def rollout(node: int, answer: str, reward: float, closed: bool = True) -> dict:
    return {
        "node_id": node,
        "answer": answer,
        "key": answer,
        "reward": reward,
        "tokens": 9,
        "closed": closed,
    }


def record(
    pid: str,
    reference: str,
    rollouts: list[dict],
    *,
    choices=None,
    rollouts_run=None,
    stop="iterations",
    correct=None,
) -> dict:
    search = {
        "stop_reason": stop,
        "completed": rollouts,
        "stats": {"rollouts": len(rollouts) if rollouts_run is None else rollouts_run},
    }
    if choices is not None:
        search["choices"] = choices
    if correct is None:
        correct = bool(rollouts) and max(rollouts, key=lambda r: r["reward"])["answer"] == reference
    return {
        "dataset": "toy",
        "id": pid,
        "strategy": "mcts-step",
        "sample": 0,
        "reference": reference,
        "correct": correct,
        "search": search,
    }


@pytest.mark.parametrize(
    ("pos", "neg", "auc"),
    [
        ([0.9], [0.1], 1.0),
        ([0.1], [0.9], 0.0),
        ([0.5], [0.5], 0.5),
        ([0.9, 0.2], [0.5], 0.5),
        ([0.9], [], None),
        ([], [0.3], None),
    ],
)
def test_rank_auc(pos, neg, auc) -> None:
    assert rank_auc(pos, neg) == auc


def test_coverage_select_modes_auc_and_budget() -> None:
    records = [
        # the reward picks the wrong 5, the vote the right 7; the right answer is covered
        record(
            "1",
            "7",
            [rollout(1, "5", 0.9), rollout(2, "7", 0.6), rollout(3, "7", 0.5, False)],
            choices={"reward": 0, "visits": 1, "vote": 1},
            rollouts_run=4,
        ),
        # nothing correct anywhere: not covered
        record(
            "2",
            "3",
            [rollout(1, "4", 0.8), rollout(2, "6", 0.7)],
            choices={"reward": 0, "visits": 1, "vote": 0},
        ),
        # written before choices existed: reward and vote recomputed, visits unknown
        record("3", "2", [rollout(1, "2", 0.7), rollout(2, "9", 0.4), rollout(3, "9", 0.3)]),
        # no rollout completed
        record("4", "1", [], rollouts_run=3, stop="max_tokens", choices={}),
    ]
    (d,) = diagnose(records)
    assert (d.dataset, d.strategy, d.n) == ("toy", "mcts-step", 4)
    assert d.accuracy == 0.25  # only problem 3 was answered right
    assert d.oracle == 0.5  # problems 1 and 3
    # 3 votes for the 9; weighted, problem 1's 7s (0.6 + 0.5) outweigh its 5 (0.9); these
    # rollouts carry no confidences, so their lowest window is unknown
    assert d.select == {
        "reward": 1 / 3,
        "visits": 0.5,
        "vote": 1 / 3,
        "weighted-vote": 2 / 3,
        "lowest-window": None,
    }
    assert d.select_n == {
        "reward": 3,
        "visits": 2,
        "vote": 3,
        "weighted-vote": 3,
        "lowest-window": 0,
    }
    # within: problem 1 has 2 right x 1 wrong (both right ones lose), problem 3 has 1 x 2 (wins)
    assert d.within_pairs == 4 and d.auc_within == pytest.approx(2 / 4)
    # pooled: right 0.6, 0.5, 0.7 against wrong 0.9, 0.8, 0.7, 0.4, 0.3
    assert d.auc_pooled == pytest.approx((2 + 2 + 2.5) / 15)  # each right one beats 0.4 and 0.3
    # same-problem pairs by length (all rollouts have 9 tokens here): none
    assert d.length_bias is None
    assert d.completed == 2.0 and d.cut == pytest.approx((1 + 0 + 0 + 3) / 4)
    assert d.forced == pytest.approx(1 / 8) and d.distinct == pytest.approx((2 + 2 + 2 + 0) / 4)
    assert d.no_answer == 1 and d.stop_reasons == {"iterations": 3, "max_tokens": 1}
    # problem 1: only the vote is right; problem 3: only the reward
    assert (d.vote_only, d.reward_only, d.vote_vs_reward_p) == (1, 1, 1.0)
    table = diagnostics_table([d])
    assert table.rows[0][13] == "–"
    assert table.rows[0][4:11] == [
        "50.0",
        "33.3 (n=3)",
        "50.0 (n=2)",
        "33.3 (n=3)",
        "66.7 (n=3)",
        "–",
        "1/1 (1.0000)",
    ]


def test_length_bias_compares_longer_and_shorter_rollouts_of_a_problem() -> None:
    long_high = [dict(rollout(1, "1", 0.9), tokens=300), dict(rollout(2, "2", 0.5), tokens=100)]
    long_low = [dict(rollout(1, "1", 0.4), tokens=300), dict(rollout(2, "2", 0.6), tokens=100)]
    tie = [dict(rollout(1, "1", 0.7), tokens=300), dict(rollout(2, "2", 0.7), tokens=100)]
    records = [record("1", "1", long_high), record("2", "1", long_high), record("3", "1", long_low)]
    assert diagnose(records)[0].length_bias == pytest.approx(2 / 3)
    assert diagnose([record("1", "1", tie)])[0].length_bias == 0.5


def test_self_consistency_gets_coverage_and_distinct_answers_of_its_chains() -> None:
    def sc(pid: str, reference: str, answers: list, correct: bool) -> dict:
        return {
            "dataset": "toy",
            "id": pid,
            "strategy": "sc-5",
            "sample": 0,
            "reference": reference,
            "correct": correct,
            "sc": {"answers": answers},
        }

    records = [
        sc("1", "7", ["7", "5", "5"], False),  # covered, the vote lost it
        sc("2", "3", ["3", "3", None, "3"], True),
        sc("3", "1", [None, None], False),
    ]
    (d,) = diagnose(records + [record("1", "7", [rollout(1, "7", 0.9)], choices={"reward": 0})])[1:]
    assert (d.strategy, d.n, d.accuracy, d.oracle) == ("sc-5", 3, 1 / 3, 2 / 3)
    assert d.completed == 3.0 and d.distinct == 1.0 and d.no_answer == 1
    assert d.auc_within is None and not any(d.select_n.values())
    assert d.vote_vs_reward_p is None


def test_rewards_rescore_the_same_rollouts_from_their_confidences() -> None:
    # the right answer's path is long and sure with one unsure token; the wrong one is short
    right = dict(rollout(1, "7", 0.0), tokens=10, confidences=[0.99] * 9 + [0.1])
    wrong = dict(rollout(2, "5", 0.0), tokens=4, confidences=[0.8, 0.8, 0.8, 0.8, None])
    records = [
        record("1", "7", [right, wrong], choices={"reward": 0}),
        # no confidences stored (an older record): left out of the comparison
        record("2", "7", [rollout(1, "7", 0.9)], choices={"reward": 0}),
        # no rollout completed: counts as a wrong answer for every reward
        record("3", "1", [], choices={}),
    ]
    found = {d.reward: d for d in compare_rewards(records)}
    assert set(found) == {"confidence", "confidence-geo", "confidence-low"}
    assert all(d.n == 2 and d.within_pairs == 1 for d in found.values())
    # the mean, 0.901 against 0.8: the right (longer) path wins
    assert found["confidence"].accuracy == 0.5 and found["confidence"].auc_within == 1.0
    assert found["confidence"].length_bias == 1.0
    # the geometric mean (0.79) and the lowest tenth (0.1) let its unsure token decide
    for name in ("confidence-geo", "confidence-low"):
        assert found[name].accuracy == 0.0 and found[name].auc_within == 0.0
    table = rewards_table(list(found.values()))
    assert [row[2] for row in table.rows] == ["confidence", "confidence-geo", "confidence-low"]
    assert table.rows[0][4:] == ["50.0", "1.00 (1)", "1.00"]


def test_records_without_a_search_are_left_out() -> None:
    assert (
        diagnose(
            [
                {
                    "dataset": "toy",
                    "id": "1",
                    "strategy": "cot",
                    "sample": 0,
                    "reference": "1",
                    "correct": True,
                    "search": None,
                }
            ]
        )
        == []
    )


def test_diagnostics_of_a_real_search_run(tiny_engine, tmp_path: Path) -> None:
    options = BenchOptions(max_tokens=12, search=search_config({"iterations": 3, "branch": 2}))
    suite, _ = run_suite(tiny_engine, tmp_path, "cot,mcts-mini32", options, "d.jsonl")
    records = read_records(suite.path)
    for r in records:
        if r["strategy"] == "mcts-mini32" and r["search"]["completed"]:
            chosen = r["search"]["completed"][r["search"]["choices"]["reward"]]
            assert chosen["answer"] in r["output"] or r["answer"] == ""
    (d,) = diagnose(records)
    assert d.strategy == "mcts-mini32" and d.n == 2
    assert all(d.select_n[mode] == 2 - d.no_answer for mode in d.select_n)
    # the report shows them, and --json carries them
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "marco_cli",
            "bench",
            "report",
            str(suite.path),
            "--diagnostics",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert [x["strategy"] for x in data["diagnostics"]] == ["mcts-mini32"]
    assert data["diagnostics"][0]["n"] == 2
    # every reward re-scores the run's searches; the run's own one chooses what the search chose
    rescored = {x["reward"]: x for x in data["rewards"]}
    assert set(rescored) == {"confidence", "confidence-geo", "confidence-low"}
    assert rescored["confidence"]["n"] == 2
    assert rescored["confidence"]["accuracy"] == d.accuracy
    # each search scored by a recorded choice sits beside the strategies, paired with them
    out = subprocess.run(
        [sys.executable, "-m", "marco_cli", "bench", "report", str(suite.path)]
        + ["--choice", "vote,weighted-vote", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    strategies = [s["strategy"] for s in data["summary"]]
    assert strategies == ["cot", "mcts-mini32", "mcts-mini32@vote", "mcts-mini32@weighted-vote"]
    vote = data["summary"][2]
    assert vote["n"] == 2  # a search without a completed rollout counts as wrong
    assert vote["correct"] == round((d.select["vote"] or 0) * d.select_n["vote"])
    assert ("cot", "mcts-mini32@vote") in {(p["first"], p["second"]) for p in data["paired"]}


def test_a_choice_scores_each_search_by_its_recorded_pick() -> None:
    records = [
        record("1", "7", [rollout(1, "5", 0.9), rollout(2, "7", 0.6), rollout(3, "7", 0.5)]),
        record("2", "4", [rollout(1, "4", 0.8)], choices={"reward": 0, "vote": 0}),
        record("3", "1", [], choices={}),
    ]
    views = [r for r in as_chosen(records, ["vote"]) if r["strategy"] == "mcts-step@vote"]
    assert [(r["id"], r["answer"], r["correct"]) for r in views] == [
        ("1", "7", True),  # the vote takes the two 7s over the reward's 5
        ("2", "4", True),
        ("3", None, False),  # no completed rollout: no answer
    ]
    assert all(r["search"] is None for r in views)  # diagnostics see each search once
    # a choice recorded after a search ran is left out for it, not guessed
    assert [r["id"] for r in as_chosen(records[1:2], ["visits"]) if "@" in r["strategy"]] == []
    with pytest.raises(UsageError, match="unknown choice 'votes'"):
        as_chosen(records, ["votes"])
