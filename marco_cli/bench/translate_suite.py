"""`marco bench --suite translate`: chrF and keyword checks over a translation set, comparing
translate strategies with the glossary on and off (through `marco_cli.translate.Translator`).

The set is a TSV file (`csv.QUOTE_NONE`, lines starting with `#` and a `source<TAB>...` header
are skipped):

    source <TAB> reference(s) [<TAB> must [<TAB> must-not]]

- references: one or more, separated by `|` (chrF takes the best-matching one per line);
- must: alternatives separated by `|`; the line passes only if at least one appears;
- must-not: alternatives separated by `|`; the line fails if any appears (e.g. the literal,
  word-for-word rendering of a slang term).
Keywords match case-insensitively as plain text starting at a word boundary, so inflections
count (`soft` matches "softer", not "microsoft"). Lines without keyword columns count for chrF only.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marco_cli.bench.chrf import chrf_corpus, chrf_sentence, chrf_signature
from marco_cli.bench.report import TextTable
from marco_cli.errors import UsageError

__all__ = [
    "TranslationItem",
    "VariantResult",
    "keyword_check",
    "read_translation_set",
    "run_translate_suite",
    "translate_table",
]


@dataclass(frozen=True)
class TranslationItem:
    id: str
    source: str
    references: tuple[str, ...]
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()

    @property
    def has_checks(self) -> bool:
        return bool(self.must or self.must_not)


def _alternatives(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


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
            if len(cells) < 2 or not cells[0] or not _alternatives(cells[1]):
                raise UsageError(
                    f"{path}:{reader.line_num}: expected source<TAB>reference(s)"
                    "[<TAB>must<TAB>must-not]"
                )
            items.append(
                TranslationItem(
                    id=str(len(items) + 1),
                    source=cells[0],
                    references=_alternatives(cells[1]),
                    must=_alternatives(cells[2]) if len(cells) > 2 else (),
                    must_not=_alternatives(cells[3]) if len(cells) > 3 else (),
                )
            )
    if not items:
        raise UsageError(f"translation set {path} holds no lines")
    return items


def _keyword(word: str) -> re.Pattern[str]:
    start = r"\b" if word[:1].isalnum() and word[:1].isascii() else ""
    return re.compile(start + re.escape(word), re.IGNORECASE)


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


@dataclass
class VariantResult:
    strategy: str
    glossary: bool
    n: int
    chrf: float
    chrf_sentence_mean: float
    chrf_signature: str
    """sacrebleu's signature of the settings `chrf` was computed with (see bench/chrf.py)."""
    keyword_passed: int
    keyword_total: int
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
            "chrf": round(self.chrf, 2),
            "chrf_sentence_mean": round(self.chrf_sentence_mean, 2),
            "chrf_signature": self.chrf_signature,
            "keyword_passed": self.keyword_passed,
            "keyword_total": self.keyword_total,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "generated_tokens": self.generated_tokens,
            "items": self.items,
        }


def run_translate_suite(
    engine: Any,
    items: Sequence[TranslationItem],
    prompts: dict[str, Any],
    *,
    src: Any,
    tgt: Any,
    strategies: Sequence[str] = ("direct", "cot"),
    glossary_modes: Sequence[bool] = (False, True),
    max_tokens: int = 1024,
    temperature: float = 0.0,
    seed: int | None = 0,
    search: Any = None,
    glossary_files: Sequence[str | Path] = (),
    on_variant: Callable[[str], None] | None = None,
) -> list[VariantResult]:
    """Translate every item with each strategy x glossary mode; score each variant."""
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
    document = split_units("\n".join(item.source for item in items), "lines")
    results: list[VariantResult] = []
    for strategy in strategies:
        for use_glossary in glossary_modes:
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
            started = time.perf_counter()
            units = [u for u in translator.translate_document(document) if u.source.strip()]
            seconds = time.perf_counter() - started
            results.append(_score(strategy, use_glossary, items, units, seconds))
    return results


def _score(
    strategy: str,
    use_glossary: bool,
    items: Sequence[TranslationItem],
    units: Sequence[Any],
    seconds: float,
) -> VariantResult:
    hypotheses = [u.translation if u.ok else "" for u in units]
    records = []
    passed = total = 0
    for item, unit, hyp in zip(items, units, hypotheses, strict=True):
        check = None
        if item.has_checks:
            ok, why = keyword_check(hyp, item.must, item.must_not)
            total += 1
            passed += ok
            check = {"passed": ok, "why": why}
        records.append(
            {
                "id": item.id,
                "source": item.source,
                "translation": hyp,
                "chrf": round(chrf_sentence(hyp, item.references), 2),
                "keywords": check,
                "error": unit.error,
                "terms": [m.to_json(unit.reasoning) for m in unit.terms],
                "generated_tokens": unit.generated_tokens,
            }
        )
    sentence = [r["chrf"] for r in records]
    return VariantResult(
        strategy=strategy,
        glossary=use_glossary,
        n=len(items),
        chrf=chrf_corpus(hypotheses, [item.references for item in items]),
        chrf_sentence_mean=sum(sentence) / len(sentence) if sentence else 0.0,
        chrf_signature=chrf_signature([item.references for item in items]),
        keyword_passed=passed,
        keyword_total=total,
        errors=sum(1 for u in units if not u.ok),
        seconds=seconds,
        generated_tokens=sum(u.generated_tokens for u in units),
        items=records,
    )


def translate_table(results: Sequence[VariantResult], title: str = "translate") -> TextTable:
    headers = [
        "strategy",
        "glossary",
        "n",
        "chrF",
        "mean sentence chrF",
        "keywords ok",
        "errors",
        "s/line",
        "tok/s",
    ]
    rows = []
    for r in results:
        keywords = f"{r.keyword_passed}/{r.keyword_total}" if r.keyword_total else "–"
        rows.append(
            [
                r.strategy,
                "on" if r.glossary else "off",
                str(r.n),
                f"{r.chrf:.1f}",
                f"{r.chrf_sentence_mean:.1f}",
                keywords,
                str(r.errors),
                f"{r.seconds / r.n:.2f}" if r.n else "–",
                f"{r.generated_tokens / r.seconds:.1f}" if r.seconds > 0 else "–",
            ]
        )
    notes = [
        "chrF: character 6-gram F-score, beta 2, whitespace removed, corpus statistics "
        "(Popović 2015); keywords ok: lines whose must/must-not checks pass"
    ]
    # The signature makes the number comparable with published sacrebleu chrF scores.
    notes += [
        f"chrF2 signature (sacrebleu's): {sig}"
        for sig in dict.fromkeys(r.chrf_signature for r in results)
    ]
    return TextTable(title, headers, rows, ["l", "l"] + ["r"] * 7, notes)
