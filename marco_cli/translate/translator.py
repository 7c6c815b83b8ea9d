"""The translator: units through the engine in batches that share the prompt's fixed part in the
KV cache, with one of three strategies.

`direct` asks for the translation only; `cot` (the default) lets the model reason in <Thought>
about the colloquial expressions first (the thought's list is opened with the first glossary
term found), then marco closes the thought and the model translates in <Output>; `mcts` searches
over reasoning paths with the confidence reward (`marco_cli.search`). Only the <Output> text is
the translation; Chinese words it leaves are repaired afterwards (`repair`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from marco_cli.engine.base import Engine, Generation, Request, Sampling, split_tokens
from marco_cli.errors import MarcoError, UsageError
from marco_cli.glossary import Glossary, Match
from marco_cli.prompts import TranslatePrompts
from marco_cli.translate.cleaning import clean_translation, tidy_thought
from marco_cli.translate.jobs import Job, Piece
from marco_cli.translate.options import SEARCH_DEFAULTS, STRATEGIES, TranslateOptions
from marco_cli.translate.prompting import PromptBuilder
from marco_cli.translate.repair import repair_leftovers
from marco_cli.translate.results import UnitResult
from marco_cli.translate.units import MODES, Document, Unit, split_to_fit

if TYPE_CHECKING:  # the search loads when a search runs
    from marco_cli.search import SearchEvent

_THOUGHT_ENDS = ("</Thought>", "<Output>")


class Translator:
    """Translates units with one loaded engine and one set of prompts."""

    def __init__(
        self,
        engine: Engine,
        prompts: TranslatePrompts,
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
        self.engine = engine
        self.prompts = prompts
        self.options = options
        self.glossary = glossary
        self.prompter = PromptBuilder(engine, prompts, options, with_hints=glossary is not None)
        self._sampling = Sampling(
            temperature=options.temperature, top_p=options.top_p, seed=options.seed
        )
        self._single_line = options.mode == "lines"
        self._base_length: int | None = None

    # -- planning: budgets and the jobs of a document --------------------------------------

    def find_terms(self, text: str) -> list[Match]:
        """The glossary entries found in `text` (none without a glossary)."""
        if self.glossary is None:
            return []
        return self.glossary.hints(text, limit=self.options.max_hints)

    def _budgets(self, text: str) -> tuple[int, int]:
        """(translation, thought) token budgets for a source text."""
        n = len(self.engine.tokenize(text, special=False))
        cap = self.options.max_tokens
        out = min(cap, 3 * n + 32)
        thought = 0 if self.prompter.kind == "direct" else max(16, min(cap - out, 96 + 3 * n))
        return out, thought

    def _job(self, unit: Unit, piece: int, text: str) -> Job:
        terms = self.find_terms(text)
        out, thought = self._budgets(text)
        length = len(self.prompter.prompt_tokens(text, terms))
        return Job(unit, piece, text, terms, out, thought, length)

    def _prompt(self, job: Job) -> list[int]:
        if not job.prompt:
            job.prompt = self.prompter.prompt_tokens(job.text, job.terms)
        return job.prompt

    def fits(self, text: str) -> bool:
        """Whether a unit with this text fits the context with its prompt and budgets.

        Estimated from the prompt of an empty unit plus the text's and its hints' tokens (a few
        tokens of slack for merges at the joins), so splitting a long unit stays cheap.
        """
        if self._base_length is None:
            self._base_length = len(self.prompter.prompt_tokens("")) + 8
        hints = "\n".join(f"- {m.hint()}" for m in self.find_terms(text))
        extra = len(self.engine.tokenize(hints, special=False)) + 8 if hints else 0
        out, thought = self._budgets(text)
        n_text = len(self.engine.tokenize(text, special=False))
        need = self._base_length + extra + n_text + out + thought + (8 if thought else 0)
        return need <= self.engine.n_ctx

    def plan(self, units: Sequence[Unit]) -> tuple[list[Job], dict[int, str]]:
        """The requests for `units` (blank units need none), and why each unit that cannot fit
        the context fails, by unit index. A unit too long for the context is split at sentence
        boundaries with `split_long`; without it that unit alone fails, so one overlong line
        does not cost the translation of the others."""
        jobs: list[Job] = []
        refused: dict[int, str] = {}
        for unit in units:
            if unit.blank:
                continue
            job = self._job(unit, 0, unit.text)
            need = job.need
            if need <= self.engine.n_ctx:
                jobs.append(job)
                continue
            if not self.options.split_long:
                refused[unit.index] = (
                    f"it needs about {need} tokens with its prompt and translation but the "
                    f"context holds {self.engine.n_ctx} (--ctx); pass --split-long to split it "
                    "at sentence boundaries, or raise --ctx"
                )
                continue
            pieces = split_to_fit(unit.text, self.fits)
            jobs += [self._job(unit, i, piece) for i, piece in enumerate(pieces)]
        return jobs, refused

    # -- running ---------------------------------------------------------------------------

    def translate(self, text: str) -> UnitResult:
        """Translate one text as one unit (split at sentences first if it is too long and
        `split_long` is set)."""
        document = Document(units=(Unit(0, 1, text),), mode=self.options.mode)
        return next(iter(self.translate_document(document)))

    def translate_document(
        self, document: Document, on_event: Callable[[SearchEvent], None] | None = None
    ) -> Iterator[UnitResult]:
        """Results for every unit of `document`, blank ones included, in input order.

        Units are generated several at a time (`batch_size`) and yielded as soon as their
        batch is done, so a caller can stream them. A unit that fails (one too long for the
        context included) is yielded with ok=False and its error; KeyboardInterrupt propagates
        (what was yielded is final).
        """
        return self.translate_stream([document.units], on_event)

    def translate_stream(
        self,
        chunks: Iterable[Sequence[Unit]],
        on_event: Callable[[SearchEvent], None] | None = None,
    ) -> Iterator[UnitResult]:
        """Results for units that arrive in chunks (a pipe's lines as they come), in order.

        Each chunk is translated as soon as it arrives, in batches as `translate_document`
        does, and its results are yielded before the next chunk is asked for, so a unit never
        waits for input that comes after it. Units must be numbered on across chunks.
        """
        for chunk in chunks:
            yield from self._translate_chunk(chunk, on_event)

    def _translate_chunk(
        self, units: Sequence[Unit], on_event: Callable[[SearchEvent], None] | None
    ) -> Iterator[UnitResult]:
        jobs, refused = self.plan(units)
        by_unit: dict[int, list[Job]] = {}
        for job in jobs:
            by_unit.setdefault(job.unit.index, []).append(job)
        done: dict[int, UnitResult] = {
            u.index: self._failed_result(u, refused[u.index]) for u in units if u.index in refused
        }
        position = 0

        def flush() -> Iterator[UnitResult]:
            nonlocal position
            while position < len(units):
                unit = units[position]
                if unit.blank:
                    yield self._blank_result(unit)
                elif unit.index in done:
                    yield done.pop(unit.index)
                else:
                    return
                position += 1

        yield from flush()
        pieces: dict[tuple[int, int], Piece] = {}
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

    def _batches(self, jobs: Sequence[Job]) -> Iterator[list[Job]]:
        """Consecutive jobs grouped so that a batch's KV needs fit the context."""
        size = max(1, self.options.batch_size)
        if self.options.strategy == "mcts":
            size = 1
        batch: list[Job] = []
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

    def _run_batch(
        self, batch: list[Job], on_event: Callable[[SearchEvent], None] | None
    ) -> list[Piece]:
        try:
            return self._generate(batch, on_event)
        except MarcoError as exc:
            if len(batch) == 1:
                return [Piece(error=exc.message)]
        # Something in the batch failed: run its jobs one at a time to find which.
        results: list[Piece] = []
        for job in batch:
            try:
                results += self._generate([job], on_event)
            except MarcoError as exc:
                results.append(Piece(error=exc.message))
        return results

    def _generate(
        self, batch: list[Job], on_event: Callable[[SearchEvent], None] | None
    ) -> list[Piece]:
        if self.options.strategy == "mcts":
            pieces = [self._mcts(job, on_event) for job in batch]
        elif self.prompter.kind == "direct":
            pieces = self._direct(batch)
        else:
            pieces = self._cot(batch)
        return repair_leftovers(
            pieces, self.engine, self.prompter, self.options, self.glossary, self._sampling
        )

    def _output_stops(self) -> tuple[str, ...]:
        close = self.prompts.output_close
        return (close, "\n") if self._single_line else (close, "<|im_end|>")

    def _direct(self, batch: list[Job]) -> list[Piece]:
        requests = [
            Request(tuple(job.prompt), job.out_budget, self._output_stops(), self._sampling)
            for job in batch
        ]
        gens = self.engine.generate_batch(requests)
        return [self._finish(job, gen, "", [gen]) for job, gen in zip(batch, gens, strict=True)]

    def _cot(self, batch: list[Job]) -> list[Piece]:
        first = [
            Request(tuple(job.prompt), job.thought_budget, _THOUGHT_ENDS, self._sampling)
            for job in batch
        ]
        thoughts = self.engine.generate_batch(first)
        second: list[Request] = []
        texts: list[str] = []
        close = self.prompts.thought_close
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
            self._finish(
                job,
                out,
                tidy_thought(self.prompter.opened_thought(job.terms) + text),
                [thought, out],
            )
            for job, out, text, thought in zip(batch, outputs, texts, thoughts, strict=True)
        ]

    def _finish(self, job: Job, gen: Generation, reasoning: str, gens: list[Generation]) -> Piece:
        text = gen.text
        if gen.stop is not None:
            text = text[: text.rfind(gen.stop)] if gen.stop.strip() else text
        translation = clean_translation(text, job.text, single_line=self._single_line)
        piece = Piece(
            translation=translation,
            reasoning=reasoning,
            confidence=mean_confidence([gen]),
            generations=gens,
        )
        if not translation:
            piece.error = "the model produced no translation"
        return piece

    def _mcts(self, job: Job, on_event: Callable[[SearchEvent], None] | None) -> Piece:
        """Search over reasoning paths; the path with the best confidence reward wins.

        The search's answer is the <Output> text of its best completed rollout. When no rollout
        completes within the budget, the unit falls back to one chain of thought (so a unit is
        never left without a translation because the tree ran out of tokens).
        """
        from marco_cli.search import run_mcts, search_config
        from marco_cli.translate.task import TranslationTask

        config = self.options.search or search_config(SEARCH_DEFAULTS, seed=self.options.seed)
        path_tokens = job.thought_budget + job.out_budget + 16
        config = search_config(base=config, max_tokens=min(config.max_tokens, path_tokens))
        task = TranslationTask(
            self.prompts.assistant_prefix_cot, self.prompts.reflection, self.prompts.thought_close
        )
        result = run_mcts(self.engine, job.prompt, config, task, on_event=on_event)
        if result.interrupted:
            raise KeyboardInterrupt
        evaluated = result.stats.evaluated - result.stats.generated
        if not result.complete or not result.answer.strip():
            piece = self._cot([job])[0]
            piece.generated_tokens += result.stats.generated
            piece.prompt_evaluated += evaluated
            return piece
        translation = clean_translation(result.answer, job.text, single_line=self._single_line)
        return Piece(
            translation=translation,
            reasoning=tidy_thought(result.thought),
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

    def _failed_result(self, unit: Unit, error: str) -> UnitResult:
        result = self._base_result(unit)
        result.ok = False
        result.error = error
        return result

    def _unit_result(
        self, unit: Unit, jobs: list[Job], pieces: list[Piece], seconds: float
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


def mean_confidence(generations: Sequence[Generation]) -> float | None:
    """The paper's confidence (mean c_i over generated tokens) of the translation tokens."""
    from marco_cli.search.reward import token_confidence

    scores = [token_confidence(lp) for gen in generations for lp in gen.logprobs]
    return sum(scores) / len(scores) if scores else None


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
