"""`marco bench --suite translate`: chrF and keyword checks over a translation set, comparing
translate strategies with the glossary on and off (through `marco_cli.translate.Translator`).

The set is a TSV file (`csv.QUOTE_NONE`, lines starting with `#` and a `source<TAB>...` header
are skipped):

    source <TAB> reference(s) [<TAB> must [<TAB> must-not [<TAB> terms]]]

- references: one or more, separated by `|` (chrF takes the best-matching one per line); may be
  empty on a line with keyword checks or terms, which then does not count for chrF;
- must: alternatives separated by `|`; the line passes only if at least one appears;
- must-not: alternatives separated by `|`; the line fails if any appears (e.g. the literal,
  word-for-word rendering of a slang term);
- terms: the slang terms of the source, separated by `|` (a separable one with "…" where its
  filler goes, "放…鸽子"): the glossary's recall is the share of them it finds.
Keywords match as case-insensitive regular expressions starting at a word boundary, so
inflections count (`soft` matches "softer", not "microsoft"). Lines without keyword columns count
for chrF only.

With a results store (`marco bench --suite translate --out FILE --resume`), every line's record is
written as soon as it is translated and lines already there are skipped, so a stopped run resumes;
the tables are computed from all the records of the file. Where a strategy ran both with and
without the glossary, McNemar's exact test compares the two on the lines exactly one of them
passes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marco_cli import __version__
from marco_cli.bench.chrf import chrf_corpus, chrf_sentence, chrf_signature
from marco_cli.bench.datasets import Selection, parse_ids, select_problems
from marco_cli.bench.report import TextTable, render_markdown
from marco_cli.bench.stats import mcnemar_exact
from marco_cli.bench.store import ResultStore
from marco_cli.bench.suite import SuiteReport
from marco_cli.engine.base import Engine
from marco_cli.errors import UsageError
from marco_cli.glossary import Glossary
from marco_cli.languages import Language, detect_language, parse_language
from marco_cli.prompts import TranslatePrompts
from marco_cli.search import SearchConfig
from marco_cli.translate import UnitResult

__all__ = [
    "TranslateSuite",
    "TranslationItem",
    "VariantResult",
    "glossary_pairs_table",
    "keyword_check",
    "read_translation_set",
    "run_translate_suite",
    "score_variant",
    "split_alternatives",
    "terms_found",
    "translate_table",
    "variant_name",
]


@dataclass(frozen=True)
class TranslationItem:
    id: str
    source: str
    references: tuple[str, ...]
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    @property
    def has_checks(self) -> bool:
        return bool(self.must or self.must_not)


def split_alternatives(cell: str) -> tuple[str, ...]:
    """Alternatives separated by "|" outside parentheses: "show(ing|s)? off|brag" is two."""
    parts, depth, current = [], 0, ""
    for char in cell:
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    parts.append(current)
    return tuple(part.strip() for part in parts if part.strip())


def read_translation_set(path: str | Path) -> list[TranslationItem]:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"translation set {path} does not exist; fix --dataset")
    items: list[TranslationItem] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if not items and cells[0].lower() == "source":
                continue
            cells += [""] * (5 - len(cells))
            checked = any(cells[2:5])
            if not cells[0] or not (split_alternatives(cells[1]) or checked):
                raise UsageError(
                    f"{path}:{reader.line_num}: expected source<TAB>reference(s)"
                    "[<TAB>must<TAB>must-not<TAB>terms]"
                )
            for word in split_alternatives(cells[2]) + split_alternatives(cells[3]):
                try:
                    _keyword(word)
                except re.error as exc:
                    raise UsageError(
                        f"{path}:{reader.line_num}: keyword {word!r} is not a regular "
                        f"expression ({exc})"
                    ) from None
            items.append(
                TranslationItem(
                    id=str(len(items) + 1),
                    source=cells[0],
                    references=split_alternatives(cells[1]),
                    must=split_alternatives(cells[2]),
                    must_not=split_alternatives(cells[3]),
                    terms=split_alternatives(cells[4]),
                )
            )
    if not items:
        raise UsageError(f"translation set {path} holds no lines")
    return items


def _keyword(word: str) -> re.Pattern[str]:
    start = r"\b" if word[:1].isalnum() and word[:1].isascii() else ""
    return re.compile(start + word, re.IGNORECASE)


def keyword_check(
    translation: str, must: Sequence[str], must_not: Sequence[str]
) -> tuple[bool, str]:
    """(passed, why) for one translation."""
    text = translation.replace("\u2019", "'")
    for word in must_not:
        if _keyword(word).search(text):
            return False, f"has {word!r}"
    if must and not any(_keyword(word).search(text) for word in must):
        return False, "meaning missing"
    return True, "ok"


def terms_found(glossary: Glossary, source: str, terms: Sequence[str]) -> list[bool]:
    """For each slang term of `source`, whether the glossary's matches cover it: a match spans
    the term's place in the text (a separable term's two parts and the filler between)."""
    from marco_cli.glossary import GAP, MAX_FILLER

    matches = glossary.scan(source) if glossary is not None else []
    found = []
    for term in terms:
        head, _, tail = term.partition(GAP)
        spans = []
        for start in (m.start() for m in re.finditer(re.escape(head), source)):
            if not tail:
                spans.append((start, start + len(head)))
                continue
            end = source.find(tail, start + len(head), start + len(head) + MAX_FILLER + len(tail))
            if end != -1:
                spans.append((start, end + len(tail)))
        found.append(any(m.start <= a and b <= m.end for m in matches for a, b in spans))
    return found


def variant_name(strategy: str, glossary: bool) -> str:
    """How a strategy x glossary mode is named in tables and results files: "cot+glossary"."""
    return f"{strategy}{'+glossary' if glossary else ''}"


@dataclass
class VariantResult:
    strategy: str
    glossary: bool
    n: int
    chrf: float | None
    """None when no line has a reference."""
    chrf_sentence_mean: float | None
    chrf_signature: str
    """sacrebleu's signature of the settings `chrf` was computed with (see bench/chrf.py)."""
    keyword_passed: int
    keyword_total: int
    terms_found: int
    terms_total: int
    errors: int
    seconds: float
    generated_tokens: int
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.strategy} {'+' if self.glossary else '-'}glossary"

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "glossary": self.glossary,
            "n": self.n,
            "chrf": None if self.chrf is None else round(self.chrf, 2),
            "chrf_sentence_mean": None
            if self.chrf_sentence_mean is None
            else round(self.chrf_sentence_mean, 2),
            "chrf_signature": self.chrf_signature,
            "keyword_passed": self.keyword_passed,
            "keyword_total": self.keyword_total,
            "terms_found": self.terms_found,
            "terms_total": self.terms_total,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "generated_tokens": self.generated_tokens,
            "items": self.items,
        }


