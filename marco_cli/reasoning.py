"""Reasoning (`marco solve`, `marco bench`): answer a question with chain of thought or with a
tree search.

The library entry point is `solve()`; the CLI only gathers options and renders its result. For
the search, `ReasoningTask` says what an answer is: the Marco-o1 <Output>, compared with other
answers by its final number.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from marco_cli.answers import answer_key
from marco_cli.engine.base import Engine, Request, Sampling, split_tokens
from marco_cli.errors import ContextOverflowError, Interrupted, UsageError
from marco_cli.prompts import SolvePrompts
from marco_cli.response import (
    OUTPUT_CLOSE,
    THOUGHT_ENDS,
    MarcoO1Format,
    parse_response,
)
from marco_cli.search import SearchConfig, SearchEvent, SearchResult, run_mcts, search_config

Strategy = Literal["cot", "mcts"]
STRATEGIES: tuple[str, ...] = ("cot", "mcts")


@dataclass(frozen=True)
class SolveOptions:
    strategy: Strategy = "cot"
    max_tokens: int = 4096
    """Most tokens of one answer: the chain of thought, or one path of the search."""
    temperature: float = 0.0
    top_p: float = 0.9
    seed: int | None = None
    reflect: bool | None = None
    """Make the model reconsider when it closes its thought; None: on for mcts, off for cot."""
    system: str = "zh"
    """Which system prompt of prompts/solve.yaml: Marco-o1's original Chinese one or English."""
    search: SearchConfig | None = None
    """The whole configuration of the search for strategy mcts, built by its caller with
    `search_config` (None: the defaults with these options' `max_tokens`, `seed` and
    `reflect`)."""


