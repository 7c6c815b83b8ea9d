"""llama.cpp's `llama-server` spoken natively: token-id prompts to `/completion`, per-token top-n
log-probabilities from the raw logits (as the local engine computes them), prompt caching in
the server's slots, and the tokenizer and chat template of the served model.

How llama-server reuses a prompt (tools/server/server-context.cpp, the llama.cpp of
llama-cpp-python 0.3.36): each slot keeps the tokens of its last request; a new request goes to
the idle slot whose tokens cover the largest fraction of its prompt, if above
`--slot-prompt-similarity`, else to the least recently used slot; only the tokens after the
common prefix are evaluated (`prompt_n` in the answer's timings). Nothing is shared between
slots on the way: requests sent together land in different slots, and each evaluates their
common prefix again. The host-memory prompt cache (`--cache-ram`) moves a saved state into one
slot, and only when the least recently used slot is taken; a request with `n_cmpl` copies its
prompt into other slots but clears them when done and samples them with seeds of its own. What
does copy a slot's cache into another is saving it to a file and restoring it
(`--slot-save-path`): `share_prefix` does that for siblings.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from marco_cli.engine.base import TOP_LOGPROBS, Request, TokenLogprobs, answer_room
from marco_cli.engine.chat_segments import split_chat
from marco_cli.engine.http import HttpError, JsonClient, ServerError
from marco_cli.engine.wire import Completion, Shared, check_fits, context_error, finish_of

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
        self.slots = int(props.get("total_slots") or 1)
        self.can_copy_slots = True
        """Whether slots can be saved and restored (the server has --slot-save-path)."""
        # One file per engine, overwritten by each copy; `_copying` keeps copies one at a time.
        self._slot_file = f"marco-{os.getpid()}-{id(self):x}.bin"
        self._copying = threading.Lock()
        # When each slot last answered this engine (a count): copies go to the slots used
        # longest ago, which hold what the next requests are least likely to continue.
        self._used: dict[int, int] = {}
        self._uses = itertools.count()
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

    def share_prefix(self, prompt: Sequence[int], copies: int) -> Shared:
        """Cache `prompt` in `copies` slots, evaluated once, for as many requests continuing it.

        The prompt less its last token (a request evaluates at least that one anyway) goes to
        the slot that holds most of it; that slot is saved to a file and restored into idle
        slots. Without --slot-save-path only that one slot is returned, and no copy is tried
        again.
        """
        copies = min(copies, self.slots)
        if copies < 2 or len(prompt) < 2:
            return Shared()
        body: dict[str, Any] = {
            "prompt": list(prompt[:-1]),
            "n_predict": 0,
            "cache_prompt": True,
            "samplers": [],
        }
        with self._copying:
            answer = self._post("/completion", body)
            source = self._answered_in(answer)
            evaluated = int((answer.get("timings") or {}).get("prompt_n", len(prompt) - 1))
            if not self.can_copy_slots:
                return Shared((source,), evaluated)
            try:
                idle = [
                    int(slot["id"])
                    for slot in self.client.get("/slots")
                    if not slot.get("is_processing") and int(slot["id"]) != source
                ]
                idle.sort(key=lambda slot: self._used.get(slot, -1))
                targets = idle[: copies - 1]
                if targets:
                    file = {"filename": self._slot_file}
                    self.client.post(f"/slots/{source}?action=save", file)
                    for target in targets:
                        self.client.post(f"/slots/{target}?action=restore", file)
            except HttpError:  # no --slot-save-path, or the /slots endpoint is off
                self.can_copy_slots = False
                return Shared((source,), evaluated)
        return Shared((source, *targets), evaluated)

    def complete(self, request: Request, slot: int | None = None) -> Completion:
        prompt = list(request.prompt)
        check_fits(len(prompt), self.n_ctx)
        sampling = request.sampling
        body: dict[str, Any] = {
            "prompt": prompt,
            "n_predict": answer_room(request.max_tokens, len(prompt), self.n_ctx),
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
        if slot is not None:
            body["id_slot"] = slot
        answer = self._post("/completion", body)
        self._answered_in(answer)
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

    def _answered_in(self, answer: dict[str, Any]) -> int:
        """The slot that answered; noted as the most recently used."""
        slot = int(answer.get("id_slot", -1))
        self._used[slot] = next(self._uses)
        return slot

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