@dataclass
class TranslateSuite:
    """A prepared translation run (`bench/suite.py`'s shape): the lines, the languages, the
    variants, and with `store` the results file it keeps each line's record in."""

    dataset: Path
    items: list[TranslationItem]
    prompts: TranslatePrompts
    src: Language | None
    tgt: Language
    strategies: list[str]
    glossary_modes: tuple[bool, ...]
    max_tokens: int
    temperature: float
    seed: int
    search: SearchConfig | None
    store: ResultStore | None

    @classmethod
    def prepare(
        cls,
        datasets: Sequence[str],
        prompts: TranslatePrompts,
        *,
        selection: Selection,
        src: str,
        tgt: str,
        strategies: str | None,
        glossary: bool | None,
        max_tokens: int,
        temperature: float,
        seed: int,
        search: SearchConfig | None,
        results: Path | None = None,
        resume: bool = False,
    ) -> TranslateSuite:
        """Read and check everything before a model loads: one data set, the selection, the
        languages (`src` may be auto: guessed from the lines), the strategies; then open the
        results file when there is one. `glossary` None runs both with and without it."""
        if len(datasets) != 1:
            raise UsageError(
                "--suite translate needs one --dataset FILE.tsv "
                "(source<TAB>reference(s)[<TAB>must<TAB>must-not<TAB>terms])"
            )
        items = select_problems(
            read_translation_set(datasets[0]),
            ids=parse_ids(selection.ids),
            offset=selection.offset,
            limit=selection.limit,
        )
        if not items:
            raise UsageError("the selection (--ids/--offset/--limit) holds no lines")
        source = parse_language(src, "--src", allow_auto=True)
        if source is None:
            source = detect_language("\n".join(item.source for item in items))
        target = parse_language(tgt, "--tgt")
        names = [s.strip() for s in (strategies or "direct,cot").split(",") if s.strip()]
        modes = (False, True) if glossary is None else (glossary,)
        store = ResultStore(results, resume=resume).open() if results is not None else None
        return cls(
            Path(datasets[0]),
            items,
            prompts,
            source,
            target,
            names,
            modes,
            max_tokens,
            temperature,
            seed,
            search if "mcts" in names else None,
            store,
        )

    def run(
        self,
        engine: Engine,
        *,
        lanes: Sequence[Engine] = (),
        on_event: Callable[[str], None] | None = None,
    ) -> list[VariantResult]:
        """Every variant on every line (`lanes` are not used: one engine runs it)."""
        return run_translate_suite(
            engine,
            self.items,
            self.prompts,
            src=self.src,
            tgt=self.tgt,
            strategies=self.strategies,
            glossary_modes=self.glossary_modes,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=self.seed,
            search=self.search,
            on_variant=None if on_event is None else lambda name: on_event(f"translating: {name}"),
            store=self.store,
            dataset=self.dataset.name,
            stamp={"model": engine.model_name, "marco": __version__},
        )

    def report(self, results: list[VariantResult]) -> SuiteReport:
        tables = [translate_table(results, title=f"translate: {self.dataset.name}")]
        tables += [t for t in [glossary_pairs_table(results)] if t is not None]
        markdown = "\n".join(render_markdown(t) for t in tables)
        return SuiteReport(tables, [r.to_json() for r in results], markdown)

    def interrupted_note(self) -> str | None:
        if self.store is None:
            return None
        return f"the lines done are safe in {self.store.path}: rerun with --resume to continue"

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def run_translate_suite(
    engine: Engine,
    items: Sequence[TranslationItem],
    prompts: TranslatePrompts,
    *,
    src: Language | None,
    tgt: Language,
    strategies: Sequence[str] = ("direct", "cot"),
    glossary_modes: Sequence[bool] = (False, True),
    max_tokens: int = 1024,
    temperature: float = 0.0,
    seed: int | None = 0,
    search: SearchConfig | None = None,
    glossary_files: Sequence[str | Path] = (),
    on_variant: Callable[[str], None] | None = None,
    store: ResultStore | None = None,
    dataset: str = "",
    stamp: dict[str, Any] | None = None,
) -> list[VariantResult]:
    """Translate every item with each strategy x glossary mode; score each variant.

    With a `store` (a `ResultStore`), each line's record is appended as soon as it is
    translated, lines the store already holds for `dataset` and the variant are not
    translated again, and the scores cover the store's records and the new ones alike.
    """
    from marco_cli.glossary import build_glossary
    from marco_cli.translate import STRATEGIES, TranslateOptions, Translator, split_units

    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise UsageError(f"unknown translate strategy {unknown[0]!r}: use {', '.join(STRATEGIES)}")
    if any("\n" in item.source for item in items):
        raise UsageError("translation sources must be single lines")
    glossary = (
        build_glossary(src.code if src else None, glossary_files) if any(glossary_modes) else None
    )
    results: list[VariantResult] = []
    for strategy in strategies:
        for use_glossary in glossary_modes:
            variant = variant_name(strategy, use_glossary)
            records: dict[str, dict[str, Any]] = {}
            if store is not None:
                for item in items:
                    key = (dataset, item.id, variant, 0)
                    kept = store.get(key)
                    if kept is not None and store.done(key):
                        records[item.id] = kept
            todo = [item for item in items if item.id not in records]
            if on_variant is not None:
                on_variant(f"{strategy} {'+' if use_glossary else '-'}glossary")
            options = TranslateOptions(
                src=src,
                tgt=tgt,
                strategy=strategy,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
                search=search if strategy == "mcts" else None,
            )
            translator = Translator(engine, prompts, options, glossary if use_glossary else None)
            document = split_units("\n".join(item.source for item in todo), "lines")
            units = (u for u in translator.translate_document(document) if u.source.strip())
            for item, unit in zip(todo, units, strict=True):
                record = _record(item, unit, variant, dataset, glossary if use_glossary else None)
                record.update(stamp or {})
                if store is not None:
                    store.append(record)
                records[item.id] = record
            results.append(
                score_variant(strategy, use_glossary, items, [records[item.id] for item in items])
            )
    return results


