"""llama.cpp's `llama-server` spoken natively: token-id prompts to `/completion`, per-token top-n
log-probabilities from the raw logits (as the local engine computes them), prompt caching in
the server's slots, and the tokenizer and chat template of the served model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from marco_cli.engine.base import TOP_LOGPROBS, Request, TokenLogprobs
from marco_cli.engine.chat_segments import split_chat
from marco_cli.engine.http import HttpError, JsonClient, ServerError
from marco_cli.engine.wire import Completion, check_fits, context_error, finish_of

_HINT = "serve a chat model whose template llama-server can apply"


class LlamaServer:
    """The llama-server dialect; `props` is the server's GET /props answer."""

    name = "llama-server"

    def __init__(self, client: JsonClient, props: dict[str, Any]) -> None:
        self.client = client
        settings = props.get("default_generation_settings") or {}
        # n_ctx here is one slot's context: what a single request may use.
        self.n_ctx = int(settings.get("n_ctx") or props.get("n_ctx") or 0)
        path = str(props.get("model_path") or "")
        alias = str(props.get("model_alias") or "")
        # Without --alias the server names the model by its file path: keep the file's name.
        self.model_name = (alias if alias != path else "") or PurePath(path).stem or "llama-server"
        self.has_logprobs = True
        self._bos = self._post("/tokenize", {"content": "", "add_special": True})["tokens"]
        self._plain = self.tokenize("a", special=False)[0]  # see _probe

    def tokenize(self, text: str, special: bool) -> list[int]:
        body = {"content": text, "add_special": False, "parse_special": special}
        return [int(t) for t in self._post("/tokenize", body)["tokens"]]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self._post("/detokenize", {"tokens": list(tokens)})["content"])

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        label = f"the model served at {self.client.base_url}"
        segments = split_chat(self._render, messages, label, _HINT)
        tokens: list[int] = []
        for segment in segments:
            tokens += self.tokenize(segment.text, special=not segment.is_message)
        # Some templates write the BOS token themselves; it must not appear twice.
        if self._bos and tokens[: len(self._bos)] != self._bos:
            tokens = self._bos + tokens
        return tokens

    def _render(self, messages: Sequence[dict[str, str]]) -> str | None:
        return str(self._post("/apply-template", {"messages": list(messages)})["prompt"])

    def complete(self, request: Request) -> Completion:
        prompt = list(request.prompt)
        check_fits(len(prompt), self.n_ctx)
        sampling = request.sampling
        body: dict[str, Any] = {
            "prompt": prompt,
            "n_predict": max(0, min(request.max_tokens, self.n_ctx - len(prompt))),
            "stop": list(request.stop),
            "n_probs": TOP_LOGPROBS,
            "cache_prompt": True,
            "return_tokens": True,
            "stream": False,
            "temperature": sampling.temperature,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
            # The local engine's chain, without the server's default min-p and penalties.
            "samplers": ["top_k", "temperature", "top_p"],
            "min_p": 0.0,
            "seed": sampling.seed if sampling.seed is not None else -1,
        }
        answer = self._post("/completion", body)
        tokens = [int(t) for t in answer.get("tokens") or []]
        stop_type = answer.get("stop_type")
        if stop_type == "eos" and tokens:
            tokens.pop()  # the end-of-generation token itself, which Generation excludes
        text = self.detokenize(tokens) if tokens else ""
        finish, stop = finish_of(
            text,
            request.stop,
            ended=stop_type in ("eos", "word"),
            server_stop=answer.get("stopping_word") or None,
        )
        timings = answer.get("timings") or {}
        scores = _aligned(tokens, answer.get("completion_probabilities") or [])
        extra = 0
        # Last first: each probe leaves its prefix in the server's cache, the shortest wins.
        for i in reversed([i for i, score in enumerate(scores) if score is None]):
            scores[i], evaluated = self._probe(prompt + tokens[:i], tokens[i], sampling.top_k)
            extra += evaluated
        return Completion(
            tokens=tokens,
            logprobs=[score for score in scores if score is not None],
            text=text,
            finish_reason=finish,
            stop=stop,
            prompt_evaluated=int(timings.get("prompt_n", len(prompt))),
            seconds=(timings.get("prompt_ms", 0.0) + timings.get("predicted_ms", 0.0)) / 1000,
            extra_evaluated=extra,
        )

    def _probe(self, prefix: list[int], token: int, top_k: int) -> tuple[TokenLogprobs, int]:
        """The probabilities at the end of `prefix`, for a token the server sent none for.

        llama-server sends no probabilities for a token that ends inside a UTF-8 character
        (it holds text back until the character is complete). So ask for one more token after
        the same prefix, forced by a logit bias to be a plain ASCII one whose text is complete:
        the probabilities it reports come from the raw logits, before any bias. Candidates up
        to top-k come back, so a sampled token is among them. Returns them and the tokens the
        server evaluated for it.
        """
        body: dict[str, Any] = {
            "prompt": prefix,
            "n_predict": 1,
            "n_probs": max(TOP_LOGPROBS, top_k),
            "cache_prompt": True,
            "temperature": 0.0,
            "logit_bias": [[self._plain, 1e4]],
        }
        answer = self._post("/completion", body)
        entries = answer.get("completion_probabilities") or []
        if not entries:
            raise ServerError("llama-server returned no token probabilities (n_probs)")
        top = entries[0]["top_logprobs"]
        ids = [int(candidate["id"]) for candidate in top]
        logprobs = [float(candidate["logprob"]) for candidate in top]
        # Outside the candidates (top-k 0): their smallest log-probability bounds it from above.
        chosen = logprobs[ids.index(token)] if token in ids else logprobs[-1]
        evaluated = int((answer.get("timings") or {}).get("prompt_n", len(prefix)))
        return (
            TokenLogprobs(token, chosen, tuple(ids[:TOP_LOGPROBS]), tuple(logprobs[:TOP_LOGPROBS])),
            evaluated,
        )

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            return self.client.post(path, body)
        except HttpError as exc:
            if "context" in exc.body and exc.status == 400:
                raise context_error(self.n_ctx) from None
            raise ServerError(
                f"llama-server at {self.client.base_url} refused {path} (HTTP {exc.status}): "
                f"{_message(exc.body)}"
            ) from None


def _aligned(tokens: list[int], entries: list[dict[str, Any]]) -> list[TokenLogprobs | None]:
    """The server's `completion_probabilities` matched to the tokens; None where the server
    sent none (a token ending inside a UTF-8 character, see `LlamaServer._probe`)."""
    result: list[TokenLogprobs | None] = []
    j = 0
    for i, token in enumerate(tokens):
        # Entries follow token order and skip some tokens; an id can repeat, so an entry is
        # taken only while the entries left still fit the tokens left.
        entry = entries[j] if j < len(entries) else None
        if entry is not None and int(entry["id"]) == token and len(tokens) - i >= len(entries) - j:
            top = entry["top_logprobs"][:TOP_LOGPROBS]
            result.append(
                TokenLogprobs(
                    token=token,
                    logprob=float(entry["logprob"]),
                    top_ids=tuple(int(candidate["id"]) for candidate in top),
                    top_logprobs=tuple(float(candidate["logprob"]) for candidate in top),
                )
            )
            j += 1
        else:
            result.append(None)
    return result


def _message(body: str) -> str:
    """The error message in a llama-server error answer, else the body's first line."""
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body.strip().splitlines()[0] if body.strip() else "no details"
