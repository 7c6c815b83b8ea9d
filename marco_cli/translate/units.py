"""The input of `marco translate` as units (lines, paragraphs or the whole text) and the shape
around them (blank lines, CRLF, the final newline), and cutting a unit too long for the context
into sentences."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from marco_cli.errors import UsageError

MODES: tuple[str, ...] = ("lines", "paragraphs", "whole")


@dataclass(frozen=True)
class Unit:
    """One piece of the input translated on its own."""

    index: int
    """Position among the document's units (0-based)."""
    line: int
    """Input line (1-based) where the unit starts."""
    text: str
    """The source text; lines of a paragraph are joined with "\\n"."""

    @property
    def blank(self) -> bool:
        """Nothing to translate: an empty or whitespace-only line, written back unchanged."""
        return not self.text.strip()

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1


@dataclass(frozen=True)
class Document:
    """The units of an input and what it takes to give the output the same shape."""

    units: tuple[Unit, ...]
    mode: str = "lines"
    newline: str = "\n"
    """"\\r\\n" when the input uses CRLF line ends."""
    final_newline: bool = True
    """Whether the input ended with a newline (the output then does too)."""

    @property
    def pending(self) -> list[Unit]:
        """The units that need the model."""
        return [unit for unit in self.units if not unit.blank]

    def ending(self, index: int) -> str:
        """What to write after the output of unit `index`."""
        if index < len(self.units) - 1 or self.final_newline:
            return self.newline
        return ""

    def render_unit(self, index: int, translation: str) -> str:
        """One unit's output text with its line end, ready to be written."""
        return translation.replace("\n", self.newline) + self.ending(index)

    def render(self, translations: Sequence[str]) -> str:
        """The whole output: `translations[i]` in place of unit i."""
        if len(translations) != len(self.units):
            raise ValueError(f"{len(translations)} translations for {len(self.units)} units")
        return "".join(self.render_unit(i, t) for i, t in enumerate(translations))


def decode_input(data: bytes, origin: str = "stdin", *, first_line: int = 1) -> str:
    """UTF-8 text of `data`, whose first line is line `first_line` of the input (a byte-order
    mark is dropped at the start of the input); errors name the line."""
    try:
        return data.decode("utf-8-sig" if first_line == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + first_line
        column = exc.start - line_start + 1
        raise UsageError(
            f"{origin}: line {line} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at column "
            f"{column}); convert the input to UTF-8 first (e.g. iconv -f GBK -t UTF-8)"
        ) from None


def split_units(text: str, mode: str = "lines") -> Document:
    """Cut `text` into units.

    lines: every line is a unit (blank lines too, passed through unchanged), so the output has
    one line per input line. paragraphs: runs of non-blank lines are units; blank lines between
    them are kept. whole: everything from the first to the last non-blank line is one unit.
    """
    if mode not in MODES:
        raise UsageError(f"unknown unit mode {mode!r}; choose one of {', '.join(MODES)}")
    text = text.removeprefix("\ufeff")
    if not text:
        return Document(units=(), mode=mode)
    newline = "\r\n" if "\r\n" in text else "\n"
    final_newline = text.endswith("\n")
    raw = text.split("\n")
    if final_newline:
        raw.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in raw]

    units: list[Unit] = []

    def add(line_no: int, content: str) -> None:
        units.append(Unit(index=len(units), line=line_no, text=content))

    if mode == "lines":
        for number, line in enumerate(lines, 1):
            add(number, line)
    elif mode == "paragraphs":
        block: list[str] = []
        start = 0
        for number, line in enumerate(lines, 1):
            if line.strip():
                if not block:
                    start = number
                block.append(line)
                continue
            if block:
                add(start, "\n".join(block))
                block = []
            add(number, line)
        if block:
            add(start, "\n".join(block))
    else:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        if not filled:
            for number, line in enumerate(lines, 1):
                add(number, line)
        else:
            first, last = filled[0], filled[-1]
            for number in range(1, first + 1):
                add(number, lines[number - 1])
            add(first + 1, "\n".join(lines[first : last + 1]))
            for number in range(last + 2, len(lines) + 1):
                add(number, lines[number - 1])
    return Document(units=tuple(units), mode=mode, newline=newline, final_newline=final_newline)


_SENTENCE_END = re.compile(r"(?<=[。！？!?…；;])\s*|(?<=[.])\s+")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])\s*")


def split_sentences(text: str) -> list[str]:
    """`text` cut after sentence-ending punctuation (。！？!?…；; and ". "), pieces kept whole:
    "".join(pieces) == text up to the whitespace at the cuts."""
    return [piece for piece in _SENTENCE_END.split(text) if piece]


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Pieces of `text` that each satisfy `fits`: whole sentences packed greedily, then clauses,
    then plain character chunks for a sentence that is still too long."""
    if fits(text):
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        candidate = current + sentence if not current else _join_piece(current, sentence)
        if fits(candidate):
            current = candidate
            continue
        if current:
            pieces.append(current)
        if fits(sentence):
            current = sentence
            continue
        current = ""
        for clause in _split_hard(sentence, fits):
            candidate = _join_piece(current, clause) if current else clause
            if fits(candidate):
                current = candidate
            else:
                if current:
                    pieces.append(current)
                current = clause
    if current:
        pieces.append(current)
    return pieces


def _join_piece(left: str, right: str) -> str:
    if left and right and left[-1].isascii() and right[0].isascii() and not left[-1].isspace():
        return left + " " + right
    return left + right


def _split_hard(sentence: str, fits: Callable[[str], bool]) -> list[str]:
    clauses = [c for c in _CLAUSE_END.split(sentence) if c]
    out: list[str] = []
    for clause in clauses:
        if fits(clause):
            out.append(clause)
            continue
        size = max(1, len(clause) // 2)
        while size > 1 and not fits(clause[:size]):
            size //= 2
        out += [clause[i : i + size] for i in range(0, len(clause), size)]
    return out
