"""Write docs/results.md from the results files in results/: every table in it is computed here
from those files, so anyone can check or extend it.

    python benchmarks/results_doc.py            # rewrites docs/results.md and the README's chart
    python benchmarks/results_doc.py --out -    # prints it (and leaves the chart alone)

The runs behind the files (commands below) append to them and resume, so the tables grow as
runs continue; rerun this script afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

MACHINE = "2-core AMD EPYC VM (x86_64), 24 GiB RAM, no GPU, llama.cpp CPU backend"


@dataclass(frozen=True)
class Run:
    file: str
    command: str


MGSM = Run(
    "results/mgsm-demo-1.5b.jsonl",
    "MARCO_MGSM_DIR=../shared/data/mgsm marco bench -m demo-1.5b -d mgsm-en,mgsm-zh --limit 60 "
    "-s cot,mcts-step,mcts-mini32,sc,mcts-step-reflect --match-tokens --iterations 8 --branch 2 "
    "--max-tokens 1024 --seed 0 -o results/mgsm-demo-1.5b.jsonl --resume`, run in parts, resuming: "
    "the first 30 problems of each language, then each language on to 60 in a process of its own "
    "(the English one into a second file, appended to this one afterwards), each with `--threads 1",
)
CHART = "docs/img/bench-mgsm-demo-1.5b.png"
"""The README's chart, drawn from the MGSM results (`marco bench report ... --plot`)."""

MGSM_SMALL = Run(
    "results/mgsm-demo.jsonl",
    "MARCO_MGSM_DIR=../shared/data/mgsm marco bench -m demo -d mgsm-en,mgsm-zh --limit 30 -s cot "
    "--max-tokens 1024 --seed 0 -o results/mgsm-demo.jsonl --resume`, then the search on the same "
    "file: `MARCO_MGSM_DIR=../shared/data/mgsm marco bench -m demo -d mgsm-en --limit 30 "
    "-s cot,mcts-step --iterations 8 --branch 2 --max-tokens 1024 --seed 0 "
    "-o results/mgsm-demo.jsonl --resume`, then the demo-1.5b run's five strategies, split the "
    "same way and stopped after MGSM-en problem 57 and MGSM-zh problem 43 (the same command "
    "resumes there), with its command and `-m demo -o results/mgsm-demo.jsonl",
)
PREREG = Run(
    "results/mgsm-zh-61-250-demo-1.5b.jsonl",
    "MARCO_MGSM_DIR=../shared/data/mgsm marco bench -m demo-1.5b -d mgsm-zh --offset 60 "
    "--limit 190 -s cot,mcts-step-reflect,sc --match-tokens --iterations 8 --branch 2 "
    "--max-tokens 1024 --seed 0 --threads 1 -o results/mgsm-zh-61-250-demo-1.5b.jsonl --resume",
)
"""The pre-registered run (docs/preregistration.md): H1, the search's vote against sc."""
PREREG_PART = "results/mgsm-zh-219-250-demo-1.5b.part.jsonl"
"""What the run's second process wrote (see the deviations), appended to PREREG's file."""
PREREG_DOC = "docs/preregistration.md"
PREREG_PROBLEMS = 190
PREREG_SEARCH, PREREG_CHOICE = "mcts-step-reflect", "vote"
SLANG = [
    Run(
        f"results/slang-{model}.jsonl",
        f"python benchmarks/translate_speed.py slang --model {model} --sets listed,unlisted "
        "--configs direct:-,direct:+,cot:-,cot:+,mcts:-,mcts:+ "
        f"--out results/slang-{model}.jsonl",
    )
    for model in ("demo", "demo-1.5b")
]


