"""The slang set (tests/data/slang_zh.tsv) and its scoring, shared by the demo test and
benchmarks/translate_speed.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from marco_cli.bench.translate_suite import split_alternatives
from marco_cli.text import has_han

SLANG_TSV = Path(__file__).parent / "data" / "slang_zh.tsv"
UNLISTED_TSV = Path(__file__).parent / "data" / "slang_zh_unlisted.tsv"
"""Slang that no glossary marco ships knows: it measures the model and the prompt alone."""


@dataclass(frozen=True)
class SlangCase:
    term: str
    sentence: str
    meaning: tuple[str, ...]
    literal: tuple[str, ...]

    def _pattern(self, alternative: str) -> re.Pattern[str]:
        anchor = r"\b" if alternative[:1].isascii() and alternative[:1].isalnum() else ""
        return re.compile(anchor + alternative, re.IGNORECASE)

    def check(self, translation: str) -> tuple[bool, str]:
        """(passed, why): the meaning must come through, the literal rendering must not."""
        text = translation.replace("\u2019", "'")
        if not text.strip():
            return False, "empty"
        if has_han(text):
            return False, "Chinese left in the translation"
        for alternative in self.literal:
            if self._pattern(alternative).search(text):
                return False, f"literal {alternative!r}"
        if not any(self._pattern(a).search(text) for a in self.meaning):
            return False, "meaning missing"
        return True, "ok"


def load_slang_set(path: Path = SLANG_TSV) -> list[SlangCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("term\t"):
            continue
        term, sentence, meaning, literal = line.split("\t")
        cases.append(
            SlangCase(term, sentence, split_alternatives(meaning), split_alternatives(literal))
        )
    return cases
