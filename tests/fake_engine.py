"""A scripted engine for unit tests: one token per character, deterministic continuations.

The "model" knows a few complete responses (documents), each with a confidence p. Continuing a
text T, it follows a document that starts with T (greedy: the first one; sampled: the one picked
by the request's seed), else a fallback, resumed where T already ends with its beginning. Every
token of a document gets log-probability log p and four other candidates sharing 1 - p, so its
confidence c_i is exactly p.

It implements the `Engine` protocol, simulates a prefix KV cache for `stats.evaluated`, and
records every batch of requests it receives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marco_cli.engine.base import (
    EngineStats,
    Generation,
    Request,
    TokenLogprobs,
    find_stop,
)
from marco_cli.errors import ContextOverflowError

EOS = 0


@dataclass(frozen=True)
class Doc:
    text: str
    p: float = 0.9


def logprobs_for(token: int, p: float) -> TokenLogprobs:
    """Chosen token with probability p among five candidates; the other four share 1 - p."""
    other = max((1.0 - p) / 4, 1e-12)
    others = [t for t in (1, 2, 3, 4, 5) if t != token][:4]
    pairs = sorted(
        [(token, math.log(p))] + [(t, math.log(other)) for t in others], key=lambda x: -x[1]
    )
    return TokenLogprobs(
        token=token,
        logprob=math.log(p),
        top_ids=tuple(t for t, _ in pairs),
        top_logprobs=tuple(lp for _, lp in pairs),
    )


class FakeEngine:
    model_name = "fake"
    backend = "fake"

    def __init__(
        self,
        prompt: str,
        docs: Sequence[Doc | str],
        *,
        fallback: Doc | str = Doc(" so the answer is 0.\n</Thought>\n<Output>0</Output>", 0.5),
        n_ctx: int = 100_000,
        before_batch: Callable[[list[Request]], None] | None = None,
        pick: str = "seed",
        max_batch: int | None = None,
    ) -> None:
        self.prompt = prompt
        self.docs = [d if isinstance(d, Doc) else Doc(d) for d in docs]
        self.fallback = fallback if isinstance(fallback, Doc) else Doc(fallback)
        self.n_ctx = n_ctx
        self.before_batch = before_batch
        self.pick = pick
        self.max_batch = max_batch
        """Batches larger than this raise ContextOverflowError, like a full KV cache."""
        """How a sampled request picks among matching documents: by its "seed", or by its
        "index" in the batch (predictable trees for structure tests)."""
        self.stats = EngineStats()
        self.calls: list[list[Request]] = []
        self._cache: list[tuple[int, ...]] = []
        self.closed = False

    # -- tokens ---------------------------------------------------------------------------

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(chr(t) for t in tokens if t != EOS)

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        return self.tokenize(
            "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"
        )

    def prompt_tokens(self) -> list[int]:
        return self.tokenize(self.prompt)

    # -- generation -----------------------------------------------------------------------

    def _plan(self, generated: str, request: Request, index: int) -> tuple[str, float]:
        """(the rest of the response, its confidence); the response ends after it."""
        matches = [d for d in self.docs if d.text.startswith(generated)]
        if matches:
            seed = request.sampling.seed
            doc = matches[0]
            if request.sampling.temperature > 0:
                choice = index if self.pick == "index" else (seed or 0)
                doc = matches[choice % len(matches)]
            return doc.text[len(generated) :], doc.p
        # Otherwise continue the fallback, from where the text already follows it.
        text = self.fallback.text
        for k in range(len(text) - 1, 0, -1):
            if generated.endswith(text[:k]):
                return text[k:], self.fallback.p
        return text, self.fallback.p

    def generate(self, request: Request, on_text=None) -> Generation:
        return self.generate_batch([request], on_text)[0]

    def generate_batch(self, requests: Sequence[Request], on_text=None) -> list[Generation]:
        requests = list(requests)
        if self.before_batch is not None:
            self.before_batch(requests)
        if self.max_batch is not None and len(requests) > self.max_batch:
            raise ContextOverflowError("the context is full; raise --ctx")
        self.calls.append(requests)
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(requests))
        return [self._one(i, r, on_text) for i, r in enumerate(requests)]

    def _one(self, index: int, request: Request, on_text) -> Generation:
        prompt = tuple(request.prompt)
        text = self.detokenize(prompt)
        at = text.rfind(self.prompt) if self.prompt else -1
        generated = text[at + len(self.prompt) :] if at >= 0 else text
        rest, p = self._plan(generated, request, index)
        tokens: list[int] = []
        logprobs: list[TokenLogprobs] = []
        finish = "length"
        stop = None
        out = ""
        for ch in rest:
            if len(tokens) >= request.max_tokens:
                break
            tokens.append(ord(ch))
            logprobs.append(logprobs_for(ord(ch), p))
            out += ch
            if on_text is not None:
                on_text(index, ch)
            found = find_stop(out, request.stop)
            if found is not None:
                finish, stop = "stop", found[1]
                break
        else:
            if len(tokens) < request.max_tokens:
                finish = "eos"
        common = max((_common(prompt, seq) for seq in self._cache), default=0)
        evaluated = len(prompt) - common + len(tokens)
        self._cache.append(prompt + tuple(tokens))
        self.stats.evaluated += evaluated
        self.stats.generated += len(tokens)
        return Generation(
            tokens=tokens,
            logprobs=logprobs,
            text=out,
            finish_reason=finish,  # type: ignore[arg-type]
            stop=stop,
            prompt_evaluated=len(prompt) - common,
        )

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
