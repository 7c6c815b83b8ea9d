"""Which characters are Chinese (Han): one definition for the glossary, the language guess and
the repair of words a translation left in Chinese.

Core module: imports nothing else of marco_cli.
"""

from __future__ import annotations

import re

HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""The Han blocks of the Basic Multilingual Plane, as a regex character-class body: CJK Unified
Ideographs Extension A, CJK Unified Ideographs, CJK Compatibility Ideographs."""

HAN_RUN = re.compile(f"[{HAN_RANGES}]+")
"""One or more Han characters in a row (a word a translation left untranslated)."""

_HAN_CHAR = re.compile(f"[{HAN_RANGES}]")


def is_han(char: str) -> bool:
    """Whether `char` (one character) is a Han character."""
    return _HAN_CHAR.fullmatch(char) is not None


def has_han(text: str) -> bool:
    """Whether `text` contains a Han character."""
    return _HAN_CHAR.search(text) is not None
