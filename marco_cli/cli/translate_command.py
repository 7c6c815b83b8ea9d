"""`marco translate`: translations on stdout, one output line per input line; everything else
(progress, failed units, warnings) on stderr."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from marco_cli.cli import app
from marco_cli.cli.input import read_stdin_bytes, stdin_stream
from marco_cli.cli.options import CommandFlags, takes_settings
from marco_cli.errors import Outcome, UsageError
from marco_cli.settings import Settings

if TYPE_CHECKING:
    from marco_cli.glossary import Glossary
    from marco_cli.languages import Language
    from marco_cli.prompts import TranslatePrompts
    from marco_cli.search import SearchConfig
    from marco_cli.translate import Unit, UnitResult
    from marco_cli.ui.live_tree import LiveTree
    from marco_cli.ui.translate_progress import TranslateProgress


@app.command()
@takes_settings("translate")
def translate(
    text: Annotated[
        str | None,
        typer.Argument(help="Text to translate; '-' or nothing reads it from stdin."),
    ] = None,
    paragraphs: Annotated[
        bool,
        typer.Option(
            "--paragraphs",
            help="Translate paragraphs (split at blank lines) instead of single lines.",
        ),
    ] = False,
    whole: Annotated[
        bool, typer.Option("--whole", help="Translate the whole input as one document.")
    ] = False,
    glossary: Annotated[
        list[Path] | None,
        typer.Option(
            "--glossary",
            "-g",
            help="Your own glossary (YAML: term: meaning); "
            "repeatable; wins over the built-in ones.",
        ),
    ] = None,
    no_glossary: Annotated[
        bool,
        typer.Option(
            "--no-glossary",
            help="Skip the glossary step (CC-CEDICT, the curated slang list and glossary files).",
        ),
    ] = False,
    split_long: Annotated[
        bool,
        typer.Option(
            "--split-long",
            help="Split a unit too long for the context at sentence boundaries instead of failing.",
        ),
    ] = False,
    batch: Annotated[
        int | None, typer.Option("--batch", min=1, help="Units generated together (default 8).")
    ] = None,
    *,
    flags: CommandFlags,
) -> Outcome:
    """Translate text, slang and idioms by meaning, keeping one output line per input line.

    \b
      marco translate --src zh --tgt en "这个鞋拥有踩屎感，很舒服"
      cat reviews.txt | marco translate --src zh --tgt en > reviews.en.txt
      tail -f chat.log | marco translate --src zh       # each line as soon as it arrives
      marco translate --src zh --json < chat.txt        # JSON Lines, one object per line

    Exit codes: 0 ok, 1 error, 2 bad input or options, 4 some units failed (each is reported
    on stderr with its line number and left empty on stdout; a line longer than the context
    too), 130 interrupted, 141 stdout closed by its reader.
    """
    from marco_cli.cli.session import translate_prompts

    settings = flags.resolve()
    # Options first: a usage error should not wait for the input or the model.
    if paragraphs and whole:
        raise UsageError("--paragraphs and --whole exclude each other; pick one")
    if no_glossary and glossary:
        raise UsageError("--glossary and --no-glossary contradict each other; drop one")
    source, target = _languages(settings)
    mode = "paragraphs" if paragraphs else "whole" if whole else "lines"
    files = [] if no_glossary else [*(settings.get("glossaries") or []), *(glossary or [])]
    search = None
    if settings["strategy"] == "mcts":
        from marco_cli.cli.search_settings import command_search

        # A --temperature on the command line also sets the children's sampling temperature.
        search = command_search(settings, temperature=settings.flag("temperature"))
    json_out = bool(settings["json"])

    input_ = _input(text, mode, batch or 8)
    # Blank lines before the first text need no model: they are written as they arrive, and an
    # input of only blank lines never loads it.
    first: Sequence[Unit] = []
    for chunk in input_.chunks:
        if any(not unit.blank for unit in chunk):
            first = chunk
            break
        _write_blank(chunk, input_, json_out, source, target)
    if not first:
        return Outcome.OK

    if source is None:
        from marco_cli.languages import detect_language

        # A stream is judged by its first lines: the rest may not have been written yet.
        source = detect_language("\n".join(unit.text for unit in first))
        if source is not None and source.base == target.base:
            _note(f"the input looks like {source.name} already (--src auto); translating anyway")
    glossary_obj = None
    if not no_glossary:
        from marco_cli.glossary import build_glossary

        glossary_obj = build_glossary(source.code if source else None, files)
    prompts = translate_prompts(settings)
    return _run(
        settings,
        _Input(itertools.chain([first], input_.chunks), input_.render_unit, input_.pending),
        prompts,
        glossary_obj,
        source=source,
        target=target,
        strategy=settings["strategy"],
        mode=mode,
        split_long=split_long,
        batch=batch,
        search=search,
        json_out=json_out,
    )


@dataclass
class _Input:
    """What to translate: chunks of units (a stream's lines as they arrive, or a whole
    document at once), how to write a unit's output, and how many units need the model when
    that is known in advance (None for a stream)."""

    chunks: Iterator[Sequence[Unit]]
    render_unit: Callable[[int, str], str]
    pending: int | None


def _input(argument: str | None, mode: str, batch: int) -> _Input:
    """Lines from stdin are streamed; an argument, paragraphs and a whole document are read to
    the end first (a paragraph is not done before the blank line after it)."""
    from marco_cli.translate import split_units
    from marco_cli.translate.feed import LineFeed

    if mode == "lines" and (argument is None or argument == "-"):
        feed = LineFeed(stdin_stream(), "stdin", chunk_size=batch)
        return _Input(feed.chunks(), feed.render_unit, None)
    document = split_units(_read_input(argument), mode)
    return _Input(iter([document.units]), document.render_unit, len(document.pending))


def _origin(settings: Settings, name: str) -> str:
    """How an error names a setting: the flag when it was given, else the config file's key."""
    return f"--{name}" if settings.flag(name) is not None else f"{name} (config file)"


