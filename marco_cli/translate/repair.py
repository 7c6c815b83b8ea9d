"""Repairing Chinese words a translation into a non-CJK language left untranslated.

Small models often carry a word over as is ("The博主 recommends..."). Each distinct leftover is
rendered on its own: from CC-CEDICT when the whole leftover is one dictionary word of two or
more characters and the pair is Chinese to English ("博主" → "blogger"), else by the model with
the short `repair_instructions` prompt (all such requests in one batch). A rendering is put in
place only when it is free of Chinese characters.
"""

from __future__ import annotations

import re

from marco_cli.engine.base import Engine, Request, Sampling
from marco_cli.glossary import Glossary, dictionary_words
from marco_cli.text import HAN_RUN
from marco_cli.translate.cleaning import clean_translation
from marco_cli.translate.jobs import Piece
from marco_cli.translate.options import TranslateOptions
from marco_cli.translate.prompting import PromptBuilder

HAN_TARGETS = ("zh", "ja", "ko")
"""Target languages whose text may contain Chinese characters (no leftover repair)."""


def repair_leftovers(
    pieces: list[Piece],
    engine: Engine,
    prompter: PromptBuilder,
    options: TranslateOptions,
    glossary: Glossary | None,
    sampling: Sampling,
) -> list[Piece]:
    """`pieces` with the Chinese words left in their translations rendered in the target
    language; the tokens the model spent on them are shared among the pieces that had some."""
    if options.tgt.base in HAN_TARGETS:
        return pieces
    spans = sorted({m.group() for p in pieces for m in HAN_RUN.finditer(p.translation)})
    if not spans:
        return pieces
    fixes = _dictionary_fixes(spans, options, glossary)
    rest = [span for span in spans if span not in fixes]
    requests = [
        Request(
            tuple(prompter.repair_tokens(span)), 6 + 3 * len(span), ("\n", "<|im_end|>"), sampling
        )
        for span in rest
    ]
    gens = engine.generate_batch(requests)
    for span, gen in zip(rest, gens, strict=True):
        text = clean_translation(gen.text, span, single_line=True).rstrip(".!?。")
        if text and not HAN_RUN.search(text):
            fixes[span] = text
    extra = sum(len(g.tokens) for g in gens)
    touched = [p for p in pieces if HAN_RUN.search(p.translation)]
    for piece in touched:
        piece.translation = _substitute(piece.translation, fixes)
        piece.generated_tokens += extra // len(touched)
    return pieces


def _dictionary_fixes(
    spans: list[str], options: TranslateOptions, glossary: Glossary | None
) -> dict[str, str]:
    """CC-CEDICT renderings of the leftovers that are whole dictionary words (Chinese to
    English only)."""
    fixes: dict[str, str] = {}
    if options.tgt.base == "en" and (options.src is None or options.src.base == "zh"):
        words = dictionary_words()
        for span in spans:
            if len(span) < 2:  # a lone character's first sense is too often wrong (霜 frost)
                continue
            key = glossary.normalize(span) if glossary is not None else span
            rendering = words.get(key) or words.get(span)
            if rendering:
                fixes[span] = rendering
    return fixes


def _substitute(text: str, fixes: dict[str, str]) -> str:
    """Put each fixed span in place, with spaces where it touches a word."""

    def replace(match: re.Match[str]) -> str:
        fix = fixes.get(match.group())
        if fix is None:
            return match.group()
        start, end = match.start(), match.end()
        sentence_start = not text[:start].strip() or text[:start].rstrip()[-1:] in ".!?"
        if not sentence_start:  # "The博主" -> "The blogger", not "The the blogger"
            fix = re.sub(r"^(?:the|a|an)\s+", "", fix, flags=re.I)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if before and not before.isspace() and before not in "\"'(“‘[":
            fix = " " + fix
        if after and (after.isalnum() or after in '"“('):
            fix = fix + " "
        if not sentence_start and fix.strip()[:1].isupper() and not fix.strip()[1:2].isupper():
            fix = fix.replace(fix.strip()[0], fix.strip()[0].lower(), 1)
        return fix

    return re.sub(r"  +", " ", HAN_RUN.sub(replace, text))
