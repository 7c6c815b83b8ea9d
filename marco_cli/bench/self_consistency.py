"""Self-consistency (`sc-K` in `marco bench --strategies`): the rival a search must beat.

Sample several chains of thought for one question and answer what most of them answer (Wang et
al., 2022). It is what a user could do with the tokens a search spends, so it is the fair
baseline for MCTS at equal cost.

- Chains are sampled at the bench temperature, or at `SC_TEMPERATURE` when that is 0 (greedy
  chains would all be the same chain); chain i of an attempt with seed s uses seed
  `s * MAX_CHAINS + i`, so attempts and chains never share a random stream.
- The chains of a round decode in one `generate_batch`: they share the question's prompt, whose
  KV cache the engine evaluates once and forks.
- Like `cot`, a chain that ends the model's turn without an `<Output>` block is given the
  `force_answer` text and continued (in the next round, batched again), within its token limit.
- The vote counts the extracted answers (`answers.extract_answer`); chains without one do not
  vote. Ties go to the answer whose first vote came earliest (chain order), so a result does not
  depend on dictionary order. The reported answer is that first voting chain's `<Output>`.
- `chains=K, match_tokens=None`: exactly K chains. With `match_tokens=T` (`--match-tokens`):
  rounds of at most K chains until the chains' generated tokens reach T; after the first round,
  a round holds only as many chains as the remaining tokens need at the mean chain length so
  far (at least one), so the total overshoots T by about one chain rather than one round.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from marco_cli.answers import extract_answer
from marco_cli.engine.base import Engine, Request, Sampling
from marco_cli.errors import ContextOverflowError
from marco_cli.prompts import SolvePrompts
from marco_cli.reasoning import ReasoningTask, SolveOptions, question_tokens
from marco_cli.response import OUTPUT_CLOSE, parse_response

__all__ = [
    "DEFAULT_CHAINS",
    "MAX_CHAINS",
    "SC_TEMPERATURE",
    "Chain",
    "ScResult",
    "majority_vote",
    "sc_temperature",
    "solve_self_consistency",
]

DEFAULT_CHAINS = 5
"""K of a plain `sc`."""
MAX_CHAINS = 256
"""Most chains of one attempt (a bound for --match-tokens, and the seed stride)."""
SC_TEMPERATURE = 0.7
"""The chains' temperature when the bench runs greedy (--temperature 0, the default)."""


def sc_temperature(temperature: float) -> float:
    return temperature if temperature > 0 else SC_TEMPERATURE


def majority_vote(answers: Sequence[str | None]) -> int | None:
    """Index of the chain whose answer wins (the first chain giving it), None if none answered.

    Most votes wins; among equals, the answer first given earliest."""
    first: dict[str, int] = {}
    votes: dict[str, int] = {}
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        first.setdefault(answer, index)
        votes[answer] = votes.get(answer, 0) + 1
    if not votes:
        return None
    best = min(votes, key=lambda a: (-votes[a], first[a]))
    return first[best]


@dataclass
class Chain:
    seed: int
    text: str = ""
    """The assistant's text after its forced prefix."""
    tokens: list[int] = field(default_factory=list)
    generated: int = 0
    finish: str = "length"

    def unanswered(self, task: ReasoningTask) -> bool:
        """Ended its turn without an answer block: it gets `force_answer` and goes on."""
        return self.finish == "eos" and task.needs_answer(self.text)


@dataclass
class ScResult:
    """One self-consistency answer, with the attributes the bench runner records."""

    question: str
    answer: str
    thought: str
    complete: bool
    """The winning chain closed its answer (no chain won: the first chain)."""
    finish_reason: str
    model: str
    prompt_tokens: int
    generated_tokens: int
    evaluated_tokens: int
    seconds: float
    answers: list[str | None]
    """Each chain's extracted answer, in chain order."""
    winner: int | None
    chain_tokens: list[int]
    strategy: str = "sc"

    def summary(self) -> dict[str, Any]:
        """The "sc" part of a results record."""
        won = None if self.winner is None else self.answers[self.winner]
        return {
            "chains": len(self.answers),
            "answers": self.answers,
            "winner": self.winner,
            "votes": sum(1 for a in self.answers if won is not None and a == won),
            "chain_tokens": self.chain_tokens,
        }


def _decode(
    engine: Engine,
    prompt: list[int],
    chains: list[Chain],
    options: SolveOptions,
    prompts: SolvePrompts,
) -> None:
    """Run `chains` to their end: one batch per round, open chains forced to answer."""
    task = ReasoningTask.from_prompts(prompts)
    pending = chains
    while pending:
        requests = [
            Request(
                prompt=tuple(prompt + c.tokens),
                max_tokens=options.max_tokens - c.generated,
                stop=(OUTPUT_CLOSE,),
                sampling=Sampling(
                    temperature=sc_temperature(options.temperature),
                    top_p=options.top_p,
                    seed=c.seed,
                ),
            )
            for c in pending
        ]
        forced: list[Chain] = []
        for chain, gen in zip(pending, engine.generate_batch(requests), strict=True):
            chain.tokens += gen.tokens
            chain.text += gen.text
            chain.generated += len(gen.tokens)
            chain.finish = gen.finish_reason
            if chain.unanswered(task) and chain.generated < options.max_tokens:
                chain.tokens += engine.tokenize(prompts.force_answer, special=False)
                chain.text += prompts.force_answer
                forced.append(chain)
        pending = forced


def solve_self_consistency(
    engine: Engine,
    question: str,
    options: SolveOptions,
    prompts: SolvePrompts,
    *,
    chains: int = DEFAULT_CHAINS,
    match_tokens: int | None = None,
) -> ScResult:
    """Answer `question` by majority vote over sampled chains (see the module docstring).
    `options` gives the chain's token limit, temperature, top-p, seed and system prompt."""
    if chains < 1:
        raise ValueError("self-consistency needs at least one chain")
    question = question.strip()
    prompt = question_tokens(engine, question, prompts, options.system)
    if len(prompt) >= engine.n_ctx:
        raise ContextOverflowError(
            f"the question needs {len(prompt)} tokens with its prompt but the context holds "
            f"{engine.n_ctx}; shorten it or raise --ctx"
        )
    base_seed = (options.seed or 0) * MAX_CHAINS
    start = time.perf_counter()
    evaluated_before = engine.stats.evaluated
    done: list[Chain] = []
    size = min(chains, MAX_CHAINS)
    while size > 0:
        batch = [Chain(base_seed + len(done) + i) for i in range(size)]
        _decode(engine, prompt, batch, options, prompts)
        done += batch
        spent = sum(c.generated for c in done)
        if match_tokens is None or spent >= match_tokens or spent == 0:
            break
        per_chain = spent / len(done)
        needed = math.ceil((match_tokens - spent) / per_chain)
        size = min(chains, needed, MAX_CHAINS - len(done))
    parsed = [parse_response(prompts.assistant_prefix + c.text) for c in done]
    answers = [extract_answer(p.answer) for p in parsed]
    winner = majority_vote(answers)
    shown = 0 if winner is None else winner
    return ScResult(
        question=question,
        answer=parsed[shown].answer,
        thought=parsed[shown].thought,
        complete=done[shown].finish != "length",
        finish_reason=done[shown].finish,
        model=engine.model_name,
        prompt_tokens=len(prompt),
        generated_tokens=sum(c.generated for c in done),
        evaluated_tokens=engine.stats.evaluated - evaluated_before,
        seconds=time.perf_counter() - start,
        answers=answers,
        winner=winner,
        chain_tokens=[c.generated for c in done],
    )
