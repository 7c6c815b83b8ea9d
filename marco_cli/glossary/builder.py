"""The glossary for one translation: user files, the curated glossary and CC-CEDICT combined."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence

from marco_cli.glossary.cedict import dictionary_words, load_cedict
from marco_cli.glossary.entries import Entry
from marco_cli.glossary.files import curated_glossary, load_glossary_file
from marco_cli.glossary.matcher import Glossary

CHINESE = ("zh",)


def build_glossary(
    src: str | None,
    files: Sequence[str | os.PathLike[str]] = (),
    *,
    dictionary: bool = True,
) -> Glossary:
    """The glossary for translating from `src` (an ISO 639-1 code, or None if unknown).

    The curated glossary and CC-CEDICT are Chinese and are used only when the source is
    Chinese (`dictionary=False` leaves them out); user `files` are used for every language.
    """
    user: dict[str, Entry] = {}
    for path in files:
        user.update(load_glossary_file(path))  # a later file wins over an earlier one
    base = (src or "").split("-")[0].lower()
    layers: list[Mapping[str, Entry]] = [user]
    char_map: Mapping[str, str] = {}
    words: Callable[[], Collection[str]] = frozenset
    if dictionary and base in CHINESE:
        cedict = load_cedict()
        layers += [curated_glossary(), cedict.entries]
        char_map = cedict.char_map
        words = dictionary_words  # read from its cache only when a separable term needs it
    elif user and any(ord(c) > 0x2E80 for term in user for c in term):
        # Any CJK character, not only `text.is_han`: the map's simplified forms include
        # characters beyond the Basic Multilingual Plane.
        char_map = load_cedict().char_map
    return Glossary(layers=layers, char_map=char_map, words=words)
