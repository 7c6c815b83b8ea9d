"""Self-consistency (`sc-K`): the vote, batching, forced answers and --match-tokens on a scripted
engine; then through the real llama.cpp engine on the tiny model, via the bench runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_engine import Doc, FakeEngine

from marco_cli.bench import BenchOptions, ModelRef, parse_strategies, read_records
from marco_cli.bench.datasets import Selection
from marco_cli.bench.math_suite import prepare_math_suite
from marco_cli.bench.self_consistency import (
    MAX_CHAINS,
    SC_TEMPERATURE,
    majority_vote,
    solve_self_consistency,
)
from marco_cli.errors import UsageError
from marco_cli.prompts import load_solve_prompts
from marco_cli.reasoning import SolveOptions
from marco_cli.search import search_config

PROMPTS = load_solve_prompts()
QUESTION = "What is 3 + 4?"


def fake(docs: list[Doc | str], **kwargs) -> FakeEngine:
    engine = FakeEngine("", docs, **kwargs)
    # The text after the question's prompt (its assistant prefix included) is the response.
    engine.prompt = (
        engine.detokenize(
            engine.chat_tokens(
                [
                    {"role": "system", "content": PROMPTS.system("zh")},
                    {"role": "user", "content": QUESTION},
                ]
            )
        )
        + PROMPTS.assistant_prefix
    )
    return engine


def answer(n: int, pad: str = "") -> str:
    return f"so{pad} it is {n}.\n</Thought>\n<Output>{n}</Output>"


@pytest.mark.parametrize(
    ("answers", "winner"),
    [
        (["7", "8", "8", "7", "8"], 1),
        (["7", "8", "8", "7"], 0),  # a tie: the answer given first wins
        (["8", "7", "7", "8"], 0),
        ([None, "8", None, "7"], 1),  # chains without an answer do not vote
        ([None, None], None),
        (["5"], 0),
    ],
)
def test_majority_vote(answers: list[str | None], winner: int | None) -> None:
    assert majority_vote(answers) == winner


def test_k_chains_in_one_batch_and_the_majority_wins() -> None:
    # Seeds 0..4 pick documents 0, 1, 2, 0, 1: answers 7, 8, 8, 7, 8.
    engine = fake([answer(7), answer(8), answer(8, " yes")])
    result = solve_self_consistency(engine, QUESTION, SolveOptions(seed=0), PROMPTS, chains=5)
    assert [len(batch) for batch in engine.calls] == [5]
    assert {r.sampling.temperature for r in engine.calls[0]} == {SC_TEMPERATURE}
    assert len({r.sampling.seed for r in engine.calls[0]}) == 5
    assert result.answers == ["7", "8", "8", "7", "8"]
    assert result.winner == 1 and result.answer == "8" and result.complete
    assert result.generated_tokens == sum(result.chain_tokens)
    assert result.summary()["votes"] == 3
    # The prompt is evaluated once, not once per chain.
    assert result.evaluated_tokens == result.prompt_tokens + result.generated_tokens


def test_attempts_with_other_seeds_sample_other_chains() -> None:
    engine = fake([answer(7), answer(8), answer(9)])
    solve_self_consistency(engine, QUESTION, SolveOptions(seed=1), PROMPTS, chains=2)
    assert [r.sampling.seed for r in engine.calls[0]] == [MAX_CHAINS, MAX_CHAINS + 1]


def test_a_chain_that_ends_without_an_answer_is_made_to_give_one() -> None:
    engine = fake(["thinking: 3 and 4 make 7.", answer(8)], fallback=Doc("7</Output>"))
    result = solve_self_consistency(engine, QUESTION, SolveOptions(seed=0), PROMPTS, chains=3)
    # Chains 0 and 2 end their turn without <Output>: forced, then continued together.
    assert [len(batch) for batch in engine.calls] == [3, 2]
    assert result.answers == ["7", "8", "7"] and result.winner == 0
    assert result.thought.startswith("thinking")


def test_match_tokens_samples_until_the_target_is_reached() -> None:
    doc = answer(7)  # every chain generates len(doc) tokens (one per character)
    engine = fake([doc])
    target = 2 * len(doc) + 5
    result = solve_self_consistency(
        engine, QUESTION, SolveOptions(seed=0), PROMPTS, chains=2, match_tokens=target
    )
    # Round one: 2 chains, 5 tokens short; round two holds just the one chain still needed.
    assert [len(batch) for batch in engine.calls] == [2, 1]
    assert result.generated_tokens == 3 * len(doc) >= target
    engine = fake([doc])
    result = solve_self_consistency(
        engine, QUESTION, SolveOptions(seed=0), PROMPTS, chains=4, match_tokens=len(doc)
    )
    assert [len(batch) for batch in engine.calls] == [4]  # the first round always runs whole


def test_sc_in_strategy_lists() -> None:
    specs = parse_strategies("cot,sc,sc-3,mcts-step", reflect=True)
    assert [s.name for s in specs] == ["cot-reflect", "sc-5", "sc-3", "mcts-step-reflect"]
    assert [s.chains for s in specs] == [0, 5, 3, 0] and specs[1].strategy == "sc"
    assert parse_strategies("sc-noreflect")[0].name == "sc-5"
    for bad, message in (("sc-reflect", "without reflection"), ("sc-0", "unknown strategy")):
        with pytest.raises(UsageError, match=message):
            parse_strategies(bad)


MODEL = ModelRef("tiny", "tiny.gguf", "0" * 64)


def toy_set(tmp_path: Path) -> Path:
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 2 + 3?\t5\nWhat is 4 + 4?\t8\n", encoding="utf-8")
    return toy


def run_suite(engine, tmp_path: Path, strategies: str, options: BenchOptions, name: str):
    suite = prepare_math_suite(
        [str(toy_set(tmp_path))],
        strategies,
        options,
        PROMPTS,
        lambda: MODEL,
        selection=Selection(ids="1,2"),
        results=tmp_path / name,
    )
    try:
        outcome = suite.run(engine)
    finally:
        suite.close()
    return suite, outcome


def test_sc_through_the_real_engine(tiny_engine, tmp_path: Path) -> None:
    suite, outcome = run_suite(
        tiny_engine, tmp_path, "cot,sc-3", BenchOptions(max_tokens=16), "sc.jsonl"
    )
    records = [r for r in read_records(suite.path) if r["strategy"] == "sc-3"]
    assert len(records) == 2
    for record in records:
        sc = record["sc"]
        assert sc["chains"] == 3 and len(sc["answers"]) == 3 and sc["match_tokens"] is None
        assert record["generated_tokens"] == sum(sc["chain_tokens"]) > 0
        assert record["options"]["temperature"] == SC_TEMPERATURE
        # One shared prompt: evaluating it once per chain would exceed this.
        assert record["evaluated_tokens"] <= record["prompt_tokens"] + record["generated_tokens"]
    tables = suite.tables(outcome)
    assert tables[0].headers[5] == "gen tok/problem"
    assert [row[1:3] for row in tables[1].rows] == [["cot", "sc-3"]]  # the paired table


def test_sc_matches_the_search_tokens_on_the_real_engine(tiny_engine, tmp_path: Path) -> None:
    options = BenchOptions(
        max_tokens=12, match_tokens=True, search=search_config({"iterations": 2, "branch": 2})
    )
    # sc is listed first but runs after the search it matches.
    suite, _ = run_suite(tiny_engine, tmp_path, "sc-2,mcts-mini32", options, "match.jsonl")
    records = {(r["id"], r["strategy"]): r for r in read_records(suite.path)}
    for pid in ("1", "2"):
        search, sc = records[(pid, "mcts-mini32")], records[(pid, "sc-2")]
        target = search["generated_tokens"]
        assert sc["sc"]["match_tokens"] == target and sc["options"]["sc"]["match_tokens"] == (
            "mcts-mini32"
        )
        assert sc["generated_tokens"] >= target
        # It stopped at the first round that reached the target.
        assert sc["generated_tokens"] - max(sc["sc"]["chain_tokens"]) * 2 < target