HELDOUT_SET = "benchmarks/slang/heldout_zh.tsv"
HELDOUT = {
    model: Run(
        f"results/slang-heldout-{model}.jsonl",
        f"marco bench --suite translate -d {HELDOUT_SET} -s cot --model {model} --threads 1 "
        f"--out results/slang-heldout-{model}.jsonl --resume",
    )
    for model in ("demo-1.5b", "demo")
}
"""The held-out runs by model alias (benchmarks/slang/run_heldout.sh runs them)."""
GLOSSARY_SPEED = Run(
    "results/glossary-speed.json",
    "python benchmarks/translate_speed.py glossary --out results/glossary-speed.json",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _records(path: Path) -> list[dict[str, Any]]:
    """A slang results file (bench results go through `read_records`)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _commit_dates(path: Path) -> list[str]:
    """Dates of the commits that changed `path` (records written before they carried a time are
    dated by the commits that added them); none outside a git checkout."""
    try:
        log = subprocess.run(
            ["git", "log", "--format=%cs", "--", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return []
    return log.stdout.split()


def _provenance(run: Run, records: list[dict[str, Any]]) -> list[str]:
    path = ROOT / run.file
    times = sorted(str(r["time"])[:10] for r in records if r.get("time"))
    if len(times) < len(records):
        times = sorted(times + _commit_dates(path))
    dates = f"{times[0]} to {times[-1]}" if times and times[0] != times[-1] else "".join(times[:1])
    lines = [
        f"- results: `{run.file}` ({len(records)} records, sha256 `{_sha256(path)}`)",
        f"- command: `{run.command}`",
        f"- machine: {MACHINE}" + (f"; runs dated {dates}" if dates else ""),
    ]
    return lines


def mgsm_section() -> list[str]:
    from marco_cli.bench import (
        compare,
        compare_rewards,
        comparison_table,
        diagnose,
        diagnostics_table,
        paired,
        paired_table,
        read_records,
        render_markdown,
        rewards_table,
        summarize,
        summary_table,
    )

    path = ROOT / MGSM.file
    if not path.is_file():
        return []
    records = read_records(path)
    out = ["## MGSM on demo-1.5b: chain of thought, self-consistency and the search", ""]
    out += _provenance(MGSM, records)
    out += [
        f"- re-render: `marco bench report {MGSM.file} --diagnostics`; chart: "
        f"`marco bench report {MGSM.file} --plot {CHART}`",
        "",
        f"![Test@1 with 95% intervals, and against tokens]({Path(CHART).relative_to('docs')})",
        "",
        "`sc` samples chains until its generated tokens reach those of `mcts-step` on the same "
        "problem (`--match-tokens`); its name says the most chains any problem took. "
        "`mcts-step-reflect` is the paper's search with its reflection phrase; it was added to "
        "the run after problem 20 of MGSM-en, so it ran on the first 20 later, resuming.",
        "",
    ]
    for table in (
        summary_table(summarize(records), title="Accuracy and cost"),
        paired_table(paired(records), title="Paired: McNemar's exact test"),
        diagnostics_table(diagnose(records)),
        rewards_table(compare_rewards(records)),
    ):
        out += [f"### {table.title[:1].upper()}{table.title[1:]}", ""]
        out.append(render_markdown(table, heading=False))
    small = ROOT / MGSM_SMALL.file
    if small.is_file():
        small_records = read_records(small)
        out += ["## The two embedded models on the same problems", ""]
        out += _provenance(MGSM_SMALL, small_records)
        out += [f"- re-render: `marco bench report {MGSM_SMALL.file} {MGSM.file}`", ""]
        both = [c for c in compare(small_records, records) if c.common]
        table = comparison_table(both, "demo", "demo-1.5b")
        out.append(render_markdown(table, heading=False))
        found = diagnose(small_records)
        if found:
            out += ["### Search diagnostics of demo, to set beside demo-1.5b's", ""]
            out.append(render_markdown(diagnostics_table(found), heading=False))
        out += size_trend({"demo": small_records, "demo-1.5b": records})
    return out


def _commit(path: str) -> tuple[str, str]:
    """The hash and time (ISO 8601) of the first commit that added `path`."""
    out = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%h %cI", "--", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[-2], out[-1]


@dataclass(frozen=True)
class H1:
    """The pre-registered comparison: the search's vote against sc on their common problems."""

    common: int
    vote_only: int
    sc_only: int

    @property
    def p(self) -> float:
        from marco_cli.bench.stats import mcnemar_exact

        return mcnemar_exact(self.vote_only, self.sc_only)

    @property
    def holds(self) -> bool:
        """The decision rule as pre-registered: more problems only the vote gets right, and
        McNemar's exact two-sided p below 0.05."""
        return self.vote_only > self.sc_only and self.p < 0.05


def h1(viewed: list[dict[str, Any]]) -> H1 | None:
    """H1's counts from records that carry the vote's view (`as_chosen`); None before both
    strategies share a problem."""
    from marco_cli.bench import paired

    vote, sc = f"{PREREG_SEARCH}@{PREREG_CHOICE}", _sc_name(viewed)
    for p in paired(viewed):
        if (p.first, p.second) == (vote, sc):
            return H1(p.common, p.first_only, p.second_only)
        if (p.first, p.second) == (sc, vote):
            return H1(p.common, p.second_only, p.first_only)
    return None


def prereg_section() -> list[str]:
    """H1 of docs/preregistration.md: its progress, its table and the decision rule applied as
    written once every problem has both strategies."""
    from datetime import datetime

    from marco_cli.bench import (
        as_chosen,
        paired,
        paired_table,
        read_records,
        render_markdown,
        summarize,
        summary_table,
    )

    path = ROOT / PREREG.file
    if not path.is_file():
        return []
    records = read_records(path)
    commit, committed = _commit(PREREG_DOC)
    first = min(str(r["time"]) for r in records)
    if datetime.fromisoformat(first) <= datetime.fromisoformat(committed):
        raise SystemExit(f"{PREREG.file} has a record older than {PREREG_DOC}'s commit")
    _check_appended(path, ROOT / PREREG_PART)
    viewed = as_chosen(records, [PREREG_CHOICE])
    vote = f"{PREREG_SEARCH}@{PREREG_CHOICE}"
    out = [
        "## Pre-registered: the search's vote against self-consistency (MGSM-zh 61–250)",
        "",
        f"- pre-registration: [{PREREG_DOC}](preregistration.md), committed as `{commit}` at "
        f"{committed}; the run's first record was written at {first}, after it",
    ]
    out += _provenance(PREREG, records)
    out += [
        f"- re-render: `marco bench report {PREREG.file} --choice {PREREG_CHOICE} --diagnostics`",
        "- deviations from the pre-registration: none in what it fixes. The run read the same "
        "MGSM-zh file through an absolute path at first (its sha256 is in every record). Problems "
        "61–96 ran on the code of `8d42878`; from 97 on, the run resumed on `f919de5`, whose "
        "engine samples a whole decode step at once, with outputs pinned bit for bit to the "
        "earlier row-by-row sampling (tests/test_engine_seeded.py). To finish sooner, a second "
        "one-thread process ran on the other core from 2026-12-07, into its own file, "
        f"`{PREREG_PART}`: problems 221–250 (the same command with `--offset 220 --limit 30`), "
        "then 219–220 (`--offset 218 --limit 2`), while the main process finished 61–218 (its "
        "last resume with `--limit 158`, so that it stopped there). The second file's records "
        "were then appended to this one, each unchanged (this script checks it). An attempt's "
        "seed is the base seed plus its sample number, so its record does not depend on the "
        "process or the order it ran in",
        "",
        f"`{vote}` is `{PREREG_SEARCH}`'s own searches answered by the answer their majority vote "
        "took (`search.choices`), so it costs no tokens beyond the search's.",
        "",
    ]
    for table in (
        summary_table(summarize(viewed), title="Accuracy and cost"),
        paired_table(paired(viewed), title="Paired: McNemar's exact test"),
    ):
        out += [f"### {table.title}", "", render_markdown(table, heading=False)]
    out += ["### H1 and the decision", ""]
    found = h1(viewed)
    if found is None or found.common < PREREG_PROBLEMS:
        done = 0 if found is None else found.common
        out += [
            f"Pending: {done} of {PREREG_PROBLEMS} problems have both `{vote}` and sc. The rule "
            "is applied when all have; the interim figures above are reported, not acted on.",
            "",
        ]
        return out
    verdict = (
        "holds: `solve --strategy mcts` defaults to `--select vote`."
        if found.holds
        else "does not hold: the default stays `--select reward`."
    )
    out += [
        f"On {found.common} problems, only the vote right: {found.vote_only}; only sc right: "
        f"{found.sc_only}; McNemar's exact p = {found.p:.4f}. H1 {verdict}",
        "",
    ]
    return out


def _check_appended(whole: Path, part: Path) -> None:
    """Every line a second process wrote is in the whole run's file, byte for byte."""
    if not part.is_file():
        return
    lines = set(whole.read_text(encoding="utf-8").splitlines())
    missing = [
        n
        for n, line in enumerate(part.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip() and line not in lines
    ]
    if missing:
        raise SystemExit(f"{part} line {missing[0]} is not in {whole} as written")


def _sc_name(records: list[dict[str, Any]]) -> str:
    """The self-consistency strategy's name in a run (`sc-N`, N its most chains)."""
    names = {str(r["strategy"]) for r in records if isinstance(r.get("sc"), dict)}
    return names.pop() if len(names) == 1 else "sc"


def _family(record: dict[str, Any]) -> str:
    """The strategy, with every self-consistency run as `sc` (its name says its most chains,
    which differs between runs)."""
    return "sc" if isinstance(record.get("sc"), dict) else str(record["strategy"])


def _common_problems(runs: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    """(dataset, id) of the problems every run answered (first attempt) with every strategy any
    run used on that dataset."""
    answered: dict[str, dict[tuple[str, str], set[str]]] = {}
    used: dict[str, set[str]] = defaultdict(set)
    for label, records in runs.items():
        answered[label] = defaultdict(set)
        for r in records:
            if int(r.get("sample", 0)) == 0:
                answered[label][(r["dataset"], str(r["id"]))].add(_family(r))
                used[r["dataset"]].add(_family(r))
    keys = set.intersection(*(set(problems) for problems in answered.values()))
    return {k for k in keys if all(used[k[0]] <= a[k] for a in answered.values())}


def size_trend(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The search against self-consistency per model, on the problems all runs share: whether
    the reward ranks rollouts better, and the search gains on sc, as the model grows."""
    from marco_cli.bench import diagnose, summarize

    common = _common_problems(runs)
    if not common:
        return []
    shared = {
        label: [r for r in records if (r["dataset"], str(r["id"])) in common]
        for label, records in runs.items()
    }
    family = {str(r["strategy"]): _family(r) for records in shared.values() for r in records}
    found = {
        label: {(d.dataset, family[d.strategy]): d for d in diagnose(records)}
        for label, records in shared.items()
    }
    cot = {
        (label, s.dataset): s.accuracy
        for label, records in shared.items()
        for s in summarize(records)
        if s.strategy == "cot"
    }

    def pts(a: float | None, b: float | None) -> str:
        return "–" if a is None or b is None else f"{100 * (a - b):+.1f}"

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.1f}"

    out = [
        "### What changes with the model's size",
        "",
        "| dataset | search | model | n | cot % | sc % | search % | search − sc pts | "
        "coverage % (search / sc) | AUC within (pairs) | reward − vote pts |",
        "|:---|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted({k for rows in found.values() for k in rows if k[1] != "sc"})
    for dataset, strategy in keys:
        for label, rows in found.items():
            search, sc = rows.get((dataset, strategy)), rows.get((dataset, "sc"))
            if search is None or sc is None:
                continue
            auc = "–" if search.auc_within is None else f"{search.auc_within:.2f}"
            out.append(
                f"| {dataset} | {strategy} | {label} | {search.n} | "
                f"{pct(cot.get((label, dataset)))} | {pct(sc.accuracy)} | "
                f"{pct(search.accuracy)} | {pts(search.accuracy, sc.accuracy)} | "
                f"{pct(search.oracle)} / {pct(sc.oracle)} | {auc} ({search.within_pairs}) | "
                f"{pts(search.select.get('reward'), search.select.get('vote'))} |"
            )
    out += [
        "",
        "each model's runs on the problems both answered with every strategy (first attempt), "
        "Test@1 of cot, sc and the search; sc: self-consistency at the same problem's tokens; "
        "coverage: some completed rollout (sc: chain) is right; AUC within: P(a right rollout's "
        "reward > a wrong one's of the same problem); reward − vote: the reward's final choice "
        "against a majority vote over the same search's rollouts",
        "",
    ]
    return out


SLANG_SETS = ("listed", "unlisted")


def slang_section() -> list[str]:
    from marco_cli.translate.options import SEARCH_DEFAULTS, STRATEGIES

    runs = [(run, _records(ROOT / run.file)) for run in SLANG if (ROOT / run.file).is_file()]
    if not runs:
        return []

    def order(group: tuple[str, str, str, bool]) -> tuple[Any, ...]:
        """Model, then the listed set before the unlisted, strategies as `translate` lists them."""
        model, set_name, strategy, glossary = group
        known = SLANG_SETS.index(set_name) if set_name in SLANG_SETS else len(SLANG_SETS)
        rank = STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES)
        return model, known, set_name, rank, glossary

    search = SEARCH_DEFAULTS
    out = ["## Slang translation (zh → en)", ""]
    out += [
        "`listed`: tests/data/slang_zh.tsv, slang the shipped glossaries know; `unlisted`: "
        "tests/data/slang_zh_unlisted.tsv, slang none of them knows (a test checks it), so it "
        "measures the model and the prompt. A sentence passes when its translation carries the "
        "meaning (one of the listed words) and no literal mistranslation; `glossary` is the "
        "curated list plus CC-CEDICT hints in the prompt. `mcts` is the translation search "
        f"(`marco translate -s mcts`: {search['iterations']} iterations, branch "
        f"{search['branch']}, early stop {search['early_stop']}, "
        f"{'with' if search['reflect'] else 'no'} reflection); "
        "`same as cot`: sentences translated word for word as `cot` did with the same glossary "
        "setting. Times are left out: these runs shared the machine with other work.",
        "",
        "| model | set | strategy | glossary | passed | % | gen tok/sentence | same as cot |",
        "|:---|:---|:---|:---|---:|---:|---:|---:|",
    ]
    for _, records in runs:
        groups: dict[tuple[str, str, str, bool], list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            groups[(r["model"]["name"], r["set"], r["strategy"], r["glossary"])].append(r)
        for model, set_name, strategy, glossary in sorted(groups, key=order):
            group = groups[(model, set_name, strategy, glossary)]
            n, passed = len(group), sum(bool(r["passed"]) for r in group)
            tokens = sum(int(r["generated_tokens"]) for r in group) / n
            cot_rows = groups.get((model, set_name, "cot", glossary), [])
            cot = {r["term"]: r["translation"] for r in cot_rows}
            same = sum(1 for r in group if cot.get(r["term"]) == r["translation"])
            out.append(
                f"| {model} | {set_name} | {strategy} | {'on' if glossary else 'off'} | "
                f"{passed}/{n} | {100 * passed / n:.0f} | {tokens:.0f} | "
                f"{'–' if strategy == 'cot' or not cot else f'{same}/{n}'} |"
            )
    out.append("")
    for run, records in runs:
        out += _provenance(run, records)
    out.append("")
    return out


def heldout_section() -> list[str]:
    """The held-out slang measure: glossary recall and keyword correctness, with and without
    the glossary, per model, and McNemar's test between the two."""
    from marco_cli.bench import read_records, render_markdown
    from marco_cli.bench.translate_suite import (
        glossary_pairs_table,
        read_translation_set,
        score_variant,
        translate_table,
    )

    runs = [
        (alias, run, read_records(ROOT / run.file))
        for alias, run in HELDOUT.items()
        if (ROOT / run.file).is_file()
    ]
    if not runs:
        return []
    items = read_translation_set(ROOT / HELDOUT_SET)
    out = ["## Slang on held-out sentences (zh → en)", ""]
    out += [
        f"{HELDOUT_SET}: {len(items)} sentences of everyday slang, the held-out part of "
        "benchmarks/slang/pool_zh.tsv (written for marco, split by benchmarks/slang/split.py "
        "with a fixed seed and committed before any run; the curated glossary was only tuned "
        "on the development part). `keywords ok`: the translation carries the meaning (one of "
        "the line's `must` expressions) and no word-for-word rendering (`must-not`); `terms "
        "found`: the share of the lines' slang terms the glossary matches (its recall). "
        "Strategy `cot` (the default), glossary on and off, one thread "
        "(`bash benchmarks/slang/run_heldout.sh` runs both models and resumes). Lines a run has "
        "not reached yet are left out of both modes.",
        "",
    ]
    for alias, run, records in runs:
        by_variant: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for r in records:
            by_variant[r["strategy"]][r["id"]] = r
        done = [i for i in items if all(i.id in v for v in by_variant.values())]
        if not done or len(by_variant) < 2:
            continue
        results = [
            score_variant(name.split("+")[0], "+glossary" in name, done, [v[i.id] for i in done])
            for name, v in sorted(by_variant.items(), key=lambda kv: "+glossary" in kv[0])
        ]
        out.append(f"### {alias} ({records[0].get('model', 'model name not recorded')})")
        out.append("")
        for table in (translate_table(results), glossary_pairs_table(results)):
            if table is not None:
                out += [render_markdown(table, heading=False).rstrip(), ""]
        out += _provenance(run, records)
        out.append("")
    return out


def glossary_speed_section() -> list[str]:
    path = ROOT / GLOSSARY_SPEED.file
    if not path.is_file():
        return []
    r = json.loads(path.read_text(encoding="utf-8"))
    base = r["seconds_without_glossary"]
    return [
        "## What the glossary step costs",
        "",
        f"{r['lines']} lines (benchmarks/reviews_zh.txt repeated) translated with "
        f"`--strategy direct` by the tests' tiny random model, {r['threads']} thread: "
        f"{base:.1f} s without the glossary, {r['seconds_with_glossary']:.1f} s with it "
        f"({100 * (r['seconds_with_glossary'] / base - 1):+.1f}%, the hints' prompt tokens "
        f"included). Building the glossary and matching every line took "
        f"{r['matching_seconds']:.2f} s ({r['hints']} hints): "
        f"{100 * r['matching_seconds'] / base:.2f}% of the translation without the glossary. "
        "The tiny model translates far faster than a real one, and its byte-level vocabulary "
        "spends three tokens on each Chinese character of a hint, so these shares are upper "
        "bounds.",
        "",
        f"- command: `{GLOSSARY_SPEED.command}`",
        f"- machine: {MACHINE}; run {r['date']}",
        "",
    ]


def document() -> str:
    lines = [
        "# Results",
        "",
        "Measured runs of marco on the models it embeds. Generated by "
        "`python benchmarks/results_doc.py` from the results files named below; do not edit by "
        "hand. The runs shared their machine with other work, so seconds and tokens per second "
        "are not speed figures (`marco bench --suite speed` on a quiet machine gives those); "
        "accuracy and token counts do not depend on load.",
        "",
    ]
    lines += prereg_section()
    lines += mgsm_section()
    lines += slang_section()
    lines += heldout_section()
    lines += glossary_speed_section()
    return "\n".join(lines).rstrip() + "\n"


def draw_chart() -> None:
    from marco_cli.bench import file_label, read_records, summarize
    from marco_cli.bench.plot import PlotSeries, plot_summaries

    records = read_records(ROOT / MGSM.file)
    plot_summaries([PlotSeries(file_label(MGSM.file, records), summarize(records))], ROOT / CHART)
    print(f"drew {CHART}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "results.md"), help="'-': stdout")
    args = parser.parse_args()
    text = document()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
        draw_chart()


if __name__ == "__main__":
    main()
