"""Run strategies over benchmark problems through `marco_cli.reasoning.solve`; record results.

The runner owns only the bookkeeping: which (dataset, problem, strategy, sample) attempts are
still to do, the options each attempt runs with, answer checking, and the record written to
the results store. Strategies themselves are `solve()`'s business.

Order: per dataset, problem by problem, every strategy (and sample) on a problem before the
next problem, so an interrupted run leaves comparable partial results for all strategies. On a
problem, self-consistency (`sc-K`) runs after the other strategies, so that with
`match_tokens` the search it matches has already run.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from marco_cli import __version__
from marco_cli.answers import answers_match, extract_answer
from marco_cli.bench.datasets import Dataset, Problem
from marco_cli.bench.store import ResultStore
from marco_cli.errors import ContextOverflowError, UsageError
from marco_cli.search import SearchConfig, search_config, upgrade_config_json

__all__ = [
    "STRATEGY_BASES",
    "AttemptDone",
    "BenchOptions",
    "BenchOutcome",
    "ModelRef",
    "StrategySpec",
    "check_resume",
    "match_strategy",
    "parse_strategies",
    "plan_options",
    "run_bench",
    "solve_options_for",
]

STRATEGY_BASES: dict[str, tuple[str, str | None]] = {
    "cot": ("cot", None),
    "mcts-step": ("mcts", "step"),
    "mcts-mini64": ("mcts", "mini-64"),
    "mcts-mini32": ("mcts", "mini-32"),
}
"""Bench strategy name -> (solve strategy, MCTS action). Self-consistency is `sc-K` (see
`bench.self_consistency`), K chains; plain `sc` is `sc-5`."""

_SC = re.compile(r"sc(?:-([1-9]\d*))?")

_ALIASES = {
    "mcts": "mcts-step",
    "mcts-mini-64": "mcts-mini64",
    "mcts-mini-32": "mcts-mini32",
    "mini64": "mcts-mini64",
    "mini32": "mcts-mini32",
    "step": "mcts-step",
}

ANSWER_TEXT_LIMIT = 4000
"""Characters of the model's answer text kept in a record (for checking the extraction)."""
THOUGHT_TAIL = 600
"""Last characters of the thought kept in a record (to see why an answer is missing)."""


@dataclass(frozen=True)
class StrategySpec:
    """One benchmarked strategy. `name` is canonical: the base, plus `-reflect` when on."""

    base: str
    reflect: bool

    @property
    def name(self) -> str:
        return f"{self.base}-reflect" if self.reflect else self.base

    @property
    def strategy(self) -> str:
        return "sc" if self.chains else STRATEGY_BASES[self.base][0]

    @property
    def action(self) -> str | None:
        return None if self.chains else STRATEGY_BASES[self.base][1]

    @property
    def chains(self) -> int:
        """K of a self-consistency strategy `sc-K`; 0 for the others."""
        return int(self.base[3:]) if self.base.startswith("sc-") else 0


def parse_strategies(text: str | Sequence[str], *, reflect: bool = False) -> list[StrategySpec]:
    """`"cot,mcts-step-reflect"` -> specs. A `-reflect`/`-noreflect` suffix overrides `reflect`."""
    parts = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    specs: list[StrategySpec] = []
    for raw in parts:
        item = raw.strip().lower()
        if not item:
            continue
        on, asked = reflect, False
        for suffix, value in (("-noreflect", False), ("-no-reflect", False), ("-reflect", True)):
            if item.endswith(suffix):
                item, on, asked = item[: -len(suffix)], value, value
                break
        base = _ALIASES.get(item, item)
        sc = _SC.fullmatch(base)
        if sc:
            spec = _sc_spec(raw.strip(), int(sc[1] or 0), asked)
        elif base in STRATEGY_BASES:
            spec = StrategySpec(base, on)
        else:
            known = ", ".join(STRATEGY_BASES)
            raise UsageError(
                f"unknown strategy {raw.strip()!r}: use {known}, sc or sc-K "
                "(optionally with -reflect or -noreflect)"
            )
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise UsageError("--strategies is empty: name at least one of " + ", ".join(STRATEGY_BASES))
    return specs


