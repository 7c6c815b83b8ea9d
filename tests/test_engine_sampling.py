"""engine.sampling.pick_tokens against the row-by-row definition it replaces: the same tokens, the
same random draws and the same log-probabilities, bit for bit (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from marco_cli.engine.base import Sampling, token_logprobs, top_ids
from marco_cli.engine.sampling import pick_tokens


def row_by_row(logits: np.ndarray, sampling: Sampling, rng: np.random.Generator):
    """One row: greedy at temperature 0; else top-k, temperature, top-p, then one draw."""
    if sampling.temperature <= 0:
        token = int(np.argmax(logits))
    else:
        ids = top_ids(logits, sampling.top_k if sampling.top_k > 0 else logits.size)
        scaled = logits[ids].astype(np.float64) / sampling.temperature
        cumulative = np.cumsum(np.exp(scaled - scaled[0]))
        cumulative /= cumulative[-1]
        if sampling.top_p < 1.0:
            keep = int(np.searchsorted(cumulative, sampling.top_p)) + 1
            ids, cumulative = ids[:keep], cumulative[:keep]
        draw = rng.random() * cumulative[-1]
        token = int(ids[min(int(np.searchsorted(cumulative, draw, side="right")), len(ids) - 1)])
    return token, token_logprobs(logits, token)


def model_like(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    """Logits shaped like a language model's: a broad body and a few dozen strong candidates."""
    logits = rng.normal(0.0, 2.5, (rows, size)).astype(np.float32)
    for row in logits:
        strong = rng.choice(size, size=min(30, size), replace=False)
        row[strong] += rng.normal(10.0, 3.0, strong.size).astype(np.float32)
    return logits


SETTINGS = [
    Sampling(),
    Sampling(temperature=0.8, top_p=0.9, top_k=40),
    Sampling(temperature=0.8, top_p=0.9, top_k=40),
    Sampling(temperature=1.0, top_p=1.0, top_k=40),
    Sampling(temperature=0.5, top_p=0.95, top_k=3),
    Sampling(temperature=1.2, top_p=0.8, top_k=0),
    Sampling(temperature=0.01, top_p=0.5, top_k=100),
]


def check(logits: np.ndarray, samplings: list[Sampling], seed: int) -> None:
    expected = [
        row_by_row(row, sampling, np.random.default_rng(seed + i))
        for i, (row, sampling) in enumerate(zip(logits, samplings, strict=True))
    ]
    rngs = [np.random.default_rng(seed + i) for i in range(len(samplings))]
    tokens, logprobs = pick_tokens(logits, samplings, rngs)
    assert tokens == [token for token, _ in expected]
    assert repr(logprobs) == repr([lp for _, lp in expected])  # exact floats, NaN included
    # Each generator was advanced exactly as often (one draw per sampled row).
    again = [np.random.default_rng(seed + i) for i in range(len(samplings))]
    for rng, fresh, sampling in zip(rngs, again, samplings, strict=True):
        if sampling.temperature > 0:
            fresh.random()
        assert rng.random() == fresh.random()


@pytest.mark.parametrize("size", [151_936, 5_000, 300, 40])
@pytest.mark.parametrize("seed", range(3))
def test_a_mixed_step_matches_row_by_row(size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    samplings = [SETTINGS[(seed + i) % len(SETTINGS)] for i in range(9)]
    samplings = [Sampling(s.temperature, s.top_p, s.top_k, seed=i) for i, s in enumerate(samplings)]
    check(model_like(rng, len(samplings), size), samplings, seed * 100)


def test_one_row_and_all_greedy_and_all_sampled() -> None:
    rng = np.random.default_rng(3)
    check(model_like(rng, 1, 2_000), [SETTINGS[1]], 1)
    check(model_like(rng, 6, 2_000), [Sampling()] * 6, 2)
    check(model_like(rng, 16, 151_936), [SETTINGS[1]] * 16, 3)


def test_ties_flat_rows_and_float64() -> None:
    rng = np.random.default_rng(4)
    tied = np.round(model_like(rng, 4, 3_000))  # whole numbers: many ties at every rank
    flat = np.zeros((2, 3_000), dtype=np.float32)  # every block maximum ties
    rows = np.concatenate([tied, flat]).astype(np.float32)
    check(rows, [SETTINGS[i % 5] for i in range(6)], 5)
    check(rows.astype(np.float64), [SETTINGS[i % 5] for i in range(6)], 6)


def test_rows_without_a_finite_maximum_take_the_row_by_row_path() -> None:
    rng = np.random.default_rng(5)
    logits = model_like(rng, 4, 1_000)
    logits[1, 17] = np.inf
    logits[2, :] = -np.inf
    logits[2, 3] = 0.0  # finite maximum, -inf everywhere else
    with np.errstate(invalid="ignore"):
        check(logits, [Sampling(), Sampling(), SETTINGS[1], SETTINGS[3]], 7)
        check(logits[[1]], [SETTINGS[3]], 8)


def test_rows_on_a_pool_of_threads_match_one_thread() -> None:
    from marco_cli.engine.sampling import RowPool

    rng = np.random.default_rng(9)
    logits = model_like(rng, 7, 151_936)
    samplings = [SETTINGS[i % len(SETTINGS)] for i in range(7)]
    alone = pick_tokens(logits, samplings, [np.random.default_rng(i) for i in range(7)])
    pool = RowPool(3)
    try:
        pooled = pick_tokens(logits, samplings, [np.random.default_rng(i) for i in range(7)], pool)
    finally:
        pool.close()
    assert repr(pooled) == repr(alone)


def test_the_pool_counts_its_helpers_cpu_time() -> None:
    from marco_cli.engine.sampling import RowPool

    rows = np.random.default_rng(10).normal(size=(16, 151_936)).astype(np.float32)

    def work() -> None:  # every thread that runs it does the same CPU work
        np.exp(rows).sum()

    alone, pool = RowPool(1), RowPool(2)
    try:
        alone.run(work, helpers=1)
        pool.run(work, helpers=1)
    finally:
        pool.close()
    assert alone.cpu_seconds == 0.0  # no helper: the caller counts its own time
    assert pool.cpu_seconds > 0.0
