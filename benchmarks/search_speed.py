"""Search speed benchmark: single-sequence decoding vs a tree search, in one run.

    python benchmarks/search_speed.py                 # the demo model, --branch 4
    python benchmarks/search_speed.py --model PATH.gguf --branch 4 --iterations 8 --json

Prints both speeds in generated tokens/s, their ratio and the search's evaluated / unique
tokens, against the targets (ratio >= 1.3x, evaluated/unique <= 1.10). The measuring itself
is `marco_cli.search.speed.measure_search_speed_fresh` (a fresh engine per pair).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="model alias or .gguf path (default demo)")
    parser.add_argument("--branch", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--action", default="mini-32", choices=("step", "mini-64", "mini-32"))
    parser.add_argument("--single-tokens", type=int, default=256)
    parser.add_argument(
        "--max-path-tokens", type=int, default=1024, help="token limit of one path (default 1024)"
    )
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--n-gpu-layers", type=int, default=-1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--question", default=None)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run (single decode, search) pairs this many times back to back; compare totals",
    )
    parser.add_argument(
        "--parallel", type=int, default=None, help="iterations in flight (default: auto)"
    )
    parser.add_argument("--chunk", type=int, default=32, help="rollout tokens per engine call")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--progress", action="store_true", help="one stderr line per iteration and per pair"
    )
    args = parser.parse_args(argv)

    from marco_cli.engine.llama import LlamaEngine
    from marco_cli.models import resolve_model
    from marco_cli.prompts import load_prompts
    from marco_cli.search import SearchConfig
    from marco_cli.search.speed import DEFAULT_QUESTION, measure_search_speed_fresh

    model = resolve_model(args.model)
    prompts = load_prompts("solve")
    config = SearchConfig(
        branch=args.branch,
        iterations=args.iterations,
        action=args.action,
        early_stop=0,
        parallel=args.parallel,
        chunk=args.chunk,
        max_path_tokens=args.max_path_tokens,
        seed=args.seed,
    )

    def open_engine() -> LlamaEngine:
        return LlamaEngine(
            model.path, n_ctx=args.ctx, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers
        )

    report, _ = measure_search_speed_fresh(
        open_engine,
        args.question or DEFAULT_QUESTION,
        prompts,
        config=config,
        single_tokens=args.single_tokens,
        repeats=args.repeats,
        on_event=_progress if args.progress else None,
        on_pair=_pair if args.progress else None,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.meets_targets() else 1


def _progress(event) -> None:
    if event.kind == "iteration":
        s = event.stats
        print(
            f"iteration {event.iteration}: {s.generated} tokens, {s.tokens_per_second:.1f} tok/s, "
            f"evaluated/unique {s.eval_ratio:.3f}, {s.wall_seconds:.0f}s",
            file=sys.stderr,
            flush=True,
        )


def _pair(index: int, single: float, search: float) -> None:
    print(
        f"pair {index + 1}: single {single:.1f} tok/s, search {search:.1f} tok/s, "
        f"{search / single if single else 0:.2f}x",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
