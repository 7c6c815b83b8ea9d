"""Finding glossary terms in a text: leftmost-longest match over layers of entries.

Traditional characters are mapped to simplified ones before matching, on both the terms and the
text, so one entry matches either script; ASCII letters match case-insensitively and only as
whole words ("emo" does not match inside "demo").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from marco_cli.glossary.entries import SOURCES, Entry, Match

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass
class Glossary:
    """Terms of several layers, looked up by leftmost-longest match."""

    layers: Sequence[Mapping[str, Entry]] = ()
    """Term → entry maps, strongest first (user, curated, dictionary)."""
    char_map: Mapping[str, str] = field(default_factory=dict)
    """Traditional → simplified characters, applied to terms and text before matching."""

    def __post_init__(self) -> None:
        self._table = str.maketrans(dict(self.char_map)) if self.char_map else {}
        self._index: dict[str, Entry] = {}
        for layer in reversed(list(self.layers)):  # stronger layers overwrite weaker ones
            for term, entry in layer.items():
                for form in (term, *entry.variants):
                    key = self.normalize(form.strip())
                    if key:
                        self._index[key] = entry
        self._lengths = sorted({len(k) for k in self._index}, reverse=True)

    def normalize(self, text: str) -> str:
        """The form used for matching; keeps the length (one character for one character)."""
        text = text.translate(_ASCII_LOWER)
        return text.translate(self._table) if self._table else text

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, term: str) -> bool:
        return self.normalize(term) in self._index

    def get(self, term: str) -> Entry | None:
        return self._index.get(self.normalize(term))

    def scan(self, text: str) -> list[Match]:
        """Terms in `text`, left to right; at each position the longest term wins.

        A match consumes its characters, so overlapping terms are not reported twice: in
        "吃瓜群众" the four-character term wins over "吃瓜".
        """
        if not self._index or not text:
            return []
        norm = self.normalize(text)
        matches: list[Match] = []
        i, n = 0, len(norm)
        while i < n:
            found = None
            if not (_is_ascii_alnum(norm[i]) and i > 0 and _is_ascii_alnum(norm[i - 1])):
                for length in self._lengths:
                    if i + length > n:
                        continue
                    entry = self._index.get(norm[i : i + length])
                    if entry is None:
                        continue
                    end = i + length
                    if _is_ascii_alnum(norm[end - 1]) and end < n and _is_ascii_alnum(norm[end]):
                        continue  # "emo" inside "emotion"
                    found = Match(i, end, text[i:end], entry)
                    break
            if found:
                matches.append(found)
                i = found.end
            else:
                i += 1
        return matches

    def hints(self, text: str, limit: int = 8) -> list[Match]:
        """The distinct entries found in `text`, at most `limit`, the strongest layer first."""
        seen: set[int] = set()
        unique: list[Match] = []
        for match in self.scan(text):
            if id(match.entry) not in seen:
                seen.add(id(match.entry))
                unique.append(match)
        if len(unique) > limit:
            rank = {source: i for i, source in enumerate(SOURCES)}
            keep = sorted(unique, key=lambda m: (rank.get(m.entry.source, 9), -len(m.surface)))
            kept = {id(m) for m in keep[:limit]}
            unique = [m for m in unique if id(m) in kept]
        return unique
