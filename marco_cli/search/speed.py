"""How fast a search runs compared with plain decoding, on one loaded engine.

`measure_search_speed` times, in one run and on the same engine and question:

1. single-sequence greedy decoding (the prompt is evaluated first and left out of the timing,
   so this is the model's decode speed), and
2. a tree search (by default `--branch 4`, mini-32 actions, early stop off), timed as a whole:
   selection, batched expansions and rollouts, rewards and bookkeeping.

It reports both speeds in generated tokens per second, their ratio, and the search's
evaluated / unique tokens (how much of the tree the engine evaluated more than once). Used by
`benchmarks/search_speed.py` and meant for a `marco bench --suite speed`.

On a machine shared with other work, wall-clock speeds swing with the load; run several pairs
(`repeats`) back to back, and compare CPU time as well (`process_time`, meaningful with one
thread, when no thread spins at a barrier waiting for a descheduled sibling).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marco_cli.engine.base import Engine, Request, Sampling
from marco_cli.search.mcts import SearchConfig, SearchEvent, SearchResult, run_mcts

DEFAULT_QUESTION = (
    "A shop sells pencils at 3 for 2 dollars and pens at 4 dollars each. Tom buys 12 pencils "
    "and 3 pens, and pays with a 50 dollar note. How much change does he get?"
)
EVAL_RATIO_TARGET = 1.10
SPEEDUP_TARGET = 1.3


@dataclass(frozen=True)
class SpeedReport:
    model: str
    backend: str
    single_tokens: int
    single_seconds: float
    single_cpu_seconds: float
    search_tokens: int
    search_seconds: float
    search_cpu_seconds: float
    evaluated: int
    unique: int
    branch: int
    parallel: int | None
    iterations: int
    action: str
    stop_reason: str
    batch_sizes: tuple[int, ...]
    """Tokens per llama_decode call during the searches, when the engine reports them."""
    pair_speedups: tuple[float, ...] = ()
    """Search / single wall-clock speed of each (single, search) pair, run back to back."""

    @property
    def single_tokens_per_second(self) -> float:
        return _rate(self.single_tokens, self.single_seconds)

    @property
    def search_tokens_per_second(self) -> float:
        return _rate(self.search_tokens, self.search_seconds)

    @property
    def speedup(self) -> float:
        """Search / single generated tokens per wall-clock second."""
        return _ratio(self.search_tokens_per_second, self.single_tokens_per_second)

    @property
    def cpu_speedup(self) -> float:
        """Search / single generated tokens per CPU second of this process."""
        return _ratio(
            _rate(self.search_tokens, self.search_cpu_seconds),
            _rate(self.single_tokens, self.single_cpu_seconds),
        )

    @property
    def eval_ratio(self) -> float:
        return self.evaluated / self.unique if self.unique else 0.0

    @property
    def mean_batch(self) -> float:
        return sum(self.batch_sizes) / len(self.batch_sizes) if self.batch_sizes else 0.0

    def meets_targets(self) -> bool:
        return self.eval_ratio <= EVAL_RATIO_TARGET and self.speedup >= SPEEDUP_TARGET

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("batch_sizes")
        data["pair_speedups"] = [round(x, 3) for x in self.pair_speedups]
        data.update(
            single_tokens_per_second=round(self.single_tokens_per_second, 2),
            search_tokens_per_second=round(self.search_tokens_per_second, 2),
            speedup=round(self.speedup, 3),
            cpu_speedup=round(self.cpu_speedup, 3),
            eval_ratio=round(self.eval_ratio, 4),
            mean_decode_batch=round(self.mean_batch, 2),
            targets={"eval_ratio_max": EVAL_RATIO_TARGET, "speedup_min": SPEEDUP_TARGET},
            meets_targets=self.meets_targets(),
        )
        return data

    def lines(self) -> list[str]:
        pairs = ", ".join(f"{x:.2f}x" for x in self.pair_speedups)
        return [
            f"model        {self.model} ({self.backend})",
            f"single       {self.single_tokens} tokens in {self.single_seconds:.2f}s = "
            f"{self.single_tokens_per_second:.1f} tokens/s "
            f"(cpu {self.single_cpu_seconds:.2f}s)",
            f"search       {self.search_tokens} tokens in {self.search_seconds:.2f}s = "
            f"{self.search_tokens_per_second:.1f} tokens/s (cpu {self.search_cpu_seconds:.2f}s; "
            f"branch {self.branch}, parallel {self.parallel or 'auto'}, "
            f"{self.iterations} iterations, {self.action}, stopped: {self.stop_reason})",
            f"speedup      {self.speedup:.2f}x wall, {self.cpu_speedup:.2f}x cpu "
            f"(target >= {SPEEDUP_TARGET}x); per pair: {pairs}",
            f"evaluated    {self.evaluated} / {self.unique} unique tokens = {self.eval_ratio:.3f} "
            f"(target <= {EVAL_RATIO_TARGET}); mean decode batch {self.mean_batch:.2f} tokens",
            f"result       {'meets' if self.meets_targets() else 'misses'} the targets",
        ]


def _rate(tokens: float, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else 0.0


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


@dataclass(frozen=True)
class _Timing:
    tokens: int
    seconds: float
    cpu_seconds: float


def single_decode(engine: Engine, prompt: list[int], tokens: int) -> _Timing:
    """Single-sequence decoding of `tokens` tokens after `prompt`.

    The prompt is evaluated beforehand and not timed. The first answer is greedy; should the
    model end its turn before `tokens`, further answers to the same (cached) prompt are
    sampled with fresh seeds until the count is reached. Continuing a finished answer instead
    would measure call overhead: a small model then ends its turn after nearly every token.
    """
    engine.generate(Request(prompt=tuple(prompt), max_tokens=1))
    done = attempts = 0
    seconds = cpu = 0.0
    while done < tokens and attempts < tokens:
        sampling = Sampling() if attempts == 0 else Sampling(temperature=0.8, seed=attempts)
        start, start_cpu = time.perf_counter(), time.process_time()
        gen = engine.generate(
            Request(prompt=tuple(prompt), max_tokens=tokens - done, sampling=sampling)
        )
        seconds += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        done += len(gen.tokens)
        attempts += 1
    return _Timing(done, seconds, cpu)


def measure_search_speed(
    engine: Engine,
    prompt: list[int],
    prompts: dict[str, Any],
    *,
    config: SearchConfig | None = None,
    single_tokens: int = 256,
    repeats: int = 1,
    on_event: Callable[[SearchEvent], None] | None = None,
) -> tuple[SpeedReport, SearchResult]:
    """Time single-sequence decoding and a search on `prompt` (see the module docstring).

    With `repeats` > 1 the pair (single decode, search with seed + i) runs that many times,
    back to back, and the totals are compared. Returns the report and the last search.
    """
    if config is None:
        config = SearchConfig(branch=4, iterations=8, action="mini-32", early_stop=0, seed=0)
    seed = config.seed or 0
    singles: list[_Timing] = []
    searches: list[_Timing] = []
    evaluated = unique = iterations = 0
    sizes: list[int] = []
    result: SearchResult | None = None
    for i in range(max(1, repeats)):
        singles.append(single_decode(engine, prompt, single_tokens))
        before = len(engine.stats.batch_sizes)
        start_cpu = time.process_time()
        config_i = dataclasses.replace(config, seed=seed + i)
        result = run_mcts(engine, prompt, config_i, prompts, on_event=on_event)
        cpu = time.process_time() - start_cpu
        sizes += engine.stats.batch_sizes[before:]
        stats = result.stats
        searches.append(_Timing(stats.generated, stats.wall_seconds, cpu))
        evaluated += stats.evaluated
        unique += stats.unique
        iterations += stats.iterations
    assert result is not None
    pairs = tuple(
        _ratio(_rate(b.tokens, b.seconds), _rate(a.tokens, a.seconds))
        for a, b in zip(singles, searches, strict=True)
    )
    report = SpeedReport(
        model=engine.model_name,
        backend=engine.backend,
        single_tokens=sum(t.tokens for t in singles),
        single_seconds=sum(t.seconds for t in singles),
        single_cpu_seconds=sum(t.cpu_seconds for t in singles),
        search_tokens=sum(t.tokens for t in searches),
        search_seconds=sum(t.seconds for t in searches),
        search_cpu_seconds=sum(t.cpu_seconds for t in searches),
        evaluated=evaluated,
        unique=unique,
        branch=config.branch,
        parallel=config.parallel,
        iterations=iterations,
        action=config.action,
        stop_reason=result.stop_reason,
        batch_sizes=tuple(sizes),
        pair_speedups=pairs,
    )
    return report, result
