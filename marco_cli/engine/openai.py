"""OpenAI-compatible completion servers (vLLM, SGLang): token-id prompts to `/v1/completions`
with `logprobs: 5`, the server's own tokenizer and chat template through vLLM's `/tokenize`
and `/detokenize`, and prefix caching left to the server (vLLM's automatic prefix caching).

Tested against recorded answers in vLLM's documented format only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marco_cli.engine.base import TOP_LOGPROBS, Request, TokenLogprobs, answer_room
from marco_cli.engine.http import HttpError, JsonClient, ServerError
from marco_cli.engine.wire import Completion, Shared, check_fits, context_error, finish_of

_TOKEN_ID = "token_id:"
"""How tokens are named with `return_tokens_as_token_ids` (ids, not ambiguous token text)."""


class OpenAICompletions:
    """The OpenAI-compatible dialect; `model` is the first entry of GET /v1/models."""

    name = "OpenAI-compatible"

    def __init__(self, client: JsonClient, model: dict[str, Any]) -> None:
        self.client = client
        self.model_name = str(model["id"])
        self.n_ctx = int(model.get("max_model_len") or 0)
        # Servers that ignore `logprobs` (e.g. ollama) answer without them: ask once.
        probe = self._post(
            "/v1/completions",
            {"model": self.model_name, "prompt": "1", "max_tokens": 1, "logprobs": TOP_LOGPROBS},
        )
        self.has_logprobs = bool((probe["choices"][0].get("logprobs") or {}).get("top_logprobs"))

    def tokenize(self, text: str, special: bool) -> list[int]:
        # vLLM always parses control tokens in text: `special` cannot be honoured here.
        body = {"model": self.model_name, "prompt": text, "add_special_tokens": False}
        return [int(t) for t in self._post("/tokenize", body)["tokens"]]

    def detokenize(self, tokens: Sequence[int]) -> str:
        body = {"model": self.model_name, "tokens": list(tokens)}
        return str(self._post("/detokenize", body)["prompt"])

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        body = {
            "model": self.model_name,
            "messages": list(messages),
            "add_generation_prompt": True,
            "add_special_tokens": False,
        }
        return [int(t) for t in self._post("/tokenize", body)["tokens"]]

    def share_prefix(self, prompt: Sequence[int], copies: int) -> Shared:
        """Nothing to do: vLLM and SGLang share a cached prefix between requests themselves."""
        return Shared()

    def complete(self, request: Request, slot: int | None = None) -> Completion:
        """`slot` is llama-server's; these servers have none, so it is ignored."""
        prompt = list(request.prompt)
        check_fits(len(prompt), self.n_ctx)
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": self.model_name,
            "prompt": prompt,
            "max_tokens": answer_room(request.max_tokens, len(prompt), self.n_ctx),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "logprobs": TOP_LOGPROBS,
            "return_tokens_as_token_ids": True,
            "include_stop_str_in_output": True,
            "skip_special_tokens": False,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        answer = self._post("/v1/completions", body)
        choice = answer["choices"][0]
        text = str(choice.get("text") or "")
        logprobs = choice.get("logprobs")
        if logprobs is None:
            tokens = list(choice.get("token_ids") or [])
            scores: list[TokenLogprobs] = []
        else:
            tokens = [_token_id(t) for t in logprobs["tokens"]]
            scores = [
                _token_logprobs(token, chosen, top)
                for token, chosen, top in zip(
                    tokens, logprobs["token_logprobs"], logprobs["top_logprobs"], strict=True
                )
            ]
        finish, stop = finish_of(
            text,
            request.stop,
            ended=choice.get("finish_reason") == "stop",
            server_stop=None,
        )
        usage = answer.get("usage") or {}
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        return Completion(
            tokens=tokens,
            logprobs=scores,
            text=text,
            finish_reason=finish,
            stop=stop,
            prompt_evaluated=int(usage.get("prompt_tokens", len(prompt))) - int(cached),
            seconds=0.0,
        )

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            return self.client.post(path, body)
        except HttpError as exc:
            if exc.status == 400 and "context" in exc.body:
                raise context_error(self.n_ctx) from None
            raise ServerError(
                f"the server at {self.client.base_url} refused {path} (HTTP {exc.status})"
            ) from None


def _token_id(name: str) -> int:
    if not name.startswith(_TOKEN_ID):
        raise ServerError(
            "the server names tokens by text, not id (it ignores return_tokens_as_token_ids)"
        )
    return int(name[len(_TOKEN_ID) :])


def _token_logprobs(token: int, chosen: float, top: dict[str, float]) -> TokenLogprobs:
    best = sorted(top.items(), key=lambda item: -item[1])[:TOP_LOGPROBS]
    return TokenLogprobs(
        token=token,
        logprob=float(chosen),
        top_ids=tuple(_token_id(name) for name, _ in best),
        top_logprobs=tuple(float(value) for _, value in best),
    )