def _record(
    item: TranslationItem,
    unit: UnitResult,
    variant: str,
    dataset: str,
    glossary: Glossary | None,
) -> dict[str, Any]:
    hyp = unit.translation if unit.ok else ""
    check = None
    if item.has_checks:
        ok, why = keyword_check(hyp, item.must, item.must_not)
        check = {"passed": ok, "why": why}
    found = terms_found(glossary, item.source, item.terms) if glossary is not None else None
    return {
        "dataset": dataset,
        "id": item.id,
        "strategy": variant,
        "sample": 0,
        "source": item.source,
        "translation": hyp,
        "chrf": round(chrf_sentence(hyp, item.references), 2) if item.references else None,
        "keywords": check,
        "gold_terms": None
        if found is None
        else [{"term": t, "found": f} for t, f in zip(item.terms, found, strict=True)],
        "error": unit.error,
        "terms": [m.to_json(unit.reasoning) for m in unit.terms],
        "reasoning": unit.reasoning or None,
        "generated_tokens": unit.generated_tokens,
        "seconds": round(unit.seconds, 3),
    }


def score_variant(
    strategy: str,
    use_glossary: bool,
    items: Sequence[TranslationItem],
    records: Sequence[dict[str, Any]],
) -> VariantResult:
    """The scores of one strategy x glossary mode from its records, one per item in order."""
    scored = [(item, r) for item, r in zip(items, records, strict=True) if item.references]
    hypotheses = [r["translation"] for _, r in scored]
    references = [item.references for item, _ in scored]
    checks = [r["keywords"] for r in records if r["keywords"] is not None]
    gold = [t for r in records for t in (r.get("gold_terms") or [])]
    sentence = [r["chrf"] for _, r in scored]
    return VariantResult(
        strategy=strategy,
        glossary=use_glossary,
        n=len(items),
        chrf=chrf_corpus(hypotheses, references) if scored else None,
        chrf_sentence_mean=sum(sentence) / len(sentence) if sentence else None,
        chrf_signature=chrf_signature(references) if scored else "",
        keyword_passed=sum(1 for c in checks if c["passed"]),
        keyword_total=len(checks),
        terms_found=sum(1 for t in gold if t["found"]),
        terms_total=len(gold),
        errors=sum(1 for r in records if r["error"]),
        seconds=sum(r["seconds"] for r in records),
        generated_tokens=sum(r["generated_tokens"] for r in records),
        items=list(records),
    )


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "–"


