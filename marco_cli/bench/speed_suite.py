"""`marco bench --suite speed`: what the search costs on this model and machine, in one run.

Measured on one loaded engine and one question (the chat prompt of `marco solve`), in this
order so that every figure has the conditions it claims:

1. time to first token: the cold question prompt (nothing cached) evaluated plus one token;
2. an MCTS search on the question against single-sequence decoding of the same question just
   before it — both timed by `search_speed.measure_search_speed` (`DEFAULT_SEARCH`: branch 4,
   8 iterations, mini-32 actions, early stop off, with a budget of SEARCH_TOKENS generated
   tokens): effective tokens/s (generated /
   wall seconds of the whole search), its ratio to the single decode, and how many tokens the
   engine evaluated per unique tree token. It runs first, on a cache that holds only the
   prompt, because llama.cpp attends over every used cell of the unified KV cache;
3. decode at 1, 2, 4 and 8 sequences, measured the same way for every row: sequences sampled
   together (temperature 0.8, distinct seeds) in one `generate_batch` call from an already
   cached prompt that asks for a long answer (counting), so that sequences rarely end early;
   total generated tokens / wall seconds;
4. for every decode row and the search: where the wall time went (`search_speed.StepTimes`):
   milliseconds inside llama_decode per step (one call), host milliseconds between the calls per
   step and per generated token, and the engine's own host work per token in CPU time;
5. peak memory: the process's maximum resident set size (`getrusage`; weights of a model
   offloaded to a GPU are not in it).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from marco_cli.bench.report import TextTable, render_markdown
from marco_cli.bench.search_speed import DEFAULT_SEARCH, SpeedReport, StepClock, StepTimes
from marco_cli.bench.suite import SuiteReport
from marco_cli.engine.base import Engine, Request, Sampling
from marco_cli.prompts import SolvePrompts
from marco_cli.search import SearchConfig, search_config

__all__ = [
    "BATCH_SIZES",
    "SpeedSuite",
    "SpeedSuiteResult",
    "peak_rss_mib",
    "run_speed_suite",
    "speed_table",
]

BATCH_SIZES = (2, 4, 8)
DEFAULT_DECODE_TOKENS = 256
DECODE_PROMPT = "Count from 1 to 2000, one number per line, with nothing else."
SEARCH_PATH_TOKENS = 1024
"""Most tokens on one search path: four paths of it fit the default context."""
SEARCH_TOKENS = 2048
"""Token budget of the measured search (--search-tokens), so the suite takes minutes."""
SPEED_SEARCH = search_config(
    {"max_tokens": SEARCH_PATH_TOKENS, "search_tokens": SEARCH_TOKENS}, base=DEFAULT_SEARCH
)
"""The measured search unless flags change it."""


def peak_rss_mib() -> float:
    """The process's peak resident set size in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class DecodeRun:
    sequences: int
    tokens: int
    seconds: float
    times: StepTimes

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "sequences": self.sequences,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "tokens_per_second": round(self.tokens_per_second, 2),
            "times": self.times.to_json(),
        }


@dataclass
class SpeedSuiteResult:
    model: str
    backend: str
    prompt_tokens: int
    prompt_evaluated: int
    first_token_seconds: float
    decode: list[DecodeRun]
    """1 sequence first, then BATCH_SIZES; all measured by `batched_decode`."""
    decode_prompt_tokens: int
    """The decode rows' prompt (DECODE_PROMPT in the chat template), in this model's tokens."""
    search: SpeedReport
    """The `search_speed.SpeedReport` of the single decode and the search."""
    peak_rss_mib: float
    notes: list[str] = field(default_factory=list)

    @property
    def single(self) -> DecodeRun:
        return self.decode[0]

    @property
    def tree_eval_ratio(self) -> float:
        """Evaluated / unique tokens of the search tree, prompt left out: the prompt was cached
        before the search (so the search evaluated none of it) but `unique` counts it."""
        tree = self.search.unique - self.prompt_tokens
        return self.search.evaluated / tree if tree > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend,
            "prompt_tokens": self.prompt_tokens,
            "prompt_evaluated": self.prompt_evaluated,
            "first_token_seconds": round(self.first_token_seconds, 3),
            "decode": [d.to_json() for d in self.decode],
            "decode_prompt_tokens": self.decode_prompt_tokens,
            "search": self.search.to_json(),
            "tree_eval_ratio": round(self.tree_eval_ratio, 4),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
        }


