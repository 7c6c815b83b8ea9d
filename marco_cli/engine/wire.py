"""What the remote dialects share: one finished completion, and the rules that make a server's
answer mean what the local engine's would (context checks, stop strings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marco_cli.engine.base import FinishReason, TokenLogprobs, find_stop
from marco_cli.errors import ContextOverflowError


@dataclass
class Completion:
    """A server's answer to one request, in the engine's terms."""

    tokens: list[int]
    logprobs: list[TokenLogprobs]
    text: str
    finish_reason: FinishReason
    stop: str | None
    prompt_evaluated: int
    """Prompt tokens the server computed (not served from its prompt cache)."""
    seconds: float
    """Time the server reports it spent on the prompt and the generation."""
    extra_evaluated: int = 0
    """Tokens the server evaluated for follow-up requests (see `LlamaServer._probe`)."""


@dataclass(frozen=True)
class Shared:
    """A prompt made cached for several requests sent together (see `Dialect.share_prefix`)."""

    slots: tuple[int, ...] = ()
    """The server slots that hold it, one per request to pin there; empty: route as usual."""
    evaluated: int = 0
    """Tokens the server evaluated for it."""


def check_fits(prompt_tokens: int, n_ctx: int) -> None:
    """Refuse a prompt the server's context cannot hold, with the local engine's message."""
    if n_ctx and prompt_tokens >= n_ctx:
        raise ContextOverflowError(
            f"the input is {prompt_tokens} tokens; the server's context holds {n_ctx} per "
            "request (start the server with a larger context or shorten the input)"
        )


def context_error(n_ctx: int) -> ContextOverflowError:
    """The server refused a request as too long for its context."""
    return ContextOverflowError(
        f"the request does not fit the server's context ({n_ctx or 'unknown'} tokens per "
        "request); start the server with a larger context or shorten the input"
    )


def finish_of(
    text: str, stops: Sequence[str], *, ended: bool, server_stop: str | None
) -> tuple[FinishReason, str | None]:
    """Why a generation ended, as the local engine would say: a stop string found in the text
    (leading whitespace ignored, see `find_stop`), else the server's own stop, else the end of
    the turn when the server ended it, else the token budget."""
    hit = find_stop(text, stops) if stops else None
    if hit is not None:
        return "stop", hit[1]
    if server_stop:
        return "stop", server_stop
    return ("eos", None) if ended else ("length", None)
