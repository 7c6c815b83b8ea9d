"""The engine interface: everything the rest of marco knows about a language model.

The search, solve, translate and bench code talk only to `Engine`. The local llama.cpp
implementation lives in `marco_cli.engine.llama`; a remote OpenAI-compatible backend can
implement the same protocol later without touching its callers.

Branching is expressed through token prefixes: a request names the full token prefix it
continues from, and the engine decides which of its cached sequences to fork (share) so that
only tokens after the longest cached common prefix are evaluated. Callers never manage KV
cache slots themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

TOP_LOGPROBS = 5
"""How many candidate log-probabilities are kept per generated token (the paper's top-5)."""

FinishReason = Literal["stop", "eos", "length"]


@dataclass(frozen=True)
class Sampling:
    """How to pick the next token. temperature 0 means greedy (argmax)."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 40
    seed: int | None = None


@dataclass(frozen=True)
class Request:
    """Continue `prompt` (token ids) by at most `max_tokens` tokens.

    Generation stops early at an end-of-generation token or when the generated text, ignoring
    its leading whitespace, contains one of `stop` (see `find_stop`).
    """

    prompt: tuple[int, ...]
    max_tokens: int
    stop: tuple[str, ...] = ()
    sampling: Sampling = Sampling()


@dataclass(frozen=True)
class TokenLogprobs:
    """One generated token with its log-probability and the top candidates at its position.

    `top_ids`/`top_logprobs` are sorted by descending log-probability and hold TOP_LOGPROBS
    entries; the chosen token may or may not be among them (it is not when sampled at a
    temperature from outside the top candidates).
    """

    token: int
    logprob: float
    top_ids: tuple[int, ...]
    top_logprobs: tuple[float, ...]


@dataclass
class Generation:
    """What one request produced.

    `tokens` excludes the end-of-generation token; `text` is the decoded text of `tokens`
    (including a matched stop string and whatever the same token carried after it).
    """

    tokens: list[int]
    logprobs: list[TokenLogprobs]
    text: str
    finish_reason: FinishReason
    stop: str | None = None
    prompt_evaluated: int = 0
    """Prompt tokens that had to be evaluated (not found in the KV cache)."""


@dataclass
class EngineStats:
    """Running totals since the engine was created."""

    evaluated: int = 0
    """Tokens fed through the model: prompt tokens not in the cache plus generated tokens."""
    generated: int = 0
    decode_seconds: float = 0.0
    """Seconds inside the model evaluation (llama_decode; a server's request time)."""
    host_seconds: float = 0.0
    """Seconds inside generate_batch outside the model evaluation: filling batches, sampling,
    log-probabilities, detokenizing, stop checks (0 where the engine cannot tell them apart)."""
    host_cpu_seconds: float = 0.0
    """The CPU seconds of that host work (the calling thread's and the threads that scan logits
    rows beside it): unlike wall seconds, they do not grow while other processes hold the CPU."""
    batches: int = 0
    batch_sizes: list[int] = field(default_factory=list)


def answer_room(max_tokens: int, prompt_tokens: int, n_ctx: int) -> int:
    """Most tokens an answer may have after a prompt of `prompt_tokens`: its own limit, capped
    so that prompt and answer fit a context of `n_ctx` tokens (0: unknown, no cap). The one
    clamp to the context: the engines and the search's path limit all use it."""
    if not n_ctx:
        return max_tokens
    return max(0, min(max_tokens, n_ctx - prompt_tokens))


TextCallback = Callable[[int, str], None]
"""Called as (request index, newly decoded text) while tokens are generated."""


class Engine(Protocol):
    """A loaded model that can generate from token prefixes, several at once."""

    model_name: str
    n_ctx: int
    backend: str
    """Where the model runs and how it is prompted, e.g. "CPU (8 threads); chat template chatml"."""
    stats: EngineStats

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """Token ids of `text`; with special=True control tokens such as <|im_end|> are parsed."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """Token ids of a chat in the model's chat format, ending with the assistant turn opened.

        Control tokens in message text stay text (a message cannot end its own turn).
        """
        ...

    def generate(self, request: Request, on_text: TextCallback | None = None) -> Generation: ...

    def generate_batch(
        self, requests: Sequence[Request], on_text: TextCallback | None = None
    ) -> list[Generation]:
        """Run several requests in one batch; results are in request order.

        Each request's tokens are the same as if it had been generated alone with the same
        Sampling (the batch only shares the model evaluation).
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine:
        """`with engine:` closes it on the way out, however the block ends."""
        ...

    def __exit__(self, *exc_info: object) -> None: ...


def find_stop(text: str, stops: Sequence[str]) -> tuple[int, str] | None:
    """Earliest stop string in `text`, ignoring leading whitespace; (index, stop) or None.

    Leading whitespace never triggers a stop so that a stop of "\\n" means "one non-empty
    line" rather than stopping at once on a blank line.
    """
    start = len(text) - len(text.lstrip())
    best: tuple[int, str] | None = None
    for stop in stops:
        index = text.find(stop, start)
        if index >= 0 and (best is None or index < best[0]):
            best = (index, stop)
    return best


def split_tokens(engine: Engine, tokens: Sequence[int], text_length: int) -> tuple[list[int], str]:
    """Cut generated `tokens` at character `text_length` of their decoded text.

    Returns the longest run of whole tokens whose text fits, and the leftover characters of the
    token that straddles the cut. Used to trim a stop tag (e.g. before inserting a reflection)
    while keeping the model's own token ids, so the KV cache stays valid up to the cut.
    """
    low, high = 0, len(tokens)
    while low < high:  # the largest n with len(detokenize(tokens[:n])) <= text_length
        middle = (low + high + 1) // 2
        if len(engine.detokenize(tokens[:middle])) <= text_length:
            low = middle
        else:
            high = middle - 1
    kept = list(tokens[:low])
    text = engine.detokenize(tokens)
    return kept, text[len(engine.detokenize(kept)) : text_length]


def token_logprobs(logits: np.ndarray, token: int, k: int = TOP_LOGPROBS) -> TokenLogprobs:
    """Log-probability of `token` and the k best candidates from one position's raw logits.

    A log-softmax over the vocabulary (exponentials in the input's precision, summed in
    float64) plus `top_ids`: the vocabulary is never sorted nor copied to float64. The result
    equals a full float64 softmax and a full stable sort (ties in id order) up to rounding.
    """
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
    log_norm = log_normalizer(logits, logits.max())
    ids = top_ids(logits, k)
    return TokenLogprobs(
        token=int(token),
        logprob=float(logits[token]) - log_norm,
        top_ids=tuple(ids.tolist()),
        top_logprobs=tuple((logits[ids].astype(np.float64) - log_norm).tolist()),
    )


def log_normalizer(
    logits: np.ndarray, peak: np.floating, scratch: np.ndarray | None = None
) -> float:
    """log(sum(exp(logits))) of one row whose maximum is `peak`: exponentials in the input's
    precision (into `scratch` when given, a row of the same size and type), summed in float64."""
    shifted = np.subtract(logits, peak, out=scratch)
    np.exp(shifted, out=shifted)
    return float(peak) + math.log(float(shifted.sum(dtype=np.float64)))


def top_ids(logits: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k largest logits, best first, ties in id order (as a full stable sort).

    Only the logits within a widening margin of the maximum are considered: for a language
    model's vocabulary that is a few dozen values instead of 150k. When a margin step takes in
    many more than k (a flat distribution, a large k for sampling), a partition keeps the
    values from the k-th largest up, ties included, so only about k values are sorted.
    """
    k = min(k, logits.size)
    peak = logits.max()
    margin = 1.0
    ids = np.flatnonzero(logits >= peak - margin)
    while ids.size < k and margin < 1e6:
        margin *= 4.0
        ids = np.flatnonzero(logits >= peak - margin)
    if ids.size < k:  # infinities or NaNs: fall back to the whole vocabulary
        ids = np.arange(logits.size)
    values = logits[ids]
    if ids.size > 2 * k:
        kth = np.partition(values, ids.size - k)[ids.size - k]
        keep = values >= kth
        ids, values = ids[keep], values[keep]
    return ids[np.argsort(-values, kind="stable")[:k]]
