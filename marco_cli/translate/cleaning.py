"""From the model's text to what is recorded: the translation without tags, labels or added
quotes, and the reasoning without tags or repeated lines."""

from __future__ import annotations

import re

_TAGS = re.compile(r"</?(?:Thought|Output)>")
_LABEL = re.compile(r"^(?:translation|english translation|译文|翻译)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = {'"': '"', "“": "”", "'": "'", "「": "」", "『": "』"}


def clean_translation(text: str, source: str, *, single_line: bool) -> str:
    """The model's <Output> text as a translation: tags, labels and added quotes removed;
    one line when `single_line`, otherwise paragraphs without blank lines inside."""
    text = _TAGS.sub("", text).strip()
    text = _LABEL.sub("", text).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text.endswith(_QUOTES[text[0]]):
        src = source.strip()
        if not (src and src[0] in "\"'“「『"):
            text = text[1:-1].strip()
    if single_line:
        text = " ".join(text.split())
    else:
        text = re.sub(r"[ \t]+\n", "\n", text)
        text = re.sub(r"\n\s*\n+", "\n", text)
    return text


def tidy_thought(text: str) -> str:
    """The reasoning as recorded: tags dropped, lines that merely repeat an earlier one cut
    (small models loop), surrounding whitespace stripped."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in _TAGS.sub("", text).strip().splitlines():
        key = line.strip()
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(line.rstrip())
    return "\n".join(kept).strip()
