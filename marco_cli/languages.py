"""Language codes for `marco translate`: ISO 639-1, validation with helpful errors, and a
script-based guess of the source language (`--src auto`)."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Literal, overload

from marco_cli.errors import UsageError
from marco_cli.text import is_han

AUTO = "auto"


def _load_languages() -> dict[str, str]:
    """The ISO 639-1 table shipped in `marco_cli/data/languages.tsv` (code, tab, English name)."""
    text = resources.files("marco_cli.data").joinpath("languages.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {code: name for code, name in rows}


LANGUAGES: dict[str, str] = _load_languages()
"""ISO 639-1 code → English name."""

_NAMES = {name.lower(): code for code, name in LANGUAGES.items()}

# Region or script subtags worth naming (the base code is what the glossary and prompts key on).
_VARIANTS = {
    "zh-cn": "Simplified Chinese",
    "zh-hans": "Simplified Chinese",
    "zh-sg": "Simplified Chinese",
    "zh-tw": "Traditional Chinese",
    "zh-hk": "Traditional Chinese (Hong Kong)",
    "zh-hant": "Traditional Chinese",
    "pt-br": "Brazilian Portuguese",
    "pt-pt": "European Portuguese",
    "en-us": "American English",
    "en-gb": "British English",
}

# Codes people type that are not ISO 639-1: country codes and ISO 639-2/3 codes.
_MISTAKES = {
    "cn": "zh",
    "chn": "zh",
    "zho": "zh",
    "chi": "zh",
    "cmn": "zh",
    "jp": "ja",
    "jpn": "ja",
    "kr": "ko",
    "kor": "ko",
    "eng": "en",
    "fra": "fr",
    "fre": "fr",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "rus": "ru",
    "por": "pt",
    "ita": "it",
    "ara": "ar",
    "vn": "vi",
    "vie": "vi",
    "tha": "th",
    "gr": "el",
    "ell": "el",
    "gre": "el",
    "ua": "uk",
    "ukr": "uk",
    "dk": "da",
    "dan": "da",
    "cz": "cs",
    "ces": "cs",
    "cze": "cs",
    "nld": "nl",
    "dut": "nl",
    "pol": "pl",
    "tur": "tr",
    "ind": "id",
    "hin": "hi",
    "heb": "he",
    "iw": "he",
    "swe": "sv",
    "nor": "no",
    "fin": "fi",
    "hun": "hu",
    "ir": "fa",
    "per": "fa",
    "fas": "fa",
}

_TAG = re.compile(r"^([a-z]{2})(?:[-_]([a-z0-9]{2,8}))?$")


@dataclass(frozen=True)
class Language:
    code: str
    """The tag as given, normalised: "zh", "zh-tw", "pt-br"."""
    name: str
    """English name used in prompts: "Chinese", "Traditional Chinese"."""

    @property
    def base(self) -> str:
        """The ISO 639-1 part of the tag: "zh" for "zh-tw"."""
        return self.code.split("-")[0]


def language(code: str) -> Language:
    """The Language of a valid code (no checks beyond a KeyError for unknown ones)."""
    return parse_language(code, "language")


@overload
def parse_language(value: str, flag: str, *, allow_auto: Literal[False] = False) -> Language: ...


@overload
def parse_language(value: str, flag: str, *, allow_auto: bool) -> Language | None: ...


def parse_language(value: str, flag: str, *, allow_auto: bool = False) -> Language | None:
    """Validate a language option; None means `auto`. Errors name the flag and suggest codes."""
    raw = (value or "").strip()
    text = raw.lower().replace("_", "-")
    if not text:
        raise UsageError(f"{flag} is empty; give an ISO 639-1 code such as zh, en or ja")
    if text == AUTO:
        if allow_auto:
            return None
        raise UsageError(f"{flag} cannot be auto; give the language to translate into (e.g. en)")
    match = _TAG.match(text)
    if match and match.group(1) in LANGUAGES:
        base, subtag = match.group(1), match.group(2)
        name = _VARIANTS.get(text, LANGUAGES[base])
        if subtag and text not in _VARIANTS:
            name = f"{LANGUAGES[base]} ({subtag.upper() if len(subtag) == 2 else subtag})"
        return Language(code=text, name=name)
    if text in _NAMES or text in _MISTAKES:
        code = _NAMES.get(text) or _MISTAKES[text]
        raise UsageError(f"{flag} {raw!r}: use the ISO 639-1 code {code!r} ({LANGUAGES[code]})")
    hint = ""
    if len(text) <= 3:  # a mistyped code
        guesses = difflib.get_close_matches(text, list(LANGUAGES), n=3, cutoff=0.5)
    else:  # a mistyped language name
        names = difflib.get_close_matches(text, list(_NAMES), n=2, cutoff=0.7)
        guesses = [_NAMES[n] for n in names]
    guesses = list(dict.fromkeys(guesses))
    if guesses:
        hint = "; did you mean " + " or ".join(f"{g} ({LANGUAGES[g]})" for g in guesses) + "?"
    else:
        hint = "; e.g. zh (Chinese), en (English), ja (Japanese), ko (Korean), fr (French)"
    extra = " (or auto)" if allow_auto else ""
    raise UsageError(f"{flag} {raw!r} is not an ISO 639-1 language code{extra}{hint}")


# --------------------------------------------------------------------------------------------
# Detection by script


def _script(char: str) -> str | None:
    """A coarse script name for one character, or None for punctuation, digits, spaces."""
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if is_han(char):
        return "han"
    if not char.isalpha():
        return None
    try:
        name = unicodedata.name(char)
    except ValueError:
        return None
    for script in (
        "LATIN",
        "CYRILLIC",
        "ARABIC",
        "HEBREW",
        "GREEK",
        "THAI",
        "DEVANAGARI",
        "BENGALI",
        "TAMIL",
        "TELUGU",
        "GUJARATI",
        "GURMUKHI",
        "KANNADA",
        "MALAYALAM",
        "GEORGIAN",
        "ARMENIAN",
        "ETHIOPIC",
        "KHMER",
        "LAO",
        "MYANMAR",
        "SINHALA",
        "TIBETAN",
    ):
        if name.startswith(script):
            return script.lower()
    return None


_SCRIPT_LANGUAGE = {
    "hangul": "ko",
    "cyrillic": "ru",
    "arabic": "ar",
    "hebrew": "he",
    "greek": "el",
    "thai": "th",
    "devanagari": "hi",
    "bengali": "bn",
    "tamil": "ta",
    "telugu": "te",
    "gujarati": "gu",
    "gurmukhi": "pa",
    "kannada": "kn",
    "malayalam": "ml",
    "georgian": "ka",
    "armenian": "hy",
    "ethiopic": "am",
    "khmer": "km",
    "lao": "lo",
    "myanmar": "my",
    "sinhala": "si",
    "tibetan": "bo",
}

# A few frequent function words per Latin-script language; enough to tell the big ones apart.
_LATIN_WORDS = {
    "en": "the and is are was to of in that it you for with this not have be on at",
    "fr": "le la les et est des une un du que pas pour dans ce qui sur avec je vous",
    "de": "der die das und ist nicht ein eine ich zu mit den sie es auf für von dem",
    "es": "el la los las y es que de un una no por con para del se lo muy pero",
    "it": "il la le e è che di un una non per con del della sono gli molto ma",
    "pt": "o a os as e é que de um uma não com para do da muito mas em se",
    "nl": "de het een en is niet van ik dat op te zijn met voor maar",
    "id": "yang dan di ini itu tidak dengan untuk ada saya dari akan",
    "vi": "và là của có không một những được cho người này tôi",
    "tr": "ve bir bu da de için çok ne ile ama gibi",
    "pl": "i w nie na się jest że to z do jak ale",
}
_LATIN_SETS = {code: set(words.split()) for code, words in _LATIN_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str, sample: int = 4000) -> Language | None:
    """Guess the language of `text` from its writing system; None when there is no letter.

    Han with kana is Japanese, Han alone Chinese, Hangul Korean, Cyrillic Russian, and so on;
    Latin-script text is told apart by frequent function words (English when unsure).
    """
    counts: Counter[str] = Counter()
    for char in text[:sample]:
        script = _script(char)
        if script:
            counts[script] += 1
    if not counts:
        return None
    if counts["kana"] and counts["kana"] >= 0.05 * (counts["han"] + counts["kana"]):
        return language("ja")
    top, _ = counts.most_common(1)[0]
    if top in ("han", "kana"):
        return language("zh")
    if top in _SCRIPT_LANGUAGE:
        return language(_SCRIPT_LANGUAGE[top])
    words = [w.lower() for w in _WORD.findall(text[:sample])]
    scores = {code: sum(w in vocab for w in words) for code, vocab in _LATIN_SETS.items()}
    best = max(scores, key=scores.__getitem__)
    return language(best if scores[best] > 0 else "en")
