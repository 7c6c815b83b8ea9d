"""Measure `marco translate`: throughput on a file, and the slang set's scores.

    python benchmarks/translate_speed.py speed [--model demo] [--file benchmarks/reviews_zh.txt]
        Pipes the file through `marco translate --src zh --tgt en` (a subprocess, as a user
        would run it, model loading included) and reports lines/s; the JSON Lines run gives
        the generated tokens.

    python benchmarks/translate_speed.py slang [--model demo] [--configs direct:-,cot:+]
            [--sets listed,unlisted] [--out results/slang-demo.jsonl]
        Translates the slang sets (tests/data/slang_zh.tsv: terms the glossaries know;
        slang_zh_unlisted.tsv: terms none knows) with each strategy:glossary configuration
        (+ on, - off) on one engine and prints each sentence's verdict and the pass counts.
        With --out, one JSON line per sentence is appended and sentences already there for the
        same model file are skipped, so an interrupted run resumes.

    python benchmarks/translate_speed.py glossary [--copies 100] [--threads 1] [--out FILE.json]
        What the glossary step costs: benchmarks/reviews_zh.txt repeated to 10,000 lines is
        translated with `--strategy direct` by the tiny random model the tests use (so the
        translation itself is as fast as it gets and the share is an upper bound), with and
        without the glossary, and the glossary's own work (building it, matching every line)
        is timed in this process. Prints both times and the ratios; --out also writes them as
        JSON (docs/results.md quotes results/glossary-speed.json).

benchmarks/reviews_zh.txt holds 100 product reviews and chat messages written for marco.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def speed(args: argparse.Namespace) -> None:
    data = Path(args.file).read_bytes()
    lines = data.decode("utf-8").count("\n")
    command = [
        sys.executable,
        "-m",
        "marco_cli",
        "translate",
        "--src",
        "zh",
        "--tgt",
        "en",
        "--model",
        args.model,
        "--json",
        *(["--strategy", args.strategy] if args.strategy else []),
        *(["--threads", str(args.threads)] if args.threads else []),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, input=data, capture_output=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    generated = sum((r["timings"] or {}).get("generated_tokens", 0) for r in records)
    failed = sum(1 for r in records if not r["ok"])
    print(f"exit code {done.returncode}; {len(records)} output lines for {lines} input lines")
    print(
        f"{seconds:.1f} s wall (model load included): {lines / seconds:.2f} lines/s, "
        f"{generated} tokens generated ({generated / seconds:.1f} tokens/s), {failed} failed"
    )
    if args.show:
        for record in records:
            print(f"{record['source']}\t{record['translation']}")
    if done.returncode not in (0, 4):
        print(done.stderr.decode("utf-8", "replace")[-2000:], file=sys.stderr)


def glossary(args: argparse.Namespace) -> None:
    import tempfile

    from tiny_model import write_tiny_model

    from marco_cli.glossary import build_glossary

    lines = Path(args.file).read_text(encoding="utf-8").splitlines() * args.copies
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_model(Path(tmp) / "tiny.gguf")
        text = Path(tmp) / "lines.txt"
        text.write_text("\n".join(lines) + "\n", encoding="utf-8")
        runs = {}
        for name, extra in (("without glossary", ["--no-glossary"]), ("with glossary", [])):
            command = [
                *(sys.executable, "-m", "marco_cli", "translate", "--src", "zh", "--tgt", "en"),
                *("--model", str(model), "--strategy", "direct", "--max-tokens", "8"),
                *("--threads", str(args.threads), *extra),
            ]
            with text.open("rb") as stdin:
                started = time.perf_counter()
                done = subprocess.run(
                    command, stdin=stdin, capture_output=True, cwd=ROOT, check=False
                )
                runs[name] = time.perf_counter() - started
            if done.returncode not in (0, 4):
                print(done.stderr.decode("utf-8", "replace")[-2000:], file=sys.stderr)
                raise SystemExit(1)
    started = time.perf_counter()
    table = build_glossary("zh")
    found = sum(len(table.hints(line)) for line in lines)
    matching = time.perf_counter() - started
    base = runs["without glossary"]
    print(f"{len(lines)} lines, tiny model, --strategy direct, {args.threads} thread(s)")
    for name, seconds in runs.items():
        print(f"  {name}: {seconds:.1f} s")
    print(
        f"  with / without glossary: {runs['with glossary'] / base:.3f} "
        "(matching, and the hints' prompt tokens)"
    )
    print(
        f"  glossary build and matching alone: {matching:.2f} s for {found} hints, "
        f"{100 * matching / base:.1f}% of the run without glossary"
    )
    if args.out:
        result = {
            "lines": len(lines),
            "threads": args.threads,
            "seconds_without_glossary": round(base, 2),
            "seconds_with_glossary": round(runs["with glossary"], 2),
            "matching_seconds": round(matching, 3),
            "hints": found,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        }
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


def _done_keys(path: Path | None) -> set[tuple[str, str, str, str]]:
    """(model sha256, set, config, term) of the records already in `path`."""
    if path is None or not path.is_file():
        return set()
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a kill: its sentence is simply done again
        keys.add((r["model"]["sha256"], r["set"], r["config"], r["term"]))
    return keys


def slang(args: argparse.Namespace) -> None:
    from slang_set import SLANG_TSV, UNLISTED_TSV, load_slang_set

    from marco_cli import __version__
    from marco_cli.engine.llama import LlamaEngine
    from marco_cli.files import file_sha256
    from marco_cli.glossary import build_glossary
    from marco_cli.languages import language
    from marco_cli.models import resolve_model
    from marco_cli.prompts import load_translate_prompts
    from marco_cli.translate import TranslateOptions, Translator, split_units
    from marco_cli.ui.model_progress import console_reporter

    sets = {"listed": SLANG_TSV, "unlisted": UNLISTED_TSV}
    out = Path(args.out) if args.out else None
    done = _done_keys(out)
    model = resolve_model(args.model, reporter=console_reporter())
    sha = file_sha256(model.path)
    engine = LlamaEngine(model.path, n_ctx=8192, n_threads=args.threads)
    prompts = load_translate_prompts()
    summary = []
    for set_name in args.sets.split(","):
        cases = load_slang_set(sets.get(set_name, Path(set_name)))
        for config in args.configs.split(","):
            strategy, flag = config.split(":")
            todo = [c for c in cases if (sha, set_name, config, c.term) not in done]
            if not todo:
                continue
            glossary = build_glossary("zh") if flag == "+" else None
            options = TranslateOptions(src=language("zh"), tgt=language("en"), strategy=strategy)
            translator = Translator(engine, prompts, options, glossary)
            document = split_units("".join(case.sentence + "\n" for case in todo))
            started, tokens = time.perf_counter(), engine.stats.generated
            passed = 0
            for case, unit in zip(todo, translator.translate_document(document), strict=True):
                ok, why = case.check(unit.translation)
                passed += ok
                print(
                    f"{set_name} {config} {'PASS' if ok else 'fail'} {case.term}: "
                    f"{unit.translation} [{why}]",
                    flush=True,
                )
                if out is not None:
                    record = {
                        "model": {"name": model.display_name, "sha256": sha},
                        "set": set_name,
                        "config": config,
                        "strategy": strategy,
                        "glossary": flag == "+",
                        "term": case.term,
                        "sentence": case.sentence,
                        "translation": unit.translation,
                        "passed": ok,
                        "why": why,
                        "generated_tokens": unit.generated_tokens,
                        "seconds": round(unit.seconds, 3),
                        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "marco": __version__,
                    }
                    with out.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            seconds = time.perf_counter() - started
            line = (
                f"{set_name} {config}: {passed}/{len(todo)} passed, {seconds:.0f} s, "
                f"{engine.stats.generated - tokens} tokens"
            )
            summary.append(line)
            print("==", line, flush=True)
    engine.close()
    print("\n".join(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p_speed = sub.add_parser("speed")
    p_speed.add_argument("--file", default=str(ROOT / "benchmarks" / "reviews_zh.txt"))
    p_speed.add_argument("--strategy", default=None, help="default: marco's (cot)")
    p_speed.add_argument("--show", action="store_true", help="print source and translation")
    p_glossary = sub.add_parser("glossary")
    p_glossary.add_argument("--file", default=str(ROOT / "benchmarks" / "reviews_zh.txt"))
    p_glossary.add_argument("--copies", type=int, default=100, help="repeat the file N times")
    p_glossary.add_argument("--out", default=None, help="also write the figures as JSON")
    p_slang = sub.add_parser("slang")
    p_slang.add_argument("--configs", default="direct:-,direct:+,cot:-,cot:+")
    p_slang.add_argument(
        "--sets", default="listed", help="listed, unlisted (tests/data/slang_zh*.tsv) or a file"
    )
    p_slang.add_argument(
        "--out", default=None, help="append one JSON line per sentence; sentences there are skipped"
    )
    for p in (p_speed, p_slang):
        p.add_argument("--model", default=os.environ.get("MARCO_MODEL", "demo"))
    for p in (p_speed, p_slang):
        p.add_argument("--threads", type=int, default=None)
    p_glossary.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    {"speed": speed, "slang": slang, "glossary": glossary}[args.what](args)


if __name__ == "__main__":
    main()