def _sc_spec(raw: str, chains: int, reflect: bool) -> StrategySpec:
    """`sc` / `sc-K`: K chains (0: the default), never with reflection; the --reflect default of
    the other strategies does not apply, since sc samples plain chains of thought."""
    from marco_cli.bench.self_consistency import DEFAULT_CHAINS, MAX_CHAINS

    chains = chains or DEFAULT_CHAINS
    if chains > MAX_CHAINS:
        raise UsageError(f"{raw!r}: sc takes at most {MAX_CHAINS} chains")
    if reflect:
        raise UsageError(f"{raw!r}: sc samples plain chains of thought, without reflection")
    return StrategySpec(f"sc-{chains}", False)


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


def match_strategy(
    strategies: Sequence[StrategySpec], options: BenchOptions
) -> StrategySpec | None:
    """The search whose tokens `sc` matches: the first MCTS strategy listed (with
    `match_tokens`); refuses --match-tokens without one."""
    if not options.match_tokens or not any(s.chains for s in strategies):
        return None
    for spec in strategies:
        if spec.strategy == "mcts":
            return spec
    raise UsageError(
        "--match-tokens needs an MCTS strategy in --strategies whose tokens sc matches, "
        "e.g. -s cot,mcts-step,sc --match-tokens"
    )


def _strategy_search(spec: StrategySpec, options: BenchOptions, seed: int) -> SearchConfig:
    return search_config(
        {"action": spec.action},
        base=options.search,
        max_tokens=options.max_tokens,
        seed=seed,
        reflect=spec.reflect,
    )


