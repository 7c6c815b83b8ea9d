"""The OpenAI-compatible dialect (vLLM, SGLang) against recorded answers in vLLM's documented
format, served on loopback by a stub: no vLLM runs here."""

from __future__ import annotations

import math
from typing import Any

import pytest
from remote_stub import Stub

from marco_cli.engine.base import Request, Sampling
from marco_cli.engine.remote import RemoteEngine

MODELS = {
    "object": "list",
    "data": [
        {
            "id": "AIDC-AI/Marco-o1",
            "object": "model",
            "created": 1733000000,
            "owned_by": "vllm",
            "root": "AIDC-AI/Marco-o1",
            "parent": None,
            "max_model_len": 32768,
        }
    ],
}


def completion(text: str, tokens: list[int], finish: str, *, logprobs: bool = True) -> dict:
    """A /v1/completions answer as vLLM writes it with logprobs=5 and token ids as names."""
    entries = None
    if logprobs:
        # vLLM adds the chosen token to the top-5 when it is not among them (6 entries).
        entries = {
            "text_offset": list(range(len(tokens))),
            "token_logprobs": [-0.25] * len(tokens),
            "tokens": [f"token_id:{t}" for t in tokens],
            "top_logprobs": [
                {f"token_id:{t}": -0.25, **{f"token_id:{900 + k}": -2.0 - k for k in range(5)}}
                for t in tokens
            ],
        }
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1733000001,
        "model": "AIDC-AI/Marco-o1",
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": entries,
                "finish_reason": finish,
                "stop_reason": None,
                "prompt_logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "total_tokens": 10 + len(tokens),
            "completion_tokens": len(tokens),
            "prompt_tokens_details": {"cached_tokens": 8},
        },
    }


def vllm(answer: dict, *, logprobs: bool = True) -> dict[str, Any]:
    return {
        "GET /v1/models": lambda body: (200, MODELS),
        "POST /v1/completions": lambda body: (
            200,
            completion("x", [1], "length", logprobs=logprobs)
            if body["prompt"] == "1"  # the dialect's probe for logprobs
            else answer,
        ),
        "POST /tokenize": lambda body: (
            200,
            {"count": 3, "max_model_len": 32768, "tokens": [7, 8, 9], "token_strs": None},
        ),
        "POST /detokenize": lambda body: (200, {"prompt": "decoded"}),
    }


def test_a_server_without_props_but_with_v1_models_speaks_openai() -> None:
    with Stub(vllm(completion(" 5", [20], "length"))) as stub:
        engine = RemoteEngine(stub.url)
        assert engine.dialect.name == "OpenAI-compatible"
        assert engine.model_name == "AIDC-AI/Marco-o1" and engine.n_ctx == 32768
        assert engine.has_logprobs
        assert engine.tokenize("hi") == [7, 8, 9] and engine.detokenize([7]) == "decoded"
        assert engine.chat_tokens([{"role": "user", "content": "hi"}]) == [7, 8, 9]
    chat = [body for key, body, _ in stub.requests if key == "POST /tokenize"][-1]
    assert chat["messages"] == [{"role": "user", "content": "hi"}]
    assert chat["add_generation_prompt"] is True


def test_completion_request_and_answer_follow_vllms_format() -> None:
    answer = completion("12</Output> tail", [31, 32, 33], "stop")
    with Stub(vllm(answer)) as stub:
        engine = RemoteEngine(stub.url)
        gen = engine.generate(
            Request((1, 2, 3), max_tokens=50, stop=("</Output>",), sampling=Sampling(seed=4))
        )
    sent = [body for key, body, _ in stub.requests if key == "POST /v1/completions"][-1]
    assert sent["prompt"] == [1, 2, 3] and sent["logprobs"] == 5 and sent["seed"] == 4
    assert sent["return_tokens_as_token_ids"] is True and sent["stop"] == ["</Output>"]
    assert gen.tokens == [31, 32, 33] and gen.text == "12</Output> tail"
    assert gen.finish_reason == "stop" and gen.stop == "</Output>"
    first = gen.logprobs[0]
    assert first.token == 31 and first.top_ids == (31, 900, 901, 902, 903)
    assert math.isclose(first.logprob, -0.25) and len(first.top_logprobs) == 5
    # Evaluated: the prompt tokens not served from the prefix cache, plus what was generated.
    assert gen.prompt_evaluated == 2 and engine.stats.evaluated == 2 + 3


def test_finish_reasons_eos_and_length() -> None:
    with Stub(vllm(completion("done", [5], "stop"))) as stub:
        gen = RemoteEngine(stub.url).generate(Request((1,), max_tokens=5, stop=("###",)))
    assert gen.finish_reason == "eos" and gen.stop is None
    with Stub(vllm(completion("more", [5], "length"))) as stub:
        gen = RemoteEngine(stub.url).generate(Request((1,), max_tokens=1))
    assert gen.finish_reason == "length"


def test_a_server_without_logprobs_is_reported_as_such() -> None:
    with Stub(vllm(completion("x", [1], "length", logprobs=False), logprobs=False)) as stub:
        engine = RemoteEngine(stub.url)
        assert not engine.has_logprobs
        assert engine.generate(Request((1,), max_tokens=1)).logprobs == []


def test_a_stop_string_is_found_after_leading_whitespace_only() -> None:
    with Stub(vllm(completion("\n\nstep one\n\n", [1, 2, 3], "stop"))) as stub:
        gen = RemoteEngine(stub.url).generate(Request((1,), max_tokens=9, stop=("\n\n",)))
    assert gen.finish_reason == "stop" and gen.stop == "\n\n"


def test_a_too_long_prompt_refused_by_the_server_is_a_context_error() -> None:
    from marco_cli.errors import ContextOverflowError

    routes = vllm(completion("x", [1], "length"))
    probe = routes["POST /v1/completions"]
    routes["POST /v1/completions"] = lambda body: (
        probe(body)
        if body["prompt"] == "1"
        else (400, {"object": "error", "message": "This model's maximum context length is "
                       "32768 tokens", "type": "BadRequestError", "code": 400})
    )  # fmt: skip
    with Stub(routes) as stub, pytest.raises(ContextOverflowError):
        RemoteEngine(stub.url).generate(Request((1,), max_tokens=5))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from marco_cli.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


ANSWER = "<Thought>\n2 and 3 make 5.\n</Thought>\n<Output>5</Output>"


def test_without_logprobs_mcts_fails_at_start_with_one_line(capsys) -> None:
    routes = vllm(completion(ANSWER, [1, 2], "stop", logprobs=False), logprobs=False)
    with Stub(routes) as stub:
        code, out, err = run(capsys, "solve", "--server", stub.url, "--strategy", "mcts", "2+3?")
    assert code == 1 and out == ""
    (line,) = err.strip().splitlines()
    assert "no per-token log-probabilities" in line and "--strategy cot" in line
    assert "POST /v1/completions" in stub.paths()[-1]  # only the probe: no search ran


def test_without_logprobs_cot_still_answers(capsys) -> None:
    routes = vllm(completion(ANSWER, [1, 2], "stop", logprobs=False), logprobs=False)
    with Stub(routes) as stub:
        code, out, err = run(capsys, "solve", "--server", stub.url, "2+3?")
    assert code == 0, err
    assert out.strip() == "5"
