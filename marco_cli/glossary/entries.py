"""What a glossary holds: entries (a term and its meaning) and matches (a term found in a text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SOURCES = ("user", "curated", "cedict")
"""Where an entry comes from, strongest first."""

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

    def hint(self, surface: str | None = None) -> str:
        """The entry as one line of a prompt's glossary block.

        Parenthesised notes are left out: models, small ones especially, copy a hint into the
        translation word for word, notes included. The rendering itself stays.
        """
        meaning = PARENTHESISED.sub("", self.meaning).strip(" ;,") or self.meaning
        text = f"{surface or self.term}: {meaning}"
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

    def to_json(self) -> dict[str, Any]:
        return {
            "term": self.surface,
            "meaning": self.entry.meaning,
            "translation": self.entry.translation,
            "source": self.entry.source,
        }