def solve_options_for(spec: StrategySpec, options: BenchOptions, sample: int = 0) -> Any:
    """The `SolveOptions` of one attempt."""
    from marco_cli.bench.self_consistency import sc_temperature
    from marco_cli.reasoning import SolveOptions

    return SolveOptions(
        # sc's chains are chains of thought, each with cot's options but sampled.
        strategy="cot" if spec.chains else spec.strategy,
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


def _options_json(
    solve_options: Any, options: BenchOptions, spec: StrategySpec, match: StrategySpec | None
) -> dict[str, Any]:
    data = dataclasses.asdict(solve_options)
    data["seed"] = options.seed  # the base seed; the attempt's own seed is in the record
    data["samples"] = options.samples
    if spec.chains:
        data["sc"] = {"chains": spec.chains, "match_tokens": match.name if match else None}
    # As it reads back from the file (tuples become lists), so a resume compares like with like.
    return json.loads(json.dumps(data, default=str))


@dataclass(frozen=True)
class AttemptDone:
    """Progress after one attempt (or, with `resumed`, one attempt found in the file)."""

    dataset: str
    strategy: str
    done: int
    total: int
    correct: int
    """Correct attempts among the `done` (resumed ones included)."""
    generated: int
    """Tokens generated by this run's attempts of this strategy (not the resumed ones)."""
    seconds: float
    """Seconds spent by this run's attempts of this strategy."""
    new: int
    """Attempts of this strategy run by this process."""
    record: dict[str, Any] | None
    resumed: bool = False


@dataclass
class BenchOutcome:
    records: list[dict[str, Any]]
    """The records of the selection (datasets x problems x strategies x samples) in the file."""
    new: int = 0
    skipped: int = 0
    errors: int = 0


SolveFn = Callable[..., Any]


def plan_options(
    datasets: Sequence[Dataset], strategies: Sequence[StrategySpec], options: BenchOptions
) -> dict[tuple[str, str], dict[str, Any]]:
    """The options JSON every record of (dataset, strategy) will carry (validates them too)."""
    options.check()
    match = match_strategy(strategies, options)
    planned = {}
    for spec in strategies:
        solve_options = solve_options_for(spec, options, 0)
        for ds in datasets:
            planned[(ds.name, spec.name)] = _options_json(solve_options, options, spec, match)
    return planned


_NOT_COMPARED = ("samples",)
"""Options that may change between runs of one file (more samples only add attempts)."""


def check_resume(
    store: ResultStore,
    model: ModelRef,
    planned: dict[tuple[str, str], dict[str, Any]],
    datasets: Sequence[Dataset] = (),
) -> None:
    """A file holds one model, one version of each dataset, and one set of options per
    (dataset, strategy); resuming or extending it with anything else is refused."""
    sha_by_name = {ds.name: ds.sha256 for ds in datasets}
    for record in store:
        other = (record.get("model") or {}).get("sha256")
        if other and other != model.sha256:
            raise UsageError(
                f"{store.path} holds results of another model "
                f"({(record.get('model') or {}).get('name')}, sha256 {other[:12]}…): "
                "use another --out for this model"
            )
        name = str(record["dataset"])
        data_sha = (record.get("dataset_file") or {}).get("sha256")
        if name in sha_by_name and data_sha and data_sha != sha_by_name[name]:
            raise UsageError(
                f"{store.path} holds results on another version of {name} (the file's sha256 "
                "differs): use another --out"
            )
        key = (name, str(record["strategy"]))
        if key not in planned:
            continue
        old = {
            k: v
            for k, v in _upgraded(record.get("options") or {}).items()
            if k not in _NOT_COMPARED
        }
        new = {k: v for k, v in planned[key].items() if k not in _NOT_COMPARED}
        if old != new:
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise UsageError(
                f"{store.path} holds {key[1]} results on {key[0]} run with other options "
                f"({', '.join(diff)} differ): use the same options to resume, or another --out"
            )


def _upgraded(options: dict[str, Any]) -> dict[str, Any]:
    """A record's options with its search in today's field names (files written before the
    budgets took their flags' names resume as they did)."""
    if not options.get("search"):
        return options
    return {**options, "search": upgrade_config_json(options["search"])}


def run_bench(
    engine: Any,
    datasets: Sequence[Dataset],
    strategies: Sequence[StrategySpec],
    store: ResultStore,
    *,
    options: BenchOptions,
    prompts: dict[str, Any],
    model: ModelRef,
    solve_fn: SolveFn | None = None,
    on_progress: Callable[[AttemptDone], None] | None = None,
    lanes: Sequence[Any] = (),
) -> BenchOutcome:
    """Run every missing attempt, appending a record per attempt to `store`.

    With `lanes` (more engines, e.g. on servers), one problem runs on each engine at a time;
    records are still appended one by one, by this thread, as they finish.

    Records already in `store` (without an error) are skipped, so a run can be resumed; a
    record with an error (e.g. a question too long for the context) is retried. KeyboardInterrupt
    and `Interrupted` propagate after the finished records are safely written.
    """
    if solve_fn is None:
        from marco_cli.reasoning import solve as solve_fn
    planned = plan_options(datasets, strategies, options)
    check_resume(store, model, planned, datasets)
    solve_opts = {
        spec: [solve_options_for(spec, options, s) for s in range(options.samples)]
        for spec in strategies
    }
    match = match_strategy(strategies, options)
    # sc last on each problem: the search it matches must have run (sorted() is stable).
    run_order = sorted(strategies, key=lambda spec: bool(spec.chains))

    outcome = BenchOutcome(records=[])
    for ds in datasets:
        tally = {
            spec: _Tally(ds.name, spec.name, len(ds.problems) * options.samples)
            for spec in strategies
        }
        # Resumed attempts first, so progress starts where the last run stopped.
        for problem in ds.problems:
            for spec in strategies:
                for sample in range(options.samples):
                    key = (ds.name, problem.id, spec.name, sample)
                    if store.done(key):
                        outcome.skipped += 1
                        tally[spec].add(store.get(key), True, on_progress)

        def attempts(
            problem: Problem, lane: Any, ds: Dataset = ds
        ) -> Iterator[tuple[StrategySpec, dict[str, Any]]]:
            """The missing attempts of one problem, in order, on one engine."""
            mine: dict[tuple[str, str, str, int], dict[str, Any]] = {}
            for spec in run_order:
                for sample in range(options.samples):
                    key = (ds.name, problem.id, spec.name, sample)
                    if store.done(key):
                        continue
                    target = None
                    if spec.chains and match is not None:
                        other = (ds.name, problem.id, match.name, sample)
                        # With problems in flight the store may not hold it yet: ours does.
                        target = mine.get(other) or store.get(other)
                    record = _attempt(
                        lane,
                        ds,
                        problem,
                        spec,
                        sample,
                        solve_opts[spec][sample],
                        planned[(ds.name, spec.name)],
                        prompts,
                        model,
                        solve_fn,
                        target,
                    )
                    mine[key] = record
                    yield spec, record

        def keep(
            spec: StrategySpec, record: dict[str, Any], tally: dict[Any, _Tally] = tally
        ) -> None:
            store.append(record)
            outcome.new += 1
            outcome.errors += bool(record.get("error"))
            tally[spec].add(record, False, on_progress)

        if lanes:
            _run_in_lanes(ds.problems, [engine, *lanes], attempts, keep)
        else:
            for problem in ds.problems:
                for spec, record in attempts(problem, engine):
                    keep(spec, record)
    keys = {
        (ds.name, p.id, spec.name, s)
        for ds in datasets
        for p in ds.problems
        for spec in strategies
        for s in range(options.samples)
    }
    outcome.records = [
        r for r in store if (r["dataset"], r["id"], r["strategy"], int(r.get("sample", 0))) in keys
    ]
    return outcome


def _run_in_lanes(
    problems: Sequence[Problem],
    engines: Sequence[Any],
    attempts: Callable[[Problem, Any], Iterator[tuple[StrategySpec, dict[str, Any]]]],
    keep: Callable[[StrategySpec, dict[str, Any]], None],
) -> None:
    """Run the problems with one in flight per engine; `keep` each record in this thread.

    A failure or Ctrl-C stops the lanes after their current attempt (what is in flight is cut
    when the caller closes the engines); every record finished before it is kept first.
    """
    free: queue.Queue[Any] = queue.Queue()
    for lane in engines:
        free.put(lane)
    done: queue.Queue[tuple[StrategySpec, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()

    def work(problem: Problem) -> None:
        if stop.is_set():
            return
        lane = free.get()
        try:
            for spec, record in attempts(problem, lane):
                done.put((spec, record))
                if stop.is_set():
                    return
        finally:
            free.put(lane)

    pool = ThreadPoolExecutor(max_workers=len(engines), thread_name_prefix="marco-bench")
    futures = [pool.submit(work, problem) for problem in problems]
    try:
        while True:
            try:
                keep(*done.get(timeout=0.05))
                continue
            except queue.Empty:
                pass
            failed = next((f for f in futures if f.done() and f.exception()), None)
            if failed is not None:
                raise failed.exception()  # type: ignore[misc]
            if all(f.done() for f in futures) and done.empty():
                break
    except BaseException:
        stop.set()
        while not done.empty():  # finished before the failure: kept
            keep(*done.get())
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


@dataclass
class _Tally:
    dataset: str
    strategy: str
    total: int
    done: int = 0
    correct: int = 0
    generated: int = 0
    seconds: float = 0.0
    new: int = 0

    def add(
        self,
        record: dict[str, Any],
        resumed: bool,
        on_progress: Callable[[AttemptDone], None] | None,
    ) -> None:
        self.done += 1
        self.correct += bool(record.get("correct"))
        if not resumed:
            self.new += 1
            self.generated += int(record.get("generated_tokens") or 0)
            self.seconds += float(record.get("seconds") or 0.0)
        if on_progress is not None:
            on_progress(
                AttemptDone(
                    self.dataset,
                    self.strategy,
                    self.done,
                    self.total,
                    self.correct,
                    self.generated,
                    self.seconds,
                    self.new,
                    record,
                    resumed,
                )
            )


def _attempt(
    engine: Any,
    ds: Dataset,
    problem: Problem,
    spec: StrategySpec,
    sample: int,
    solve_options: Any,
    options_json: dict[str, Any],
    prompts: dict[str, Any],
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
    try:
        if spec.chains:
            from marco_cli.bench.self_consistency import solve_self_consistency

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
        "sc": {**result.summary(), "match_tokens": matched} if spec.chains else None,
        "error": None,
        **tail,
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)
