"""`marco translate`: slang-aware translation that keeps the shape of its input.

The library entry points, in the order a caller uses them:

- `split_units(text, mode)` cuts the input into a `Document` of units (one per line by default,
  per paragraph, or the whole text) that remembers blank lines, CRLF and the final newline, so
  `Document.render` / `Document.ending` rebuild the same shape around the translations;
- `Translator(engine, prompts, options, ...)` translates units with one loaded engine:
  `translate(text)` for one unit, `translate_document(document)` for many (streamed in input
  order, several units per engine batch), `translate_stream(chunks)` for units that arrive over
  time, such as the chunks of a `feed.LineFeed` reading a pipe;
- `UnitResult.to_json()` is the JSON Lines record of one unit.

Modules, one concern each: `units` (the input as units, sentence splitting), `feed` (a stream's
lines as units as they arrive), `options`
(`TranslateOptions`, strategies), `prompting` (the prompt of a unit from `prompts/translate.yaml`,
examples, glossary hints), `translator` (batching over the KV cache, the strategies direct, cot
and mcts), `jobs` (one request's worth of work and what it produced), `cleaning` (the model's text
as a translation and a recorded thought), `repair` (Chinese words left in a translation),
`results` (`UnitResult`, the JSON fields). Glossary hints come from `marco_cli.glossary`.
"""

from marco_cli.translate.cleaning import clean_translation
from marco_cli.translate.options import (
    DEFAULT_STRATEGY,
    SEARCH_DEFAULTS,
    STRATEGIES,
    TranslateOptions,
)
from marco_cli.translate.results import JSON_FIELDS, UnitResult
from marco_cli.translate.translator import Translator
from marco_cli.translate.units import (
    MODES,
    Document,
    Unit,
    decode_input,
    split_sentences,
    split_to_fit,
    split_units,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "JSON_FIELDS",
    "MODES",
    "SEARCH_DEFAULTS",
    "STRATEGIES",
    "Document",
    "TranslateOptions",
    "Translator",
    "Unit",
    "UnitResult",
    "clean_translation",
    "decode_input",
    "split_sentences",
    "split_to_fit",
    "split_units",
]