def _first_token(engine: Engine, prompt: Sequence[int]) -> tuple[float, int]:
    start = time.perf_counter()
    gen = engine.generate(Request(prompt=tuple(prompt), max_tokens=1))
    return time.perf_counter() - start, gen.prompt_evaluated


def batched_decode(
    engine: Engine, prompt: Sequence[int], sequences: int, tokens: int, seed: int = 0
) -> DecodeRun:
    """`sequences` sampled continuations of the (cached) prompt in one batch: total tokens/s."""
    engine.generate(Request(prompt=tuple(prompt), max_tokens=1))  # make sure it is cached
    requests = [
        Request(
            prompt=tuple(prompt),
            max_tokens=tokens,
            sampling=Sampling(temperature=0.8, top_p=0.95, seed=seed + i),
        )
        for i in range(sequences)
    ]
    clock = StepClock(engine)
    start = time.perf_counter()
    generations = engine.generate_batch(requests)
    seconds = time.perf_counter() - start
    generated = sum(len(g.tokens) for g in generations)
    return DecodeRun(sequences, generated, seconds, clock.stop(seconds, generated))


def run_speed_suite(
    engine: Engine,
    prompts: SolvePrompts,
    *,
    question: str | None = None,
    decode_tokens: int | None = None,
    seed: int = 0,
    search: SearchConfig = SPEED_SEARCH,
    system: str = "zh",
    batch_sizes: Sequence[int] = BATCH_SIZES,
    on_step: Callable[[str], None] | None = None,
) -> SpeedSuiteResult:
    """Run every measurement of the module docstring; `search` is the measured search, run with
    `seed`."""
    from marco_cli.bench.search_speed import DEFAULT_QUESTION, measure_search_speed
    from marco_cli.reasoning import ReasoningTask, question_tokens

    tokens = decode_tokens or DEFAULT_DECODE_TOKENS
    step = on_step or (lambda _name: None)
    prompt = question_tokens(engine, question or DEFAULT_QUESTION, prompts, system)

    step("time to first token")
    first_token, evaluated = _first_token(engine, prompt)

    config = search_config(base=search, seed=seed)
    step("a search")
    report, _result = measure_search_speed(
        engine, prompt, ReasoningTask.from_prompts(prompts), config=config, single_tokens=tokens
    )

    decode_prompt = engine.chat_tokens([{"role": "user", "content": DECODE_PROMPT}])
    decode = []
    for n in (1, *batch_sizes):
        step(f"decode, {n} sequence{'s' if n > 1 else ''}")
        decode.append(batched_decode(engine, decode_prompt, n, tokens, seed))

    notes = []
    if any(d.tokens < d.sequences * tokens for d in decode):
        notes.append(
            "some sequences ended (end of turn) before the token count; tokens/s counts the "
            "tokens actually generated"
        )
    return SpeedSuiteResult(
        model=engine.model_name,
        backend=engine.backend,
        prompt_tokens=len(prompt),
        prompt_evaluated=evaluated,
        first_token_seconds=first_token,
        decode=decode,
        decode_prompt_tokens=len(decode_prompt),
        search=report,
        peak_rss_mib=peak_rss_mib(),
        notes=notes,
    )


@dataclass
class SpeedSuite:
    """The speed suite in `bench/suite.py`'s shape: nothing to prepare or close."""

    prompts: SolvePrompts
    decode_tokens: int | None = None
    seed: int = 0
    search: SearchConfig = SPEED_SEARCH
    system: str = "zh"

    def run(
        self,
        engine: Engine,
        *,
        lanes: Sequence[Engine] = (),
        on_event: Callable[[str], None] | None = None,
    ) -> SpeedSuiteResult:
        """Every measurement on `engine` (`lanes` are not used: speed is one engine's)."""
        return run_speed_suite(
            engine,
            self.prompts,
            decode_tokens=self.decode_tokens,
            seed=self.seed,
            search=self.search,
            system=self.system,
            on_step=None if on_event is None else lambda step: on_event(f"measuring: {step}"),
        )

    def report(self, result: SpeedSuiteResult) -> SuiteReport:
        table = speed_table(result)
        return SuiteReport([table], result.to_json(), render_markdown(table))

    def interrupted_note(self) -> None:
        return None

    def close(self) -> None:
        pass