def translate_table(results: Sequence[VariantResult], title: str = "translate") -> TextTable:
    headers = [
        "strategy",
        "glossary",
        "n",
        "chrF",
        "mean sentence chrF",
        "keywords ok",
        "terms found",
        "errors",
        "s/line",
        "tok/s",
    ]
    rows = []
    for r in results:
        rows.append(
            [
                r.strategy,
                "on" if r.glossary else "off",
                str(r.n),
                "–" if r.chrf is None else f"{r.chrf:.1f}",
                "–" if r.chrf_sentence_mean is None else f"{r.chrf_sentence_mean:.1f}",
                _ratio(r.keyword_passed, r.keyword_total),
                _ratio(r.terms_found, r.terms_total) if r.glossary else "–",
                str(r.errors),
                f"{r.seconds / r.n:.2f}" if r.n else "–",
                f"{r.generated_tokens / r.seconds:.1f}" if r.seconds > 0 else "–",
            ]
        )
    notes = [
        "chrF: character 6-gram F-score, beta 2, whitespace removed, corpus statistics "
        "(Popović 2015), over the lines with a reference; keywords ok: lines whose must/"
        "must-not checks pass (the meaning comes through, the word-for-word rendering does "
        "not); terms found: the glossary's recall of the set's slang terms"
    ]
    # The signature makes the number comparable with published sacrebleu chrF scores.
    notes += [
        f"chrF2 signature (sacrebleu's): {sig}"
        for sig in dict.fromkeys(r.chrf_signature for r in results)
        if sig
    ]
    return TextTable(title, headers, rows, ["l", "l"] + ["r"] * 8, notes)


def glossary_pairs_table(results: Sequence[VariantResult]) -> TextTable | None:
    """With and without the glossary, per strategy that ran both, on the keyword checks:
    McNemar's exact test on the lines exactly one of the two passes. None when no strategy
    ran both."""
    rows = []
    by_variant = {(r.strategy, r.glossary): r for r in results}
    for strategy in dict.fromkeys(r.strategy for r in results):
        off, on = by_variant.get((strategy, False)), by_variant.get((strategy, True))
        if off is None or on is None:
            continue
        pairs = [
            (a["keywords"]["passed"], b["keywords"]["passed"])
            for a, b in zip(off.items, on.items, strict=True)
            if a["keywords"] is not None and b["keywords"] is not None
        ]
        only_on = sum(1 for a, b in pairs if b and not a)
        only_off = sum(1 for a, b in pairs if a and not b)
        rows.append(
            [
                strategy,
                str(len(pairs)),
                str(sum(1 for a, _ in pairs if a)),
                str(sum(1 for _, b in pairs if b)),
                str(only_on),
                str(only_off),
                f"{mcnemar_exact(only_on, only_off):.3g}",
            ]
        )
    if not rows:
        return None
    headers = ["strategy", "n", "ok without", "ok with", "only with", "only without", "McNemar p"]
    notes = [
        "keyword checks with the glossary against without it, line by line; McNemar's exact "
        "test (two-sided binomial) on the lines exactly one of them passes"
    ]
    return TextTable("glossary on vs off", headers, rows, ["l"] + ["r"] * 6, notes)
