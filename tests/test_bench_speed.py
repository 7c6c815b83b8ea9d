"""The speed suite: one table from one run (scripted engine; the tiny GGUF for the real path)."""

from __future__ import annotations

import pytest

from marco_cli.bench.report import render_markdown
from marco_cli.bench.speed_suite import (
    SPEED_SEARCH,
    peak_rss_mib,
    run_speed_suite,
    speed_table,
)
from marco_cli.prompts import load_solve_prompts
from marco_cli.search import search_config


def test_speed_suite_on_a_scripted_engine() -> None:
    from fake_engine import FakeEngine

    engine = FakeEngine("", [], fallback="Step one.\n\nStep two.\n</Thought>\n<Output>7</Output>")
    steps: list[str] = []
    result = run_speed_suite(
        engine,
        load_solve_prompts(),
        decode_tokens=8,
        search=search_config({"iterations": 2}, base=SPEED_SEARCH),
        on_step=steps.append,
    )
    assert [d.sequences for d in result.decode] == [1, 2, 4, 8]
    assert result.decode[3].tokens == 8 * 8
    assert result.prompt_evaluated == result.prompt_tokens  # the first request was cold
    assert result.search.branch == 4 and result.search.iterations <= 2
    assert result.peak_rss_mib > 0
    assert steps == [
        "time to first token",
        "a search",
        "decode, 1 sequence",
        "decode, 2 sequences",
        "decode, 4 sequences",
        "decode, 8 sequences",
    ]
    # The decode rows come last: per row, one request to cache the prompt, then one batch.
    assert [len(c) for c in engine.calls[-8:]] == [1, 1, 1, 2, 1, 4, 1, 8]
    text = render_markdown(speed_table(result))
    for label in (
        "time to first token",
        "decode, 1 sequence",
        "decode, batch of 2",
        "decode, batch of 8",
        "MCTS effective",
        "MCTS evaluated / unique",
        "peak memory",
    ):
        assert f"| {label} |" in text
    data = result.to_json()
    assert [d["sequences"] for d in data["decode"]] == [1, 2, 4, 8]
    assert "eval_ratio" in data["search"]


def test_peak_rss_is_in_mib() -> None:
    assert 10 < peak_rss_mib() < 1024 * 1024


@pytest.mark.tiny
def test_speed_suite_on_the_tiny_model(tiny_engine) -> None:
    search = search_config({"iterations": 2, "max_tokens": 48, "search_tokens": 160})
    result = run_speed_suite(tiny_engine, load_solve_prompts(), decode_tokens=16, search=search)
    assert result.single.tokens > 0 and result.single.tokens_per_second > 0
    assert all(d.tokens_per_second > 0 for d in result.decode)
    assert result.search.search_tokens > 0
    # Every generated token but a sequence's last is fed back once; nothing is re-evaluated.
    assert 0.8 <= result.tree_eval_ratio <= 1.2
    # Where the time went: every row decoded one step per token and did host work between.
    for run in [*result.decode, result.search]:
        times = run.times if hasattr(run, "times") else run.search_times
        assert times.steps >= 1 and times.decode_seconds > 0
        assert times.engine_host_seconds > 0 and times.engine_host_cpu_seconds > 0
        assert times.host_seconds + 1e-3 >= times.engine_host_seconds
    assert max(run.times.steps for run in result.decode) >= 16  # 16 tokens, one step each
    assert result.decode_prompt_tokens > 0
    text = render_markdown(speed_table(result))
    assert "| llama_decode ms/step | host ms/step | host ms/token / cpu |" in text
    data = result.to_json()
    assert data["decode"][-1]["times"]["steps"] == result.decode[-1].times.steps
    assert data["search"]["search_times"]["steps"] == result.search.search_times.steps


def test_speed_suite_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fake_engine import FakeEngine

    import marco_cli.cli.session as session
    from marco_cli.cli import main

    engine = FakeEngine("", [], fallback="One.\n\nTwo.\n</Thought>\n<Output>7</Output>")
    monkeypatch.setattr(session, "open_engine", lambda settings: engine)
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--suite", "speed", "--max-tokens", "8", "--iterations", "2"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    assert "| decode, batch of 4 |" in out and "| MCTS effective |" in out
    assert "branch 4, " in out and engine.closed


def test_single_decode_restarts_short_answers_from_the_prompt() -> None:
    from fake_engine import FakeEngine

    from marco_cli.bench.search_speed import single_decode

    answer = "Seven.</Output>"  # 15 tokens, then the end of the turn
    engine = FakeEngine("Q:", [answer])
    prompt = engine.prompt_tokens()
    timing = single_decode(engine, prompt, 40)
    assert timing.tokens == 40
    timed = engine.calls[1:]  # the first call only warms the prompt's cache
    assert all(len(call) == 1 and call[0].prompt == tuple(prompt) for call in timed)
    assert [call[0].max_tokens for call in timed] == [40, 25, 10]
    assert timed[0][0].sampling.temperature == 0  # greedy first, then fresh samples
    assert {call[0].sampling.seed for call in timed[1:]} == {1, 2}


def test_speed_measurement_reports_both_speeds_and_the_ratio():
    from fake_engine import Doc, FakeEngine

    from marco_cli.bench.search_speed import measure_search_speed
    from marco_cli.reasoning import ReasoningTask
    from marco_cli.search import SearchConfig

    docs = [
        Doc(f"{w}1.\n</Thought>\n<Output>{n}</Output>", p)
        for w, n, p in (("a", 1, 0.9), ("b", 2, 0.5))
    ]
    eng = FakeEngine("Q?", docs, pick="index")
    config = SearchConfig(iterations=3, branch=3, seed=0, early_stop=0)
    pairs = []
    report, result = measure_search_speed(
        eng,
        eng.prompt_tokens(),
        ReasoningTask("<Thought>\n"),
        config=config,
        single_tokens=50,
        repeats=2,
        on_pair=lambda i, single, search: pairs.append(i),
    )
    assert report.single_tokens == 100  # the fake ends its turn early: sampled again
    assert report.search_tokens > result.stats.generated > 0  # two searches
    assert report.branch == 3 and report.iterations == 6 and pairs == [0, 1]
    assert len(report.pair_speedups) == 2
    data = report.to_json()
    assert {"speedup", "cpu_speedup", "eval_ratio", "meets_targets"} <= set(data)
    assert any("speedup" in line for line in report.lines())
    assert report.mean_batch is not None and data["mean_decode_batch"] == round(
        report.mean_batch, 2
    )


def test_a_server_that_does_not_say_how_it_batched_shows_unknown_not_zero():
    import dataclasses

    from marco_cli.bench.search_speed import SpeedReport

    fields = {f.name: 0 for f in dataclasses.fields(SpeedReport)}
    report = SpeedReport(
        **{
            **fields,
            "batch_sizes": [],
            "pair_speedups": [],
            "model": "m",
            "backend": "server",
            "action": "step",
            "stop_reason": "x",
        }
    )
    assert report.mean_batch is None and report.to_json()["mean_decode_batch"] is None
    assert any(line.endswith("mean decode batch unknown") for line in report.lines())
