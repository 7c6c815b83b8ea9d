"""Finding glossary terms in a text: leftmost-longest match over layers of entries.

Traditional characters are mapped to simplified ones before matching, on both the terms and the
text, so one entry matches either script; ASCII letters match case-insensitively and only as
whole words ("emo" does not match inside "demo").

A separable term ("放…鸽子") matches its two parts with a short filler between them (a pronoun,
a name, a number and measure word: 他又放我鸽子了, 放了他三次鸽子) or none (放鸽子). The filler is
at most `MAX_FILLER` letters, digits or Han characters, so a match never spans punctuation or
space: clauses are not joined. Nor does it start by completing a dictionary word with the first
part: in 放下书包看见鸽子 and 放心吧鸽子 the 放 is that of 放下 and 放心, not of 放…鸽子.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from marco_cli.glossary.entries import GAP, SOURCES, Entry, Match

MAX_FILLER = 5
"""The most characters between the parts of a separable term."""

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
    words: Callable[[], Collection[str]] = frozenset
    """The words of the language (simplified), loaded when first needed: a separable term's
    filler may not begin by making one of them with the first part."""

    def __post_init__(self) -> None:
        self._table = str.maketrans(dict(self.char_map)) if self.char_map else {}
        self._index: dict[str, Entry] = {}
        self._split: dict[str, dict[str, Entry]] = {}
        """Separable terms: first part → second part → entry."""
        for layer in reversed(list(self.layers)):  # stronger layers overwrite weaker ones
            for term, entry in layer.items():
                for form in (term, *entry.variants):
                    key = self.normalize(form.strip().replace("...", GAP))
                    if not key:
                        continue
                    self._index[key] = entry
                    head, gap, tail = key.partition(GAP)
                    if gap and head and tail:
                        self._split.setdefault(head, {})[tail] = entry
                        self._index[head + tail] = entry  # with no filler at all
        lengths: dict[str, set[int]] = {}
        for key in self._index:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {first: sorted(ls, reverse=True) for first, ls in lengths.items()}
        """The lengths of the terms starting with each character, longest first."""
        self._head_lengths = sorted({len(h) for h in self._split}, reverse=True)

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
        "吃瓜群众" the four-character term wins over "吃瓜". A separable term's match spans
        its filler and counts its whole span in the comparison; on a tie the term written
        without a gap wins.
        """
        if not self._index or not text:
            return []
        norm = self.normalize(text)
        matches: list[Match] = []
        i, n = 0, len(norm)
        while i < n:
            found = None
            if not (_is_ascii_alnum(norm[i]) and i > 0 and _is_ascii_alnum(norm[i - 1])):
                for length in self._lengths.get(norm[i], ()):
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
                split = self._separable_at(norm, i) if self._split else None
                if split is not None and (found is None or split[0] > found.end):
                    found = Match(i, split[0], text[i : split[0]], split[1])
            if found:
                matches.append(found)
                i = found.end
            else:
                i += 1
        return matches

    def _separable_at(self, norm: str, i: int) -> tuple[int, Entry] | None:
        """(end, entry) of the longest separable term whose first part starts at `i`, with
        the nearest second part after a filler of 1 to `MAX_FILLER` letters or digits."""
        best: tuple[int, Entry] | None = None
        for head_length in self._head_lengths:
            tails = self._split.get(norm[i : i + head_length])
            if tails is None:
                continue
            start = i + head_length
            if any(norm[i : start + k] in self.words() for k in (1, 2)):
                continue
            filler_end = start  # the filler is norm[start:at]: letters and digits only
            while filler_end < min(len(norm), start + MAX_FILLER) and norm[filler_end].isalnum():
                filler_end += 1
            for tail, entry in tails.items():
                at = norm.find(tail, start + 1, filler_end + len(tail))
                if at != -1 and (best is None or at + len(tail) > best[0]):
                    best = (at + len(tail), entry)
        return best

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
