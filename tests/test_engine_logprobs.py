"""base.token_logprobs and base.find_stop against straightforward references (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from marco_cli.engine.base import TOP_LOGPROBS, find_stop, token_logprobs, top_ids


def reference(logits: np.ndarray, token: int, k: int = TOP_LOGPROBS):
    """Full softmax in float64 and a full stable sort: slow and obviously right."""
    x = np.asarray(logits, dtype=np.float64)
    logp = x - x.max() - np.log(np.exp(x - x.max()).sum())
    order = np.argsort(-logp, kind="stable")[:k]
    return float(logp[token]), order.tolist(), logp[order].tolist(), logp


@pytest.mark.parametrize("seed", range(5))
def test_matches_reference_on_random_logits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=1000)
    token = int(rng.integers(1000))
    logprob, ids, values, _ = reference(logits, token)
    got = token_logprobs(logits, token)
    assert got.token == token
    assert got.logprob == pytest.approx(logprob, abs=1e-9)
    assert list(got.top_ids) == ids
    assert got.top_logprobs == pytest.approx(values, abs=1e-9)
    assert got.logprob <= 0.0
    assert sum(np.exp(got.top_logprobs)) <= 1.0 + 1e-12


def test_greedy_token_is_first_candidate() -> None:
    logits = np.random.default_rng(7).normal(size=500)
    best = int(np.argmax(logits))
    got = token_logprobs(logits, best)
    assert got.top_ids[0] == best
    assert got.logprob == got.top_logprobs[0]


def test_chosen_token_outside_top_five() -> None:
    logits = np.arange(100, dtype=np.float64)  # token 99 is best, token 3 far outside the top 5
    logprob, ids, values, _ = reference(logits, 3)
    got = token_logprobs(logits, 3)
    assert 3 not in got.top_ids
    assert list(got.top_ids) == ids == [99, 98, 97, 96, 95]
    assert got.logprob == pytest.approx(logprob)
    assert got.top_logprobs == pytest.approx(values)


def test_ties_inside_the_top_five() -> None:
    logits = np.array([0.0, 2.0, 5.0, 2.0, 5.0, 1.0, 2.0, -1.0])
    got = token_logprobs(logits, 5)
    logprob, ids, values, _ = reference(logits, 5)
    # Tied candidates come in id order, exactly as a full stable sort orders them.
    assert list(got.top_ids) == ids == [2, 4, 1, 3, 6]
    assert got.top_logprobs == pytest.approx(values)
    assert got.logprob == pytest.approx(logprob)


def test_ties_across_the_cut() -> None:
    logits = np.array([1.0] * 4 + [3.0] * 8)  # eight equally likely tokens, five places
    got = token_logprobs(logits, 1)
    logprob, ids, values, _ = reference(logits, 1)
    assert list(got.top_ids) == ids == [4, 5, 6, 7, 8]
    assert got.top_logprobs == pytest.approx(values)
    assert got.top_logprobs == pytest.approx([float(np.log(1 / (8 + 4 * np.exp(-2.0))))] * 5)
    assert got.logprob == pytest.approx(logprob)


def test_wide_logit_ranges_and_infinities() -> None:
    logits = np.array([-np.inf, 40.0, -300.0, -np.inf, 39.0, -2000.0, 0.0], dtype=np.float32)
    got = token_logprobs(logits, 2)
    logprob, ids, values, _ = reference(logits, 2)
    assert list(got.top_ids) == ids == [1, 4, 6, 2, 5]
    assert got.logprob == pytest.approx(logprob)
    assert got.top_logprobs == pytest.approx(values)
    assert top_ids(logits, 3).tolist() == [1, 4, 6]
    assert top_ids(np.array([2, 7, 7, 1]), 2).tolist() == [1, 2]


def test_float32_input_is_accurate_and_untouched() -> None:
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=150_000) * 4).astype(np.float32)
    before = logits.copy()
    token = int(np.argsort(logits)[-20])
    logprob, ids, values, _ = reference(logits, token)
    got = token_logprobs(logits, token)
    assert np.array_equal(logits, before)
    assert isinstance(got.logprob, float)
    assert got.logprob == pytest.approx(logprob, abs=1e-6)
    assert list(got.top_ids) == ids
    assert got.top_logprobs == pytest.approx(values, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [
        ("hello world", [], None),
        ("hello world", ["xyz"], None),
        ("hello\nworld", ["\n"], (5, "\n")),
        ("\n\n  first line\nsecond", ["\n"], (14, "\n")),  # leading whitespace never stops
        ("\n\n", ["\n"], None),
        ("a Step 2: b</Output> c", ["</Output>", "Step 2:"], (2, "Step 2:")),  # the earliest
        ("abc</Output>", ["</Output>", "</Out"], (3, "</Output>")),  # same index: first listed
    ],
)
def test_find_stop(text: str, stops: list[str], expected: tuple[int, str] | None) -> None:
    assert find_stop(text, stops) == expected


@pytest.mark.parametrize("k", [1, 5, 40, 300])
def test_top_ids_matches_a_full_stable_sort_when_many_values_are_near_the_top(k: int) -> None:
    # A peak far above a flat, tie-heavy bulk: the margin steps jump from a handful of
    # candidates to thousands, which the partition must cut down without changing the order.
    rng = np.random.default_rng(k)
    logits = np.round(rng.normal(size=20_000), 1).astype(np.float32)
    logits[[7, 11_000]] = 30.0
    expected = np.argsort(-logits, kind="stable")[:k].tolist()
    assert top_ids(logits, k).tolist() == expected
