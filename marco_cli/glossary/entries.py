"""What a glossary holds: entries (a term and its meaning) and matches (a term found in a text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SOURCES = ("user", "curated", "cedict")
"""Where an entry comes from, strongest first."""

GAP = "…"
"""In a term, where a separable expression's filler goes: "放…鸽子" matches 他又放我鸽子了.
Three dots ("放...鸽子") are read the same way."""

PARENTHESISED = re.compile(r"\s*\([^()]*\)")
"""A parenthesised note and the space before it ("blogger (person who writes a blog)")."""


@dataclass(frozen=True)
class Entry:
    """One glossary term and what it means."""

    term: str
    meaning: str
    translation: str | None = None
    """A preferred rendering in the target language, if the glossary gives one."""
    source: str = "user"
    """"user", "curated" or "cedict"."""
    origin: str = ""
    """Where it was defined: "file.yaml:12" or "CC-CEDICT"."""
    variants: tuple[str, ...] = ()
    """Other spellings that match the same entry."""
    senses: tuple[str, ...] = ()
    """The meanings of an entry with several (figurative ones included), in the glossary's
    order; empty when `meaning` is its only one. `meaning` then joins them."""

    @property
    def separable(self) -> bool:
        """Whether the term has a place for a filler ("放…鸽子")."""
        return GAP in self.term

    def hint(self, surface: str | None = None) -> str:
        """The entry as one line of a prompt's glossary block.

        Parenthesised notes are left out: models, small ones especially, copy a hint into the
        translation word for word, notes included. The rendering itself stays. An entry with
        several senses lists them numbered, for the model to choose by context; a separable
        entry names the expression as the text spells it and as the glossary lists it.
        """
        senses = [PARENTHESISED.sub("", s).strip(" ;,") or s for s in self.senses]
        if len(senses) > 1:
            meaning = " ".join(f"({i}) {sense};" for i, sense in enumerate(senses, 1))[:-1]
        else:
            meaning = PARENTHESISED.sub("", self.meaning).strip(" ;,") or self.meaning
        name = surface or self.term
        if self.separable and surface and surface != self.term:
            name = f"{surface} ({self.term})"
        text = f"{name}: {meaning}"
        if self.translation:
            text += f'; render as "{self.translation}"'
        return text


@dataclass(frozen=True)
class Match:
    """A term found in a text: `text[start:end] == surface`."""

    start: int
    end: int
    surface: str
    entry: Entry

    def hint(self) -> str:
        """The prompt line for this match, naming the term as the text spells it."""
        return self.entry.hint(self.surface)

    def to_json(self, reasoning: str = "") -> dict[str, Any]:
        """The match as a JSON record; `sense` is the sense the model's `reasoning` used, where
        it says (see `sense_used`)."""
        return {
            "term": self.surface,
            "entry": self.entry.term,
            "meaning": self.entry.meaning,
            "senses": list(self.entry.senses) or [self.entry.meaning],
            "sense": sense_used(self, reasoning),
            "translation": self.entry.translation,
            "source": self.entry.source,
        }


_WORD = re.compile(r"[a-z][a-z'-]{2,}")
# Words of a gloss that say nothing about which sense it is.
# fmt: off
_COMMON = frozenset((
    "the", "and", "for", "with", "that", "this", "something", "someone", "one", "not", "are",
    "was", "you", "your", "his", "her", "its", "from", "into", "out", "but", "very", "too",
    "literally", "slang", "means", "meaning", "here", "say", "also",
))
# fmt: on


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


def sense_used(match: Match, reasoning: str) -> str | None:
    """The sense of `match`'s entry that the model's reasoning gives it, or None when the
    reasoning does not discuss the term or names none of the senses' words.

    The lines of the reasoning that name the term (as found in the text, or as listed) are
    compared with each sense by shared content words; the sense sharing most wins, the first
    on a tie.
    """
    if not reasoning:
        return None
    parts = [p for p in match.entry.term.split(GAP) if p]

    def names_term(line: str) -> bool:
        return match.surface in line or all(part in line for part in parts)

    lines = [line for line in reasoning.splitlines() if names_term(line)]
    words = _content_words(" ".join(lines))
    if not words:
        return None
    senses = match.entry.senses or (match.entry.meaning,)
    best, best_shared = None, 0
    for sense in senses:
        shared = len(words & _content_words(sense))
        if shared > best_shared:
            best, best_shared = sense, shared
    return best
