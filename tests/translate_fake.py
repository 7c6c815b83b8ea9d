"""A scripted engine for translate tests: one token per character, answers looked up by source.

The prompt's last "Text:\\n" section is the unit. An assistant turn without "<Output>" yet gets
a short thought, "</Thought>", then "<Output>", the scripted translation and "</Output>" (a stop
string cuts it where the caller wants); one with "<Output>" gets the translation and "</Output>".
Sources listed in `fail` make the engine raise a MarcoError, sources in `interrupt` raise
KeyboardInterrupt. Every batch is recorded and a prefix cache is simulated so that
`stats.evaluated` and `Generation.prompt_evaluated` behave like the real engine's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from marco_cli.engine.base import EngineStats, Generation, Request, TokenLogprobs, find_stop
from marco_cli.errors import MarcoError


def _logprobs(token: int, p: float = 0.8) -> TokenLogprobs:
    other = (1.0 - p) / 4
    return TokenLogprobs(
        token=token,
        logprob=math.log(p),
        top_ids=(token, 1, 2, 3, 4),
        top_logprobs=(math.log(p), *([math.log(other)] * 4)),
    )


class TranslateFake:
    model_name = "fake-translator"
    backend = "fake"

    def __init__(
        self,
        answers: dict[str, str] | None = None,
        *,
        thought: str = "Colloquial expressions: none.",
        fail: Sequence[str] = (),
        interrupt: Sequence[str] = (),
        n_ctx: int = 100_000,
        default: str | None = None,
    ) -> None:
        self.answers = dict(answers or {})
        self.thought = thought
        self.fail = set(fail)
        self.interrupt = set(interrupt)
        self.n_ctx = n_ctx
        self.default = default
        self.stats = EngineStats()
        self.calls: list[list[Request]] = []
        self.prompts: list[str] = []
        self._cache: list[tuple[int, ...]] = []
        self.closed = False

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(chr(t) for t in tokens)

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return self.tokenize(text + "<|im_start|>assistant\n")

    def generate(self, request: Request, on_text=None) -> Generation:
        return self.generate_batch([request], on_text)[0]

    def generate_batch(self, requests: Sequence[Request], on_text=None) -> list[Generation]:
        requests = list(requests)
        self.calls.append(requests)
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(requests))
        return [self._one(r) for r in requests]

    def source_of(self, prompt_text: str) -> str:
        """The unit of a translation prompt, or the word of a leftover-repair prompt."""
        last_user = prompt_text.rsplit("<|im_start|>user\n", 1)[-1]
        repair = re.search(r' word "(.+?)" into ', last_user)
        if repair and "Text:\n" not in last_user:
            return repair.group(1)
        body = prompt_text.rsplit("Text:\n", 1)[-1]
        return body.split("<|im_end|>", 1)[0]

    def _one(self, request: Request) -> Generation:
        text = self.detokenize(request.prompt)
        self.prompts.append(text)
        source = self.source_of(text)
        if source in self.fail:
            raise MarcoError(f"scripted failure for {source!r}")
        if source in self.interrupt:
            raise KeyboardInterrupt
        translation = self.answers.get(source)
        if translation is None:
            translation = self.default if self.default is not None else default(source)
        out = f"{translation}\n</Output>"
        if text.endswith("<|im_start|>assistant\n"):  # a plain chat turn (leftover repair)
            out = f"{translation}\n"
        elif "<Output>" not in text.rsplit("<|im_start|>assistant\n", 1)[-1]:
            out = f"{self.thought}\n</Thought>\n<Output>\n{out}"
        tokens: list[int] = []
        generated = ""
        finish, stop = "eos", None
        for ch in out:
            if len(tokens) >= request.max_tokens:
                finish = "length"
                break
            tokens.append(ord(ch))
            generated += ch
            hit = find_stop(generated, request.stop) if request.stop else None
            if hit is not None:
                finish, stop = "stop", hit[1]
                break
        prompt = tuple(request.prompt)
        common = max((_common(prompt, seq) for seq in self._cache), default=0)
        self._cache.append(prompt + tuple(tokens))
        self.stats.evaluated += len(prompt) - common + len(tokens)
        self.stats.generated += len(tokens)
        return Generation(
            tokens=tokens,
            logprobs=[_logprobs(t) for t in tokens],
            text=generated,
            finish_reason=finish,  # type: ignore[arg-type]
            stop=stop,
            prompt_evaluated=len(prompt) - common,
        )

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> TranslateFake:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def default(source: str) -> str:
    """The fake's translation of a source it has no answer for (no Chinese in it)."""
    return f"EN[{'-'.join(f'{ord(c):x}' for c in source)}]"


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