@dataclass
class SolveResult:
    question: str
    answer: str
    thought: str
    complete: bool
    """The answer was closed (</Output> or end of turn) before the token budget ran out."""
    finish_reason: str
    strategy: str
    model: str
    prompt_tokens: int
    generated_tokens: int
    evaluated_tokens: int
    seconds: float
    first_token_seconds: float | None
    reflections: int = 0
    reward: float | None = None
    search_summary: dict[str, Any] | None = None
    """The search's `SearchResult.summary()` (mcts only); "search" in the JSON."""
    search_result: SearchResult | None = field(default=None, repr=False)
    """The whole search, its tree included (mcts only); not part of the JSON."""

    @property
    def tokens_per_second(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.pop("search_result")
        data["search"] = data.pop("search_summary")  # the last key but one, as always
        data["tokens_per_second"] = round(self.tokens_per_second, 2)
        return data


@dataclass(frozen=True)
class ReasoningTask(MarcoO1Format):
    """The search task of a math or reasoning question: two answers agree when their final
    numbers do (else when their whitespace-normalised texts do)."""

    @classmethod
    def from_prompts(cls, prompts: SolvePrompts) -> ReasoningTask:
        """The task of prompts/solve.yaml: its assistant prefix, reflection phrase and the text
        that forces an answer (the same as the chain of thought's)."""
        return cls(prompts.assistant_prefix, prompts.reflection, prompts.force_answer)

    def answer_key(self, answer: str) -> str:
        return answer_key(answer)


def question_tokens(
    engine: Engine, question: str, prompts: SolvePrompts, system: str = "zh"
) -> list[int]:
    """The chat prompt for `question`, ending inside the assistant turn after its prefix."""
    messages = [
        {"role": "system", "content": prompts.system(system)},
        {"role": "user", "content": question},
    ]
    return engine.chat_tokens(messages) + engine.tokenize(prompts.assistant_prefix, special=False)


def solve(
    engine: Engine,
    question: str,
    options: SolveOptions,
    prompts: SolvePrompts,
    *,
    on_text: Callable[[str], None] | None = None,
    on_event: Callable[[SearchEvent], None] | None = None,
) -> SolveResult:
    """Answer `question`. Streams generated text to `on_text` (cot) or search events to
    `on_event` (mcts). Raises Interrupted (with the partial text) on Ctrl-C."""
    question = question.strip()
    if not question:
        raise UsageError("the question is empty; pass it as an argument or on stdin")
    if options.strategy not in STRATEGIES:
        raise UsageError(
            f"unknown strategy {options.strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    prompt = question_tokens(engine, question, prompts, options.system)
    if len(prompt) >= engine.n_ctx:
        raise ContextOverflowError(
            f"the question needs {len(prompt)} tokens with its prompt but the context holds "
            f"{engine.n_ctx}; shorten it or raise --ctx"
        )
    if options.strategy == "mcts":
        return _solve_mcts(engine, question, prompt, options, prompts, on_event=on_event)
    return _solve_cot(engine, question, prompt, options, prompts, on_text)


def _solve_mcts(
    engine: Engine,
    question: str,
    prompt: list[int],
    options: SolveOptions,
    prompts: SolvePrompts,
    *,
    on_event: Callable[[SearchEvent], None] | None = None,
) -> SolveResult:
    """Search, then report. Ctrl-C does not raise: the result's `search_summary["interrupted"]`
    is True and its answer is the best found so far; `complete` is False when no rollout
    finished."""
    config = options.search or search_config(
        max_tokens=options.max_tokens, seed=options.seed, reflect=options.reflect
    )
    task = ReasoningTask.from_prompts(prompts)
    result = run_mcts(engine, prompt, config, task, on_event=on_event)
    reflections = sum(
        1 for node_id in result.path if result.tree.nodes[node_id].kind == "reflection"
    )
    return SolveResult(
        question=question,
        answer=result.answer,
        thought=result.thought,
        complete=result.complete,
        finish_reason=result.stop_reason,
        strategy="mcts",
        model=engine.model_name,
        prompt_tokens=len(prompt),
        generated_tokens=result.stats.generated,
        evaluated_tokens=result.stats.evaluated,
        seconds=result.stats.wall_seconds,
        first_token_seconds=None,
        reflections=reflections,
        reward=result.reward,
        search_summary=result.summary(),
        search_result=result,
    )


def _solve_cot(
    engine: Engine,
    question: str,
    prompt: list[int],
    options: SolveOptions,
    prompts: SolvePrompts,
    on_text: Callable[[str], None] | None,
) -> SolveResult:
    sampling = Sampling(temperature=options.temperature, top_p=options.top_p, seed=options.seed)
    task = ReasoningTask.from_prompts(prompts)
    start = time.perf_counter()
    evaluated_before = engine.stats.evaluated
    first_token: float | None = None
    text = ""  # the assistant's text after its forced prefix
    tokens: list[int] = []  # token ids of `text`, as generated (leftovers re-tokenized)
    generated = 0
    reflections = 0
    finish = "length"
    shown: list[str] = []

    def stream(_index: int, piece: str) -> None:
        nonlocal first_token
        if first_token is None:
            first_token = time.perf_counter() - start
        shown.append(piece)
        if on_text is not None:
            on_text(piece)

    try:
        while generated < options.max_tokens:
            reflect_now = bool(options.reflect) and reflections == 0
            stops = (OUTPUT_CLOSE, *THOUGHT_ENDS) if reflect_now else (OUTPUT_CLOSE,)
            request = Request(
                prompt=tuple(prompt + tokens),
                max_tokens=options.max_tokens - generated,
                stop=stops,
                sampling=sampling,
            )
            gen = engine.generate(request, on_text=stream)
            generated += len(gen.tokens)
            finish = gen.finish_reason
            if gen.stop in THOUGHT_ENDS:
                # The thought just closed: cut the closing tag and make the model rethink.
                kept, leftover = split_tokens(engine, gen.tokens, gen.text.rfind(gen.stop))
                insert = f"{leftover}\n\n{prompts.reflection}\n"
                tokens += kept + engine.tokenize(insert, special=False)
                text += engine.detokenize(kept) + insert
                reflections += 1
                stream(0, f"\n\n{prompts.reflection}\n")
                continue
            tokens += gen.tokens
            text += gen.text
            if gen.finish_reason == "eos" and task.needs_answer(text):
                # The model ended its turn without an answer block: open one and let it finish.
                forced = prompts.force_answer
                tokens += engine.tokenize(forced, special=False)
                text += forced
                stream(0, forced)
                continue
            break
    except KeyboardInterrupt:
        raise Interrupted("".join(shown)) from None

    parsed = parse_response(prompts.assistant_prefix + text)
    return SolveResult(
        question=question,
        answer=parsed.answer,
        thought=parsed.thought,
        complete=finish != "length",
        finish_reason=finish,
        strategy="cot",
        model=engine.model_name,
        prompt_tokens=len(prompt),
        generated_tokens=generated,
        evaluated_tokens=engine.stats.evaluated - evaluated_before,
        seconds=time.perf_counter() - start,
        first_token_seconds=first_token,
        reflections=reflections,
    )