def _languages(settings: Settings) -> tuple[Language | None, Language]:
    from marco_cli.languages import parse_language

    src_name, tgt_name = _origin(settings, "src"), _origin(settings, "tgt")
    source = parse_language(settings["src"], src_name, allow_auto=True)
    target = parse_language(settings["tgt"], tgt_name)
    if source is not None and source.code == target.code:
        raise UsageError(f"{src_name} and {tgt_name} are both {source.code}; nothing to translate")
    return source, target


def _read_input(argument: str | None) -> str:
    from marco_cli.translate import decode_input

    if argument is not None and argument != "-":
        if not argument.strip():
            raise UsageError("the text to translate is empty; pass some text or pipe it on stdin")
        # An argument is a line of its own: its output ends with a newline, like any command's.
        return argument if argument.endswith("\n") else argument + "\n"
    return decode_input(read_stdin_bytes(), "stdin")


def _note(message: str) -> None:
    from marco_cli.ui.console import stderr_console, terminal_safe

    stderr_console().print(
        f"marco: {terminal_safe(message)}", markup=False, highlight=False, soft_wrap=True
    )


def _write(data: str) -> None:
    sys.stdout.write(data)
    sys.stdout.flush()


def _write_blank(
    units: Sequence[Unit],
    input_: _Input,
    json_out: bool,
    source: Language | None,
    target: Language,
) -> None:
    """Output for units with nothing to translate: their blank lines, as they were."""
    from marco_cli.translate import UnitResult

    for unit in units:
        if json_out:
            record = UnitResult(
                index=unit.index,
                line=unit.line,
                source=unit.text,
                translation=unit.text,
                src=source.code if source else None,
                tgt=target.code,
            )
            _write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        else:
            _write(input_.render_unit(unit.index, unit.text))


def _lines(result: UnitResult) -> str:
    extra = result.source.count("\n")
    return f"line {result.line}" if not extra else f"lines {result.line}-{result.line + extra}"


def _run(
    settings: Settings,
    input_: _Input,
    prompts: TranslatePrompts,
    glossary: Glossary | None,
    *,
    source: Language | None,
    target: Language,
    strategy: str,
    mode: str,
    split_long: bool,
    batch: int | None,
    search: SearchConfig | None,
    json_out: bool,
) -> Outcome:
    from marco_cli.cli.session import open_engine
    from marco_cli.translate import TranslateOptions, Translator
    from marco_cli.ui.console import stderr_console

    options = TranslateOptions(
        src=source,
        tgt=target,
        strategy=strategy,
        mode=mode,
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"] or 0.0,
        seed=settings.get("seed"),
        split_long=split_long,
        batch_size=batch or 8,
        search=search,
    )
    console = stderr_console()
    pending = input_.pending
    failed: list[int] = []
    written = translated = 0
    progress: TranslateProgress | None = None
    live_tree: LiveTree | None = None
    with open_engine(settings) as engine:
        try:
            translator = Translator(engine, prompts, options, glossary)
            if strategy == "mcts" and pending == 1 and console.is_terminal:
                from marco_cli.ui.live_tree import LiveTree

                live_tree = LiveTree(console, keep=False)
                live_tree.start()
            elif console.is_terminal and not sys.stdout.isatty() and pending != 1:
                from marco_cli.ui.translate_progress import TranslateProgress

                progress = TranslateProgress(console, engine, pending)
            results = translator.translate_stream(
                input_.chunks, on_event=live_tree if live_tree is not None else None
            )
            for result in results:
                if not result.ok:
                    failed.append(result.line)
                    _note(f"{_lines(result)}: not translated: {result.error}")
                # Each unit is one write and a flush: a reader sees it at once, and a killed run
                # leaves whole lines (whole JSON records) behind, never part of one.
                if json_out:
                    _write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
                else:
                    _write(input_.render_unit(result.index, result.translation))
                written += 1
                if result.source.strip():
                    translated += 1
                    if progress is not None:
                        progress.advance()
        except KeyboardInterrupt:
            _stop(progress, live_tree)
            progress = live_tree = None
            _note(f"interrupted; {written} units written")
            return Outcome.INTERRUPTED
        finally:
            _stop(progress, live_tree)
    if failed:
        lines = ", ".join(str(n) for n in failed[:10]) + (" ..." if len(failed) > 10 else "")
        _note(
            f"{len(failed)} of {translated} units failed (line {lines}); "
            "their output lines are empty"
        )
        return Outcome.PARTIAL
    return Outcome.OK


def _stop(progress: TranslateProgress | None, live_tree: LiveTree | None) -> None:
    if progress is not None:
        progress.stop()
    if live_tree is not None:
        live_tree.stop()