def speed_table(result: SpeedSuiteResult, title: str = "marco bench --suite speed") -> TextTable:
    single = result.single.tokens_per_second
    report = result.search

    def ratio(value: float) -> str:
        return f"{value / single:.2f}×" if single > 0 else "–"

    def row(
        measurement: str, value: str, details: str, times: StepTimes | None = None
    ) -> list[str]:
        split = ["", "", ""]
        if times is not None and times.steps:
            split = [
                f"{times.decode_ms_per_step:.2f}",
                f"{times.host_ms_per_step:.2f}",
                f"{times.host_ms_per_token:.3f} / {times.engine_host_cpu_ms_per_token:.3f}",
            ]
        return [measurement, value, *split, details]

    rows = [
        row("model", f"{result.model} ({result.backend})", ""),
        row(
            "time to first token",
            f"{result.first_token_seconds:.2f} s",
            f"cold prompt of {result.prompt_tokens} tokens ({result.prompt_evaluated} evaluated)",
        ),
        row(
            "decode, 1 sequence",
            f"{single:.1f} tok/s",
            f"{result.single.tokens} tokens in {result.single.seconds:.2f} s",
            result.single.times,
        ),
    ]
    for run in result.decode[1:]:
        rows.append(
            row(
                f"decode, batch of {run.sequences}",
                f"{run.tokens_per_second:.1f} tok/s",
                f"{ratio(run.tokens_per_second)} single; {run.tokens} tokens in "
                f"{run.seconds:.2f} s ({run.tokens_per_second / run.sequences:.1f} per sequence)",
                run.times,
            )
        )
    rows += [
        row(
            "MCTS effective",
            f"{report.search_tokens_per_second:.1f} tok/s",
            f"{report.speedup:.2f}× a single decode of the same question "
            f"({report.single_tokens_per_second:.1f} tok/s); {report.search_tokens} tokens "
            f"in {report.search_seconds:.2f} s (branch {report.branch}, {report.iterations} "
            f"iterations, {report.action}, stopped: {report.stop_reason}){_search_host(report)}",
            report.search_times,
        ),
        row(
            "MCTS evaluated / unique",
            f"{result.tree_eval_ratio:.3f}",
            f"tree tokens: {report.evaluated} evaluated / "
            f"{report.unique - result.prompt_tokens} unique (prompt cached beforehand); "
            f"mean decode batch {report.mean_batch_text}",
        ),
        row("peak memory", f"{result.peak_rss_mib:,.0f} MiB", "max RSS of this process"),
    ]
    notes = [
        "one run, one engine; MCTS: a whole search on a math question, run first; decode rows: "
        "sampled sequences (temperature 0.8) of a cached counting prompt, prompt evaluation "
        "excluded",
        "llama_decode ms/step: inside llama.cpp per decode call; host: the rest of the wall time "
        "(sampling, log-probabilities, detokenizing, stop checks; in the search also its tree), "
        "per decode call and per generated token; / cpu: the engine's host work in CPU time, "
        "which other processes on the machine inflate least",
        *result.notes,
    ]
    headers = ["measurement", "value", "llama_decode ms/step", "host ms/step"]
    headers.append("host ms/token / cpu")
    return TextTable(title, [*headers, "details"], rows, ["l", "r", "r", "r", "r", "l"], notes)


def _search_host(report: SpeedReport) -> str:
    """How much of the search's host time was the engine's own (the rest is the search's)."""
    times = report.search_times
    if times is None or times.host_seconds <= 0:
        return ""
    share = times.engine_host_seconds / times.host_seconds
    return f"; {100 * min(share, 1.0):.0f}% of its host time in the engine"
