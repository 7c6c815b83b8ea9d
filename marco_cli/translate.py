"""`marco translate`: slang-aware translation that keeps the shape of its input.

The library entry points, in the order a caller uses them:

- `split_units(text, mode)` cuts the input into a `Document` of units (one per line by default,
  per paragraph, or the whole text) that remembers blank lines, CRLF and the final newline, so
  `Document.render` / `Document.ending` rebuild the same shape around the translations;
- `Translator(engine, prompts, options, ...)` translates units with one loaded engine:
  `translate(text)` for one unit, `translate_document(document)` for many (streamed in input
  order, several units per engine batch);
- `UnitResult.to_json()` is the JSON Lines record of one unit.

Prompts come from `prompts/translate.yaml`. The fixed part (system prompt, worked examples,
instructions) comes first and the unit last, so the engine evaluates the fixed part once and
reuses it from its KV cache for every unit. Glossary hints (see `marco_cli.glossary`) sit
between the instructions and the unit.

Strategies: `direct` asks for the translation only; `cot` (the default) lets the model reason in
<Thought> about the colloquial expressions first (the thought's list is opened with the first
glossary term found), then marco closes the thought and the model translates in <Output>;
`mcts` searches over reasoning paths with the confidence reward (`marco_cli.search`). Only the
<Output> text is the translation. Chinese characters left in a translation into a non-CJK
language are rendered afterwards (CC-CEDICT for a whole word, else the model on that word).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from marco_cli.engine.base import Engine, Generation, Request, Sampling, split_tokens
from marco_cli.errors import ContextOverflowError, MarcoError, UsageError
from marco_cli.glossary import Glossary, Match
from marco_cli.languages import Language
from marco_cli.text import HAN_RUN

Mode = Literal["lines", "paragraphs", "whole"]
MODES: tuple[str, ...] = ("lines", "paragraphs", "whole")
STRATEGIES: tuple[str, ...] = ("direct", "cot", "mcts")
DEFAULT_STRATEGY = "cot"
SEARCH_DEFAULTS: dict[str, Any] = {"iterations": 8, "branch": 2, "early_stop": 3, "reflect": False}
"""SearchConfig fields for strategy mcts: a translation is short, so a smaller tree than `solve`
uses; no reflection (it makes small models drift away from the translation)."""

_THOUGHT_ENDS = ("</Thought>", "<Output>")


# --------------------------------------------------------------------------------------------
# Input: units and the shape around them


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


def decode_input(data: bytes, origin: str = "stdin") -> str:
    """UTF-8 text of `data` (a byte-order mark is dropped); errors name the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
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


# --------------------------------------------------------------------------------------------
# Options and results


@dataclass(frozen=True)
class TranslateOptions:
    src: Language | None
    """The source language; None when unknown (the prompt then says "source")."""
    tgt: Language
    strategy: str = DEFAULT_STRATEGY
    mode: str = "lines"
    max_tokens: int = 4096
    """Upper bound on the tokens generated for one unit (thought and translation together)."""
    temperature: float = 0.0
    top_p: float = 0.9
    seed: int | None = None
    split_long: bool = False
    """Split a unit that does not fit the context at sentence boundaries instead of failing."""
    batch_size: int = 8
    """Units generated together in one engine batch."""
    max_hints: int = 8
    search: Any = None
    """A `marco_cli.search.SearchConfig` for strategy mcts (None: the search defaults)."""


@dataclass
class UnitResult:
    """The translation of one unit, as printed (`translation`) and as recorded (`to_json`)."""

    index: int
    line: int
    source: str
    translation: str
    ok: bool = True
    error: str | None = None
    terms: list[Match] = field(default_factory=list)
    reasoning: str = ""
    confidence: float | None = None
    model: str = ""
    strategy: str = ""
    src: str | None = None
    tgt: str = ""
    prompt_tokens: int = 0
    prompt_evaluated: int = 0
    """Prompt tokens the engine had to evaluate (the rest came from its KV cache)."""
    generated_tokens: int = 0
    seconds: float = 0.0
    """Wall-clock time attributed to this unit (a batch's time is shared by its units)."""
    pieces: int = 1
    """More than 1 when --split-long cut the unit into several requests."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "line": self.line,
            "source": self.source,
            "translation": self.translation,
            "ok": self.ok,
            "error": self.error,
            "terms": [match.to_json() for match in self.terms],
            "reasoning": self.reasoning or None,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "model": self.model,
            "strategy": self.strategy,
            "src": self.src,
            "tgt": self.tgt,
            "timings": {
                "seconds": round(self.seconds, 3),
                "prompt_tokens": self.prompt_tokens,
                "prompt_evaluated": self.prompt_evaluated,
                "generated_tokens": self.generated_tokens,
                "tokens_per_second": round(self.generated_tokens / self.seconds, 2)
                if self.seconds > 0
                else None,
            },
        }


JSON_FIELDS = (
    "index",
    "line",
    "source",
    "translation",
    "ok",
    "error",
    "terms",
    "reasoning",
    "confidence",
    "model",
    "strategy",
    "src",
    "tgt",
    "timings",
)
"""The keys of every JSON Lines record, in order."""


# --------------------------------------------------------------------------------------------
# Output cleaning


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


def mean_confidence(generations: Sequence[Generation]) -> float | None:
    """The paper's confidence (mean c_i over generated tokens) of the translation tokens."""
    from marco_cli.search.reward import token_confidence

    scores = [token_confidence(lp) for gen in generations for lp in gen.logprobs]
    return sum(scores) / len(scores) if scores else None


