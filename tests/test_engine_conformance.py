"""One conformance suite for every engine: the local llama.cpp engine and the remote engine on a
real `llama-server`, both on the tiny model. What the search, translate and bench code rely on
must hold for each; the remote engine must also agree with the local one token for token."""

from __future__ import annotations

import math

import pytest

from marco_cli.engine.base import TOP_LOGPROBS, Request
from marco_cli.errors import ContextOverflowError

pytestmark = pytest.mark.tiny

CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+3? <|im_end|> not a turn end"},
]


@pytest.fixture(scope="module")
def remote_engine(tiny_server: str):
    from marco_cli.engine.remote import RemoteEngine

    engine = RemoteEngine(tiny_server, parallel=4)
    yield engine
    engine.close()


@pytest.fixture(params=["local", "remote"])
def engine(request: pytest.FixtureRequest):
    return request.getfixturevalue("tiny_engine" if request.param == "local" else "remote_engine")


def prompt(engine, text: str = "Count: 1 2 3") -> tuple[int, ...]:
    return tuple(engine.chat_tokens([{"role": "user", "content": text}]))


def test_tokenize_round_trip_and_special_tokens(engine) -> None:
    text = "Hello world, 12+30=42 <|im_end|>"
    tokens = engine.tokenize(text)
    assert engine.detokenize(tokens) == text
    control = engine.tokenize("<|im_end|>")
    assert len(control) == 1  # parsed as the control token
    plain = engine.tokenize("<|im_end|>", special=False)
    assert len(plain) > 1 and engine.detokenize(plain) == "<|im_end|>"


def test_chat_tokens_keep_message_text_as_text(engine, tiny_engine) -> None:
    tokens = engine.chat_tokens(CHAT)
    end = engine.tokenize("<|im_end|>")[0]
    # One turn end per message: the system's, the user's; the user's text cannot add one.
    assert tokens.count(end) == 2
    assert tokens == tiny_engine.chat_tokens(CHAT)


def test_greedy_generation_has_top5_logprobs_per_token(engine) -> None:
    gen = engine.generate(Request(prompt(engine), max_tokens=24))
    assert gen.finish_reason in ("length", "eos") and gen.tokens
    assert len(gen.logprobs) == len(gen.tokens)
    for token, lp in zip(gen.tokens, gen.logprobs, strict=True):
        assert lp.token == token and len(lp.top_ids) == TOP_LOGPROBS
        assert list(lp.top_logprobs) == sorted(lp.top_logprobs, reverse=True)
        assert lp.top_ids[0] == token  # greedy: the best candidate
        assert math.isclose(lp.logprob, lp.top_logprobs[0], abs_tol=1e-6) and lp.logprob <= 0
    assert engine.detokenize(gen.tokens) == gen.text


def test_a_batch_equals_its_requests_run_alone(engine) -> None:
    requests = [Request(prompt(engine, f"Item {i}"), max_tokens=12) for i in range(5)]
    alone = [engine.generate(request).tokens for request in requests]
    batch = engine.generate_batch(requests)
    assert [gen.tokens for gen in batch] == alone


def test_prefix_reuse_is_counted(engine) -> None:
    base = prompt(engine, "A long shared prefix " * 8)
    first = engine.generate(Request(base, max_tokens=8))
    evaluated = engine.stats.evaluated
    second = engine.generate(Request(base + tuple(first.tokens), max_tokens=8))
    # The continuation re-evaluates at most the tokens the first request added (the last one
    # was never evaluated; the remote engine may have probed some), not the shared prefix.
    assert 1 <= second.prompt_evaluated <= 1 + len(first.tokens)
    spent = engine.stats.evaluated - evaluated
    assert second.prompt_evaluated + len(second.tokens) - 1 <= spent < len(base) // 2


def test_stop_strings_end_the_generation_as_the_local_engine_does(engine) -> None:
    free = engine.generate(Request(prompt(engine), max_tokens=40))
    text = free.text.lstrip()
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop.strip(), f"no usable stop in {free.text!r}"
    gen = engine.generate(Request(prompt(engine), max_tokens=40, stop=(stop,)))
    assert gen.finish_reason == "stop" and gen.stop == stop
    assert stop in gen.text and len(gen.tokens) < len(free.tokens)
    assert free.tokens[: len(gen.tokens)] == gen.tokens


def test_a_prompt_longer_than_the_context_is_refused(engine) -> None:
    too_long = tuple(engine.tokenize("7 ")) * (engine.n_ctx + 1)
    with pytest.raises(ContextOverflowError):
        engine.generate(Request(too_long[: engine.n_ctx + 10], max_tokens=4))


@pytest.mark.parametrize("text", ["Count: 1 2 3", "Say hello in French.", "What is 7*6?"])
def test_remote_greedy_output_and_logprobs_match_the_local_engine(
    remote_engine, tiny_engine, text: str
) -> None:
    request = Request(prompt(tiny_engine, text), max_tokens=32)
    local, remote = tiny_engine.generate(request), remote_engine.generate(request)
    assert remote.tokens == local.tokens
    assert remote.text == local.text and remote.finish_reason == local.finish_reason
    for mine, theirs in zip(local.logprobs, remote.logprobs, strict=True):
        assert mine.top_ids == theirs.top_ids or _ties(mine, theirs)
        assert mine.logprob == pytest.approx(theirs.logprob, abs=5e-3)
        assert mine.top_logprobs == pytest.approx(theirs.top_logprobs, abs=5e-3)


def _ties(mine, theirs) -> bool:
    """Candidates may swap places only where their log-probabilities tie (float rounding)."""
    return set(mine.top_ids[:-1]) <= set(theirs.top_ids) and all(
        math.isclose(a, b, abs_tol=5e-3)
        for a, b in zip(mine.top_logprobs, theirs.top_logprobs, strict=True)
    )
