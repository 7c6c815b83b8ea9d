"""How fast a search runs compared with plain decoding, on one loaded engine (the search part
of `marco bench --suite speed`, see `speed_suite.py`).

`measure_search_speed` times, in one run and on the same engine and question:

1. single-sequence greedy decoding (the prompt is evaluated first and left out of the timing,
   so this is the model's decode speed), and
2. a tree search (by default `--branch 4`, mini-32 actions, early stop off), timed as a whole:
   selection, batched expansions and rollouts, rewards and bookkeeping.

It reports both speeds in generated tokens per second, their ratio, the search's
evaluated / unique tokens (how much of the tree the engine evaluated more than once), and where
the search's wall time went (`StepTimes`: inside llama_decode, and host work between the calls).

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
from marco_cli.search import SearchConfig, SearchEvent, SearchResult, Task, run_mcts

DEFAULT_QUESTION = (
    "A shop sells pencils at 3 for 2 dollars and pens at 4 dollars each. Tom buys 12 pencils "
    "and 3 pens, and pays with a 50 dollar note. How much change does he get?"
)
DEFAULT_SEARCH = SearchConfig(branch=4, iterations=8, action="mini-32", early_stop=0, seed=0)
"""The measured search: the issue's `--branch 4`, short actions so that batches stay full,
every iteration run (no early stop), reflection on as in `marco solve`."""
EVAL_RATIO_TARGET = 1.10
SPEEDUP_TARGET = 1.3


@dataclass(frozen=True)
class StepTimes:
    """Where a timed run's wall seconds went: inside the model evaluation (`steps` llama_decode
    calls) and host work between the calls (all the rest), of which `engine_host_seconds` in
    the engine's own code (sampling, log-probabilities, detokenizing, stop checks) and the rest
    in its caller (a search's tree, rewards and scheduling)."""

    seconds: float
    decode_seconds: float
    engine_host_seconds: float
    engine_host_cpu_seconds: float
    """CPU seconds of the engine's host work: what a busy machine inflates least."""
    steps: int
    tokens: int
    """Generated tokens."""

    @property
    def host_seconds(self) -> float:
        return max(0.0, self.seconds - self.decode_seconds)

    @property
    def decode_ms_per_step(self) -> float:
        return 1000 * _ratio(self.decode_seconds, self.steps)

    @property
    def host_ms_per_step(self) -> float:
        return 1000 * _ratio(self.host_seconds, self.steps)

    @property
    def host_ms_per_token(self) -> float:
        return 1000 * _ratio(self.host_seconds, self.tokens)

    @property
    def engine_host_cpu_ms_per_token(self) -> float:
        return 1000 * _ratio(self.engine_host_cpu_seconds, self.tokens)

    def to_json(self) -> dict[str, Any]:
        return {
            "decode_seconds": round(self.decode_seconds, 4),
            "host_seconds": round(self.host_seconds, 4),
            "engine_host_seconds": round(self.engine_host_seconds, 4),
            "engine_host_cpu_seconds": round(self.engine_host_cpu_seconds, 4),
            "steps": self.steps,
            "decode_ms_per_step": round(self.decode_ms_per_step, 3),
            "host_ms_per_step": round(self.host_ms_per_step, 3),
            "host_ms_per_token": round(self.host_ms_per_token, 4),
            "engine_host_cpu_ms_per_token": round(self.engine_host_cpu_ms_per_token, 4),
        }


class StepClock:
    """Reads an engine's counters before a timed run; `stop` gives the run's `StepTimes`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        stats = engine.stats
        self.start = (
            stats.decode_seconds,
            stats.host_seconds,
            stats.host_cpu_seconds,
            stats.batches,
        )

    def stop(self, seconds: float, tokens: int) -> StepTimes:
        stats = self.engine.stats
        decode, host, host_cpu, steps = self.start
        return StepTimes(
            seconds=seconds,
            decode_seconds=stats.decode_seconds - decode,
            engine_host_seconds=stats.host_seconds - host,
            engine_host_cpu_seconds=stats.host_cpu_seconds - host_cpu,
            steps=stats.batches - steps,
            tokens=tokens,
        )


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
    search_times: StepTimes | None = None
    """Where the searches' wall time went (all pairs together)."""

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
    def mean_batch(self) -> float | None:
        """Sequences per decode call; None when the engine cannot tell (a server batches alone)."""
        return sum(self.batch_sizes) / len(self.batch_sizes) if self.batch_sizes else None

    @property
    def mean_batch_text(self) -> str:
        return "unknown" if self.mean_batch is None else f"{self.mean_batch:.2f}"

    def meets_targets(self) -> bool:
        return self.eval_ratio <= EVAL_RATIO_TARGET and self.speedup >= SPEEDUP_TARGET

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("batch_sizes")
        data["search_times"] = self.search_times.to_json() if self.search_times else None
        data["pair_speedups"] = [round(x, 3) for x in self.pair_speedups]
        data.update(
            single_tokens_per_second=round(self.single_tokens_per_second, 2),
            search_tokens_per_second=round(self.search_tokens_per_second, 2),
            speedup=round(self.speedup, 3),
            cpu_speedup=round(self.cpu_speedup, 3),
            eval_ratio=round(self.eval_ratio, 4),
            mean_decode_batch=None if self.mean_batch is None else round(self.mean_batch, 2),
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
            f"(target <= {EVAL_RATIO_TARGET}); mean decode batch {self.mean_batch_text}",
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
    task: Task,
    *,
    config: SearchConfig = DEFAULT_SEARCH,
    single_tokens: int = 256,
    repeats: int = 1,
    on_event: Callable[[SearchEvent], None] | None = None,
    on_pair: Callable[[int, float, float], None] | None = None,
) -> tuple[SpeedReport, SearchResult]:
    """Time single-sequence decoding and a search on `prompt`, on one loaded engine.

    With `repeats` > 1 the pair (single decode, search with seed + i) runs that many times back
    to back and the totals are compared; `on_pair(i, single tokens/s, search tokens/s)` reports
    each pair. Mind that llama.cpp attends over every used cell of its unified KV cache, so a
    single decode after a search (or other work) on the same engine runs slower than on a clean
    one. Returns the report and the last search.
    """
    pairs: list[_Pair] = []
    for i in range(max(1, repeats)):
        pairs.append(_measure_pair(engine, prompt, task, config, single_tokens, i, on_event))
        if on_pair is not None:
            on_pair(i, pairs[-1].single_rate, pairs[-1].search_rate)
    return _report(engine.model_name, engine.backend, config, pairs), pairs[-1].result


@dataclass(frozen=True)
class _Pair:
    single: _Timing
    search: _Timing
    result: SearchResult
    batch_sizes: tuple[int, ...]
    times: StepTimes

    @property
    def single_rate(self) -> float:
        return _rate(self.single.tokens, self.single.seconds)

    @property
    def search_rate(self) -> float:
        return _rate(self.search.tokens, self.search.seconds)


def _measure_pair(
    engine: Engine,
    prompt: list[int],
    task: Task,
    config: SearchConfig,
    single_tokens: int,
    index: int,
    on_event: Callable[[SearchEvent], None] | None,
) -> _Pair:
    single = single_decode(engine, prompt, single_tokens)
    before = len(engine.stats.batch_sizes)
    clock = StepClock(engine)
    start_cpu = time.process_time()
    config_i = dataclasses.replace(config, seed=(config.seed or 0) + index)
    result = run_mcts(engine, prompt, config_i, task, on_event=on_event)
    cpu = time.process_time() - start_cpu
    stats = result.stats
    search = _Timing(stats.generated, stats.wall_seconds, cpu)
    times = clock.stop(stats.wall_seconds, stats.generated)
    return _Pair(single, search, result, tuple(engine.stats.batch_sizes[before:]), times)


def _report(model: str, backend: str, config: SearchConfig, pairs: list[_Pair]) -> SpeedReport:
    last = pairs[-1].result
    return SpeedReport(
        model=model,
        backend=backend,
        single_tokens=sum(p.single.tokens for p in pairs),
        single_seconds=sum(p.single.seconds for p in pairs),
        single_cpu_seconds=sum(p.single.cpu_seconds for p in pairs),
        search_tokens=sum(p.search.tokens for p in pairs),
        search_seconds=sum(p.search.seconds for p in pairs),
        search_cpu_seconds=sum(p.search.cpu_seconds for p in pairs),
        evaluated=sum(p.result.stats.evaluated for p in pairs),
        unique=sum(p.result.stats.unique for p in pairs),
        branch=config.branch,
        parallel=config.parallel,
        iterations=sum(p.result.stats.iterations for p in pairs),
        action=config.action,
        stop_reason=last.stop_reason,
        batch_sizes=tuple(size for p in pairs for size in p.batch_sizes),
        pair_speedups=tuple(_ratio(p.search_rate, p.single_rate) for p in pairs),
        search_times=StepTimes(
            *(sum(getattr(p.times, f.name) for p in pairs) for f in dataclasses.fields(StepTimes))
        ),
    )