# --------------------------------------------------------------------------------------------
# The translator


@dataclass
class _Job:
    """One request's worth of work: a unit, or a piece of one cut by --split-long."""

    unit: Unit
    piece: int
    text: str
    terms: list[Match]
    out_budget: int
    thought_budget: int
    prompt_length: int
    prompt: list[int] = field(default_factory=list)
    """Built when the job's batch runs (a large input never holds every prompt at once)."""

    @property
    def need(self) -> int:
        """KV cells the job needs: its prompt, the thought and close, the translation."""
        extra = self.thought_budget + 8 if self.thought_budget else 0
        return self.prompt_length + self.out_budget + extra


@dataclass
class _Piece:
    translation: str = ""
    reasoning: str = ""
    error: str | None = None
    confidence: float | None = None
    generations: list[Generation] = field(default_factory=list)
    generated_tokens: int = 0
    prompt_evaluated: int = 0

    def __post_init__(self) -> None:
        if self.generations:
            self.generated_tokens = sum(len(g.tokens) for g in self.generations)
            self.prompt_evaluated = sum(g.prompt_evaluated for g in self.generations)


class Translator:
    """Translates units with one loaded engine and one set of prompts."""

    def __init__(
        self,
        engine: Engine,
        prompts: dict[str, Any],
        options: TranslateOptions,
        glossary: Glossary | None = None,
    ) -> None:
        if options.strategy not in STRATEGIES:
            raise UsageError(
                f"unknown --strategy {options.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if options.mode not in MODES:
            raise UsageError(
                f"unknown unit mode {options.mode!r}; choose one of {', '.join(MODES)}"
            )
        for key in _required_prompt_keys(options.strategy):
            if not isinstance(prompts.get(key), str):
                raise UsageError(f"translate.yaml: missing prompt {key!r}")
        self.engine = engine
        self.prompts = prompts
        self.options = options
        self.glossary = glossary
        self._kind = "direct" if options.strategy == "direct" else "cot"
        self._sampling = Sampling(
            temperature=options.temperature, top_p=options.top_p, seed=options.seed
        )
        src_name = options.src.name if options.src else "source"
        self._names = {"src": src_name, "tgt": options.tgt.name}
        self._heads: dict[str, list[dict[str, str]]] = {}
        self._single_line = options.mode == "lines"
        self._base_length: int | None = None

    # -- prompts ---------------------------------------------------------------------------

    def _fill(self, template: str) -> str:
        return template.replace("{src}", self._names["src"]).replace("{tgt}", self._names["tgt"])

    def _user_message(self, text: str, hints: Sequence[str], kind: str) -> str:
        parts = [self._fill(self.prompts[f"instructions_{kind}"])]
        if hints:
            header = self.prompts.get("glossary_header", "Glossary:")
            parts.append(header + "\n" + "\n".join(f"- {hint}" for hint in hints))
        parts.append(self.prompts.get("text_header", "Text:") + "\n" + text)
        return "\n\n".join(parts)

    def _fixed_messages(self, kind: str) -> list[dict[str, str]]:
        """System prompt and worked examples of a prompt kind ("cot" or "direct")."""
        if kind in self._heads:
            return self._heads[kind]
        messages = [{"role": "system", "content": self._fill(self.prompts[f"system_{kind}"])}]
        src = self.options.src.base if self.options.src else "?"
        pair = f"{src}-{self.options.tgt.base}"
        for example in self.prompts.get("examples") or []:
            if not isinstance(example, dict) or example.get("pair") != pair:
                continue
            hints = list(example.get("hints") or []) if self.glossary is not None else []
            messages.append(
                {"role": "user", "content": self._user_message(example["text"], hints, kind)}
            )
            output = f"<Output>\n{example['output']}\n</Output>"
            if kind == "cot":
                output = f"<Thought>\n{example['thought']}\n</Thought>\n{output}"
            messages.append({"role": "assistant", "content": output})
        self._heads[kind] = messages
        return messages

    def find_terms(self, text: str) -> list[Match]:
        """The glossary entries found in `text` (none without a glossary)."""
        if self.glossary is None:
            return []
        return self.glossary.hints(text, limit=self.options.max_hints)

    def prompt_tokens(
        self, text: str, terms: Sequence[Match] = (), kind: str | None = None
    ) -> list[int]:
        """The full prompt of one unit, ending inside the assistant turn after its prefix."""
        kind = kind or self._kind
        hints = [m.hint() for m in terms]
        messages = [
            *self._fixed_messages(kind),
            {"role": "user", "content": self._user_message(text, hints, kind)},
        ]
        prefix = self.assistant_prefix(terms, kind)
        return self.engine.chat_tokens(messages) + self.engine.tokenize(prefix, special=False)

    def assistant_prefix(self, terms: Sequence[Match] = (), kind: str | None = None) -> str:
        """How the assistant turn opens. For cot with glossary terms, the thought's list of
        expressions is started with the first term found, so the model discusses the terms
        instead of declaring the text plain (small models do that despite the glossary)."""
        kind = kind or self._kind
        prefix = self.prompts[f"assistant_prefix_{kind}"]
        if kind == "cot" and terms and self.prompts.get("seed_first_term", True):
            prefix += f"\n- {terms[0].surface}"
        return prefix

    def _budgets(self, text: str) -> tuple[int, int]:
        """(translation, thought) token budgets for a source text."""
        n = len(self.engine.tokenize(text, special=False))
        cap = self.options.max_tokens
        out = min(cap, 3 * n + 32)
        thought = 0 if self._kind == "direct" else max(16, min(cap - out, 96 + 3 * n))
        return out, thought

    def _job(self, unit: Unit, piece: int, text: str) -> _Job:
        terms = self.find_terms(text)
        out, thought = self._budgets(text)
        length = len(self.prompt_tokens(text, terms))
        return _Job(unit, piece, text, terms, out, thought, length)

    def _prompt(self, job: _Job) -> list[int]:
        if not job.prompt:
            job.prompt = self.prompt_tokens(job.text, job.terms)
        return job.prompt

    def fits(self, text: str) -> bool:
        """Whether a unit with this text fits the context with its prompt and budgets.

        Estimated from the prompt of an empty unit plus the text's and its hints' tokens (a few
        tokens of slack for merges at the joins), so splitting a long unit stays cheap.
        """
        if self._base_length is None:
            self._base_length = len(self.prompt_tokens("")) + 8
        hints = "\n".join(f"- {m.hint()}" for m in self.find_terms(text))
        extra = len(self.engine.tokenize(hints, special=False)) + 8 if hints else 0
        out, thought = self._budgets(text)
        n_text = len(self.engine.tokenize(text, special=False))
        need = self._base_length + extra + n_text + out + thought + (8 if thought else 0)
        return need <= self.engine.n_ctx

    def plan(self, units: Sequence[Unit]) -> list[_Job]:
        """The requests for `units` (blank units need none). A unit too long for the context
        is split at sentence boundaries with `split_long`, else a ContextOverflowError names it."""
        jobs: list[_Job] = []
        for unit in units:
            if unit.blank:
                continue
            job = self._job(unit, 0, unit.text)
            need = job.need
            if need <= self.engine.n_ctx:
                jobs.append(job)
                continue
            if not self.options.split_long:
                raise ContextOverflowError(
                    f"line {unit.line}: this unit needs about {need} tokens with its prompt and "
                    f"translation but the context holds {self.engine.n_ctx}; pass --split-long "
                    "to split it at sentence boundaries, or raise --ctx"
                )
            pieces = split_to_fit(unit.text, self.fits)
            jobs += [self._job(unit, i, piece) for i, piece in enumerate(pieces)]
        return jobs

    # -- running ---------------------------------------------------------------------------

    def translate(self, text: str) -> UnitResult:
        """Translate one text as one unit (split at sentences first if it is too long and
        `split_long` is set)."""
        document = Document(units=(Unit(0, 1, text),), mode=self.options.mode)
        return next(iter(self.translate_document(document)))

    def translate_document(
        self, document: Document, on_event: Callable[[Any], None] | None = None
    ) -> Iterator[UnitResult]:
        """Results for every unit of `document`, blank ones included, in input order.

        Units are generated several at a time (`batch_size`) and yielded as soon as their
        batch is done, so a caller can stream them. A unit that fails is yielded with
        ok=False and its error; KeyboardInterrupt propagates (what was yielded is final).
        """
        jobs = self.plan(document.units)  # raises before any work if a unit cannot fit
        by_unit: dict[int, list[_Job]] = {}
        for job in jobs:
            by_unit.setdefault(job.unit.index, []).append(job)
        done: dict[int, UnitResult] = {}
        next_index = 0
        units = document.units

        def flush() -> Iterator[UnitResult]:
            nonlocal next_index
            while next_index < len(units):
                unit = units[next_index]
                if unit.blank:
                    yield self._blank_result(unit)
                elif unit.index in done:
                    yield done.pop(unit.index)
                else:
                    return
                next_index += 1

        yield from flush()
        pieces: dict[tuple[int, int], _Piece] = {}
        for batch in self._batches(jobs):
            started = time.perf_counter()
            results = self._run_batch(batch, on_event)
            share = (time.perf_counter() - started) / len(batch)
            for job, piece in zip(batch, results, strict=True):
                job.prompt = []  # done with it
                pieces[(job.unit.index, job.piece)] = piece
                unit_jobs = by_unit[job.unit.index]
                if job is unit_jobs[-1]:
                    done[job.unit.index] = self._unit_result(
                        job.unit,
                        unit_jobs,
                        [pieces.pop((job.unit.index, j.piece)) for j in unit_jobs],
                        share * len(unit_jobs),
                    )
            yield from flush()

    def _batches(self, jobs: Sequence[_Job]) -> Iterator[list[_Job]]:
        """Consecutive jobs grouped so that a batch's KV needs fit the context."""
        size = max(1, self.options.batch_size)
        if self.options.strategy == "mcts":
            size = 1
        batch: list[_Job] = []
        used = 0  # KV cells the batch needs: the shared prefix once, each job's own part
        for job in jobs:
            need = job.need
            self._prompt(job)
            if batch:
                extra = need - _common_prefix(batch[0].prompt, job.prompt)
                if len(batch) < size and used + extra <= self.engine.n_ctx:
                    batch.append(job)
                    used += extra
                    continue
                yield batch
            batch, used = [job], need
        if batch:
            yield batch

    def _run_batch(self, batch: list[_Job], on_event: Callable[[Any], None] | None) -> list[_Piece]:
        try:
            return self._generate(batch, on_event)
        except MarcoError as exc:
            if len(batch) == 1:
                return [_Piece(error=exc.message)]
        # Something in the batch failed: run its jobs one at a time to find which.
        results: list[_Piece] = []
        for job in batch:
            try:
                results += self._generate([job], on_event)
            except MarcoError as exc:
                results.append(_Piece(error=exc.message))
        return results

    def _generate(self, batch: list[_Job], on_event: Callable[[Any], None] | None) -> list[_Piece]:
        if self.options.strategy == "mcts":
            pieces = [self._mcts(job, on_event) for job in batch]
        elif self._kind == "direct":
            pieces = self._direct(batch)
        else:
            pieces = self._cot(batch)
        return self._repair(pieces)

    def _repair(self, pieces: list[_Piece]) -> list[_Piece]:
        """Translate Chinese characters left untranslated in a non-CJK translation.

        Small models often carry a word over as is ("The博主 recommends..."). Each distinct
        leftover is rendered on its own: from CC-CEDICT when the whole leftover is one
        dictionary word of two or more characters and the pair is Chinese to English
        ("博主" → "blogger"), else by the
        model with the short `repair_instructions` prompt (all such requests in one batch).
        A rendering is put in place only when it is free of Chinese characters.
        """
        if self.options.tgt.base in _HAN_TARGETS:
            return pieces
        spans = sorted({m.group() for p in pieces for m in HAN_RUN.finditer(p.translation)})
        if not spans:
            return pieces
        fixes: dict[str, str] = {}
        if self.options.tgt.base == "en" and (
            self.options.src is None or self.options.src.base == "zh"
        ):
            from marco_cli.glossary import dictionary_words

            words = dictionary_words()
            for span in spans:
                if len(span) < 2:  # a lone character's first sense is too often wrong (霜 frost)
                    continue
                key = self.glossary.normalize(span) if self.glossary is not None else span
                rendering = words.get(key) or words.get(span)
                if rendering:
                    fixes[span] = rendering
        rest = [span for span in spans if span not in fixes]
        gens = self.engine.generate_batch([self._repair_request(span) for span in rest])
        for span, gen in zip(rest, gens, strict=True):
            text = clean_translation(gen.text, span, single_line=True).rstrip(".!?。")
            if text and not HAN_RUN.search(text):
                fixes[span] = text
        extra = sum(len(g.tokens) for g in gens)
        touched = [p for p in pieces if HAN_RUN.search(p.translation)]
        for piece in touched:
            piece.translation = _substitute(piece.translation, fixes)
            piece.generated_tokens += extra // len(touched)
        return pieces

    def _repair_request(self, word: str) -> Request:
        template = self.prompts.get(
            "repair_instructions",
            'Translate the {src} word "{word}" into {tgt}. Reply with the {tgt} word only.',
        )
        messages = [
            {"role": "system", "content": self._fill(self.prompts["system_direct"])},
            {"role": "user", "content": self._fill(template).replace("{word}", word)},
        ]
        prompt = self.engine.chat_tokens(messages)
        return Request(tuple(prompt), 6 + 3 * len(word), ("\n", "<|im_end|>"), self._sampling)

    def _output_stops(self) -> tuple[str, ...]:
        close = self.prompts.get("output_close", "</Output>")
        return (close, "\n") if self._single_line else (close, "<|im_end|>")

    def _direct(self, batch: list[_Job]) -> list[_Piece]:
        requests = [
            Request(tuple(job.prompt), job.out_budget, self._output_stops(), self._sampling)
            for job in batch
        ]
        gens = self.engine.generate_batch(requests)
        return [self._finish(job, gen, "", [gen]) for job, gen in zip(batch, gens, strict=True)]

    def _cot(self, batch: list[_Job]) -> list[_Piece]:
        first = [
            Request(tuple(job.prompt), job.thought_budget, _THOUGHT_ENDS, self._sampling)
            for job in batch
        ]
        thoughts = self.engine.generate_batch(first)
        second: list[Request] = []
        texts: list[str] = []
        close = self.prompts.get("thought_close", "\n</Thought>\n<Output>\n")
        for job, gen in zip(batch, thoughts, strict=True):
            # The thought without its closing tag and trailing whitespace, as the model's own
            # tokens (so the KV cache stays valid), then marco's close.
            end = gen.text.rfind(gen.stop) if gen.stop is not None else len(gen.text)
            end = len(gen.text[:end].rstrip())
            tokens, leftover = split_tokens(self.engine, gen.tokens, end)
            if leftover:
                tokens = tokens + self.engine.tokenize(leftover, special=False)
            text = self.engine.detokenize(tokens)
            texts.append(text)
            prompt = job.prompt + tokens + self.engine.tokenize(close, special=False)
            second.append(
                Request(tuple(prompt), job.out_budget, self._output_stops(), self._sampling)
            )
        outputs = self.engine.generate_batch(second)
        return [
            self._finish(job, out, _tidy_thought(self._opened(job) + text), [thought, out])
            for job, out, text, thought in zip(batch, outputs, texts, thoughts, strict=True)
        ]

    def _opened(self, job: _Job) -> str:
        """The part of the thought that the prompt itself wrote (after <Thought>)."""
        return self.assistant_prefix(job.terms, "cot").split("<Thought>", 1)[-1].lstrip("\n")

    def _finish(self, job: _Job, gen: Generation, reasoning: str, gens: list[Generation]) -> _Piece:
        text = gen.text
        if gen.stop is not None:
            text = text[: text.rfind(gen.stop)] if gen.stop.strip() else text
        translation = clean_translation(text, job.text, single_line=self._single_line)
        piece = _Piece(
            translation=translation,
            reasoning=reasoning,
            confidence=mean_confidence([gen]),
            generations=gens,
        )
        if not translation:
            piece.error = "the model produced no translation"
        return piece

    def _mcts(self, job: _Job, on_event: Callable[[Any], None] | None) -> _Piece:
        """Search over reasoning paths; the path with the best confidence reward wins.

        The search's answer is the <Output> text of its best completed rollout. When no rollout
        completes within the budget, the unit falls back to one chain of thought (so a unit is
        never left without a translation because the tree ran out of tokens).
        """
        from dataclasses import replace

        from marco_cli.search import SearchConfig, run_mcts

        config = self.options.search or SearchConfig(**SEARCH_DEFAULTS)
        if config.seed is None and self.options.seed is not None:
            config = replace(config, seed=self.options.seed)
        path_tokens = job.thought_budget + job.out_budget + 16
        config = replace(config, max_path_tokens=min(config.max_path_tokens, path_tokens))
        search_prompts = {
            "assistant_prefix": self.prompts["assistant_prefix_cot"],
            "reflection": self.prompts.get("reflection", ""),
        }
        result = run_mcts(self.engine, job.prompt, config, search_prompts, on_event=on_event)
        if result.interrupted:
            raise KeyboardInterrupt
        evaluated = result.stats.evaluated - result.stats.generated
        if not result.complete or not result.answer.strip():
            piece = self._cot([job])[0]
            piece.generated_tokens += result.stats.generated
            piece.prompt_evaluated += evaluated
            return piece
        translation = clean_translation(result.answer, job.text, single_line=self._single_line)
        return _Piece(
            translation=translation,
            reasoning=_tidy_thought(result.thought),
            error=None if translation else "the model produced no translation",
            confidence=result.reward,
            generated_tokens=result.stats.generated,
            prompt_evaluated=max(0, evaluated),
        )

    # -- results ---------------------------------------------------------------------------

    def _base_result(self, unit: Unit) -> UnitResult:
        return UnitResult(
            index=unit.index,
            line=unit.line,
            source=unit.text,
            translation="",
            model=self.engine.model_name,
            strategy=self.options.strategy,
            src=self.options.src.code if self.options.src else None,
            tgt=self.options.tgt.code,
        )

    def _blank_result(self, unit: Unit) -> UnitResult:
        result = self._base_result(unit)
        result.translation = unit.text
        return result

    def _unit_result(
        self, unit: Unit, jobs: list[_Job], pieces: list[_Piece], seconds: float
    ) -> UnitResult:
        result = self._base_result(unit)
        errors = [p.error for p in pieces if p.error]
        joiner = "" if self.options.tgt.base in ("zh", "ja", "th") else " "
        result.translation = joiner.join(p.translation for p in pieces if p.translation)
        if errors:
            result.ok = False
            result.error = errors[0]
            result.translation = ""
        result.terms = [m for job in jobs for m in job.terms]
        result.reasoning = "\n\n".join(p.reasoning for p in pieces if p.reasoning)
        confidences = [p.confidence for p in pieces if p.confidence is not None]
        result.confidence = sum(confidences) / len(confidences) if confidences else None
        result.prompt_tokens = sum(job.prompt_length for job in jobs)
        result.prompt_evaluated = sum(p.prompt_evaluated for p in pieces)
        result.generated_tokens = sum(p.generated_tokens for p in pieces)
        result.seconds = seconds
        result.pieces = len(jobs)
        return result


_HAN_TARGETS = ("zh", "ja", "ko")
"""Target languages whose text may contain Chinese characters (no leftover repair)."""


def _substitute(text: str, fixes: dict[str, str]) -> str:
    """Put each fixed span in place, with spaces where it touches a word."""

    def replace(match: re.Match[str]) -> str:
        fix = fixes.get(match.group())
        if fix is None:
            return match.group()
        start, end = match.start(), match.end()
        sentence_start = not text[:start].strip() or text[:start].rstrip()[-1:] in ".!?"
        if not sentence_start:  # "The博主" -> "The blogger", not "The the blogger"
            fix = re.sub(r"^(?:the|a|an)\s+", "", fix, flags=re.I)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if before and not before.isspace() and before not in "\"'(“‘[":
            fix = " " + fix
        if after and (after.isalnum() or after in '"“('):
            fix = fix + " "
        if not sentence_start and fix.strip()[:1].isupper() and not fix.strip()[1:2].isupper():
            fix = fix.replace(fix.strip()[0], fix.strip()[0].lower(), 1)
        return fix

    return re.sub(r"  +", " ", HAN_RUN.sub(replace, text))


def _required_prompt_keys(strategy: str) -> tuple[str, ...]:
    """Prompt keys a strategy needs (the direct ones always: leftover repair uses them)."""
    kinds = ("direct",) if strategy == "direct" else ("cot", "direct")
    return tuple(
        f"{key}_{kind}" for kind in kinds for key in ("system", "instructions", "assistant_prefix")
    )


def _tidy_thought(text: str) -> str:
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


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
