"""One bench attempt — a (problem, strategy, sample) — from its options to its record.

`BenchOptions` is what every attempt of a run shares; `solve_options_for` turns it into one
attempt's `SolveOptions` (its seed, its search), `plan_options` into the options every record
carries (what a resume compares), and `run_attempt` solves the problem and writes the record.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from marco_cli import __version__
from marco_cli.answers import answers_match, extract_answer
from marco_cli.bench.datasets import Dataset, Problem
from marco_cli.bench.self_consistency import ScResult, sc_temperature, solve_self_consistency
from marco_cli.bench.strategies import StrategySpec, match_strategy
from marco_cli.engine.base import Engine
from marco_cli.errors import ContextOverflowError, UsageError
from marco_cli.prompts import SolvePrompts
from marco_cli.reasoning import SolveOptions, SolveResult
from marco_cli.search import SearchConfig, search_config

ANSWER_TEXT_LIMIT = 4000
"""Characters of the model's answer text kept in a record (for checking the extraction)."""
THOUGHT_TAIL = 600
"""Last characters of the thought kept in a record (to see why an answer is missing)."""


@dataclass(frozen=True)
class BenchOptions:
    """What every attempt shares."""

    samples: int = 1
    seed: int = 0
    """Attempt `s` of every problem runs with seed `seed + s`."""
    max_tokens: int = 4096
    """Most tokens of one answer: a chain of thought, or one reasoning path of a search."""
    temperature: float = 0.0
    top_p: float = 0.9
    system: str = "zh"
    search: SearchConfig = field(default_factory=SearchConfig)
    """The search every MCTS strategy runs, with the strategy's action and reflection switch,
    the attempt's seed and `max_tokens` for one path."""
    match_tokens: bool = False
    """`sc-K` samples chains until its generated tokens reach those of the first MCTS strategy
    on the same problem and sample (`match_strategy`), in rounds of at most K chains."""

    def check(self) -> None:
        if self.samples < 1:
            raise UsageError("--samples must be at least 1")
        if self.max_tokens < 1:
            raise UsageError("--max-tokens must be at least 1")


@dataclass(frozen=True)
class ModelRef:
    """The model every record names: display name, file and its sha256."""

    name: str
    file: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "file": self.file, "sha256": self.sha256}


def _strategy_search(spec: StrategySpec, options: BenchOptions, seed: int) -> SearchConfig:
    return search_config(
        {"action": spec.action},
        base=options.search,
        max_tokens=options.max_tokens,
        seed=seed,
        reflect=spec.reflect,
    )


def solve_options_for(spec: StrategySpec, options: BenchOptions, sample: int = 0) -> SolveOptions:
    """The `SolveOptions` of one attempt."""
    return SolveOptions(
        strategy=spec.solve_strategy,
        max_tokens=options.max_tokens,
        temperature=sc_temperature(options.temperature) if spec.chains else options.temperature,
        top_p=options.top_p,
        seed=options.seed + sample,
        reflect=spec.reflect,
        system=options.system,
        search=_strategy_search(spec, options, options.seed + sample)
        if spec.strategy == "mcts"
        else None,
    )


def options_json(
    solve_options: SolveOptions,
    options: BenchOptions,
    spec: StrategySpec,
    match: StrategySpec | None,
) -> dict[str, Any]:
    data = dataclasses.asdict(solve_options)
    data["seed"] = options.seed  # the base seed; the attempt's own seed is in the record
    data["samples"] = options.samples
    if spec.chains:
        data["sc"] = {"chains": spec.chains, "match_tokens": match.name if match else None}
    # As it reads back from the file (tuples become lists), so a resume compares like with like.
    return json.loads(json.dumps(data, default=str))


SolveFn = Callable[[Engine, str, SolveOptions, SolvePrompts], SolveResult]
"""`reasoning.solve`, or a scripted stand-in in tests."""


def plan_options(
    datasets: Sequence[Dataset], strategies: Sequence[StrategySpec], options: BenchOptions
) -> dict[tuple[str, str], dict[str, Any]]:
    """The options JSON every record of (dataset, strategy) will carry (validates them too)."""
    options.check()
    match = match_strategy(strategies, options.match_tokens)
    planned = {}
    for spec in strategies:
        solve_options = solve_options_for(spec, options, 0)
        for ds in datasets:
            planned[(ds.name, spec.name)] = options_json(solve_options, options, spec, match)
    return planned


def run_attempt(
    engine: Engine,
    ds: Dataset,
    problem: Problem,
    spec: StrategySpec,
    sample: int,
    solve_options: SolveOptions,
    options_json: dict[str, Any],
    prompts: SolvePrompts,
    model: ModelRef,
    solve_fn: SolveFn,
    match: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One attempt's record. `match` is the search record an `sc` attempt matches in tokens
    (with --match-tokens); without a usable one the attempt is an error, retried on resume."""
    base: dict[str, Any] = {
        "dataset": ds.name,
        "id": problem.id,
        "strategy": spec.name,
        "sample": sample,
        "seed": solve_options.seed,
        "reference": problem.answer,
    }
    tail: dict[str, Any] = {
        "model": model.to_json(),
        "dataset_file": {"path": str(ds.path), "sha256": ds.sha256},
        "options": options_json,
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "marco": __version__,
    }
    start = time.perf_counter()

    def failed(message: str) -> dict[str, Any]:
        return {
            **base,
            "answer": None,
            "correct": False,
            "complete": False,
            "generated_tokens": 0,
            "evaluated_tokens": 0,
            "seconds": round(time.perf_counter() - start, 3),
            "reward": None,
            "error": message,
            **tail,
        }

    matched: int | None = None
    if options_json.get("sc", {}).get("match_tokens"):
        if match is None or match.get("error"):
            return failed(f"--match-tokens: no {options_json['sc']['match_tokens']} result here")
        matched = int(match.get("generated_tokens") or 0)
    result: SolveResult | ScResult
    try:
        if spec.chains:
            result = solve_self_consistency(
                engine,
                problem.question,
                solve_options,
                prompts,
                chains=spec.chains,
                match_tokens=matched,
            )
        else:
            result = solve_fn(engine, problem.question, solve_options, prompts)
    except ContextOverflowError as exc:
        return failed(exc.message)
    search = getattr(result, "search_summary", None)
    if isinstance(search, dict) and search.get("interrupted"):
        # Ctrl-C inside the search: its answer is partial, so no record; the run stops here.
        raise KeyboardInterrupt
    extracted = extract_answer(result.answer)
    return {
        **base,
        "answer": extracted,
        "correct": answers_match(extracted, problem.answer),
        "complete": bool(result.complete),
        "finish_reason": getattr(result, "finish_reason", None),
        "output": (result.answer or "")[:ANSWER_TEXT_LIMIT],
        "thought_tail": (getattr(result, "thought", "") or "")[-THOUGHT_TAIL:],
        "generated_tokens": int(result.generated_tokens),
        "evaluated_tokens": int(result.evaluated_tokens),
        "prompt_tokens": getattr(result, "prompt_tokens", None),
        "seconds": round(float(result.seconds), 3),
        "first_token_seconds": _round(getattr(result, "first_token_seconds", None)),
        "reward": _round(getattr(result, "reward", None), 6),
        "reflections": getattr(result, "reflections", 0),
        "search": getattr(result, "search_summary", None),
        "sc": {**result.summary(), "match_tokens": matched}
        if isinstance(result, ScResult)
        else None,
        "error": None,
        **tail,
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)
