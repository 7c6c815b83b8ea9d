"""An engine on a server: `Engine` over HTTP, so search, translate and bench run unchanged
against llama.cpp's `llama-server` or an OpenAI-compatible completion server (vLLM, SGLang).

The dialect is detected from the server itself (`detect`). Tokens, text and the chat template
all come from the server's own tokenizer and template; nothing is guessed on this side.
`generate_batch` sends its requests concurrently, at most `parallel` in flight, and lets the
server's continuous batching share the model between them. Siblings (requests with the same
prompt, as a search expanding a node sends them) first get that prompt cached for each of them,
evaluated once (`Dialect.share_prefix`), where the server caches per request slot.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol

from marco_cli.engine.base import EngineStats, Generation, Request, TextCallback
from marco_cli.engine.http import HttpError, JsonClient, ServerError
from marco_cli.engine.llama_server import LlamaServer
from marco_cli.engine.openai import OpenAICompletions
from marco_cli.engine.wire import Completion, Shared

API_KEY_ENV = "MARCO_API_KEY"


class Dialect(Protocol):
    """How one kind of server is asked for tokens, text, chat prompts and completions."""

    name: str
    model_name: str
    n_ctx: int
    has_logprobs: bool
    """Whether completions carry the top log-probabilities of each token (MCTS needs them)."""

    def tokenize(self, text: str, special: bool) -> list[int]: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]: ...

    def share_prefix(self, prompt: Sequence[int], copies: int) -> Shared:
        """Make `prompt` cached for `copies` requests that continue it and are sent together."""
        ...

    def complete(self, request: Request, slot: int | None = None) -> Completion:
        """One request; `slot` pins it to a server slot (from `share_prefix`)."""
        ...


def detect(client: JsonClient) -> Dialect:
    """The server's dialect: llama-server answers GET /props, an OpenAI-compatible server
    GET /v1/models; ServerError when it is neither."""
    try:
        props = client.get("/props")
        if isinstance(props, dict) and "default_generation_settings" in props:
            return LlamaServer(client, props)
    except HttpError:
        pass
    try:
        models = client.get("/v1/models")
    except HttpError as exc:
        raise ServerError(
            f"{client.base_url} answers (HTTP {exc.status}) but neither as llama-server (/props) "
            "nor as an OpenAI-compatible server (/v1/models); --server takes the server's base "
            "address, e.g. http://host:8080"
        ) from None
    if not (isinstance(models, dict) and models.get("data")):
        raise ServerError(f"{client.base_url}/v1/models lists no model")
    return OpenAICompletions(client, models["data"][0])


class RemoteEngine:
    """A model served over HTTP; implements `marco_cli.engine.base.Engine`."""

    def __init__(
        self,
        url: str,
        *,
        parallel: int = 8,
        api_key: str | None = None,
    ) -> None:
        """`api_key` defaults to the environment's MARCO_API_KEY."""
        client = JsonClient(url, api_key=api_key or os.environ.get(API_KEY_ENV) or None)
        self.url = client.base_url
        self._client = client
        self.dialect = detect(client)
        self.model_name = self.dialect.model_name
        self.n_ctx = self.dialect.n_ctx
        self.has_logprobs = self.dialect.has_logprobs
        self.parallel = max(1, parallel)
        self.backend = f"server {self.url} ({self.dialect.name}, {self.parallel} requests at once)"
        self.stats = EngineStats()
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=self.parallel, thread_name_prefix="marco-remote"
        )

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        return self.dialect.tokenize(text, special)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.dialect.detokenize(tokens) if tokens else ""

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        return self.dialect.chat_tokens(messages)

    def generate(self, request: Request, on_text: TextCallback | None = None) -> Generation:
        return self.generate_batch([request], on_text)[0]

    def generate_batch(
        self, requests: Sequence[Request], on_text: TextCallback | None = None
    ) -> list[Generation]:
        if self._pool is None:
            raise RuntimeError("the engine is closed")
        for request in requests:
            if not request.prompt:
                raise ValueError("a request needs at least one prompt token")
        slots = self._share_siblings(requests)
        futures: list[Future[Completion]] = [
            self._pool.submit(self.dialect.complete, request, slot)
            for request, slot in zip(requests, slots, strict=True)
        ]
        try:
            # The first failure ends the batch; requests not yet sent are dropped.
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
            completions = [future.result() for future in futures]
        except BaseException:  # Ctrl-C too: nothing more is sent, what is in flight is cut
            for future in futures:
                future.cancel()
            self._client.cancel()
            raise
        results = []
        for index, completion in enumerate(completions):
            # Text arrives per request, whole: a server answer is not streamed token by token.
            if on_text is not None and completion.text:
                on_text(index, completion.text)
            self.stats.evaluated += (
                completion.prompt_evaluated + len(completion.tokens) + completion.extra_evaluated
            )
            self.stats.generated += len(completion.tokens)
            self.stats.decode_seconds += completion.seconds
            results.append(
                Generation(
                    tokens=completion.tokens,
                    logprobs=completion.logprobs,
                    text=completion.text,
                    finish_reason=completion.finish_reason,
                    stop=completion.stop,
                    prompt_evaluated=completion.prompt_evaluated,
                )
            )
        # stats.batches and batch_sizes count model evaluations (tokens per decode call): the
        # server batches on its side and does not say how, so they stay empty here.
        return results

    def _share_siblings(self, requests: Sequence[Request]) -> list[int | None]:
        """The slot to pin each request to (None: let the server choose), after the largest
        group of siblings got their prompt cached in one slot each. One group only: a second
        group's copies could overwrite the first's before its requests arrive."""
        slots: list[int | None] = [None] * len(requests)
        groups = Counter(request.prompt for request in requests).most_common(1)
        if not groups or groups[0][1] < 2:
            return slots
        prompt, count = groups[0]
        shared = self.dialect.share_prefix(prompt, min(count, self.parallel))
        self.stats.evaluated += shared.evaluated
        free = iter(shared.slots)
        for index, request in enumerate(requests):
            if request.prompt == prompt:
                slots[index] = next(free, None)
        return slots

    def close(self) -> None:
        """Stop: requests not sent are dropped, those in flight are cut."""
        self._client.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
