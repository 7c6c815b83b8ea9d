"""Prompt sets: the YAML files in `prompts/` (shipped as `marco_cli.prompt_files`), typed.

A user may point `--prompts DIR` (or `prompts:` in the config file) at a folder with their own
`solve.yaml` / `translate.yaml`. Such a file is laid key by key over the shipped one, so it only
needs the keys it changes; every key is checked at load, and a wrong one ends the command with one
line naming the file and the key.

Each shipped prompt exists once: Marco-o1's own system prompt is `system_zh` of solve.yaml;
translate's chain-of-thought system prompt (`system_cot`) and its reflection phrase are solve's
unless a translate file sets its own.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from marco_cli.errors import UsageError

SYSTEM_PROMPTS: tuple[str, ...] = ("zh", "en")
"""The system prompts a solve prompt set offers (`--system`)."""


@dataclass(frozen=True)
class SolvePrompts:
    """prompts/solve.yaml."""

    system_zh: str
    """Marco-o1's own default system prompt, verbatim."""
    system_en: str
    assistant_prefix: str
    """Forced at the start of the answer."""
    force_answer: str
    """Appended when the model ends its turn without an answer, to make it give one."""
    reflection: str
    """Appended inside a thought to make the model reconsider (paper, section 3)."""

    def system(self, name: str) -> str:
        if name not in SYSTEM_PROMPTS:
            raise UsageError(
                f"unknown system prompt {name!r}; choose one of {', '.join(SYSTEM_PROMPTS)}"
            )
        return self.system_zh if name == "zh" else self.system_en


@dataclass(frozen=True)
class Example:
    """A worked translation example, shown as earlier chat turns for its language pair."""

    pair: str
    """"SRC-TGT" by ISO 639-1 code, e.g. "zh-en"."""
    text: str
    hints: tuple[str, ...]
    thought: str
    output: str


@dataclass(frozen=True)
class TranslatePrompts:
    """prompts/translate.yaml. `{src}`, `{tgt}` (and `{word}` in `repair_instructions`) are
    filled in by the translator."""

    system_cot: str
    system_direct: str
    instructions_cot: str
    instructions_direct: str
    repair_instructions: str
    glossary_header: str
    text_header: str
    assistant_prefix_cot: str
    assistant_prefix_direct: str
    thought_close: str
    output_close: str
    reflection: str
    """What `--strategy mcts --reflect` appends inside a thought."""
    seed_first_term: bool
    examples: tuple[Example, ...]

    def system(self, kind: str) -> str:
        return self.system_cot if kind == "cot" else self.system_direct

    def instructions(self, kind: str) -> str:
        return self.instructions_cot if kind == "cot" else self.instructions_direct

    def assistant_prefix(self, kind: str) -> str:
        return self.assistant_prefix_cot if kind == "cot" else self.assistant_prefix_direct


PromptSet = TypeVar("PromptSet", SolvePrompts, TranslatePrompts)

_FILES: dict[type, str] = {SolvePrompts: "solve.yaml", TranslatePrompts: "translate.yaml"}
_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "repair_instructions": frozenset({"src", "tgt", "word"}),
}
_DEFAULT_PLACEHOLDERS = frozenset({"src", "tgt"})
_FROM_SOLVE = {"system_cot": "system_zh", "reflection": "reflection"}
"""Translate prompts that are, unless a translate file sets them, the solve prompts named."""
_EXAMPLE_KEYS = {f.name for f in dataclasses.fields(Example)}


def load_solve_prompts(directory: Path | None = None) -> SolvePrompts:
    return _load(SolvePrompts, directory)


def load_translate_prompts(directory: Path | None = None) -> TranslatePrompts:
    values = _read_shipped("translate.yaml")
    if directory is not None:
        values.update(_read_user(_user_file(directory, "translate.yaml"), TranslatePrompts))
    missing = [key for key in _FROM_SOLVE if values.get(key) is None]
    if missing:  # one copy of each shipped prompt: these live in solve.yaml
        solve = load_solve_prompts(directory)
        values.update({key: getattr(solve, _FROM_SOLVE[key]) for key in missing})
    return _build(TranslatePrompts, values, _origin(directory, "translate.yaml"))


def _load(kind: type[PromptSet], directory: Path | None) -> PromptSet:
    filename = _FILES[kind]
    values = _read_shipped(filename)
    if directory is not None:
        values.update(_read_user(_user_file(directory, filename), kind))
    return _build(kind, values, _origin(directory, filename))


def _user_file(directory: Path, filename: str) -> Path | None:
    folder = Path(directory)
    if not folder.is_dir():
        raise UsageError(f"prompts folder {folder} does not exist; fix --prompts")
    path = folder / filename
    return path if path.is_file() else None


def _origin(directory: Path | None, filename: str) -> str:
    """The file to name in an error about a merged set: the user's when there is one."""
    if directory is not None and (Path(directory) / filename).is_file():
        return str(Path(directory) / filename)
    return filename


def _read_shipped(filename: str) -> dict[str, Any]:
    text = resources.files("marco_cli.prompt_files").joinpath(filename).read_text("utf-8")
    return _parse(text, filename)


def _read_user(path: Path | None, kind: type) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the prompt file ({exc.strerror or exc})") from None
    values = _parse(text, str(path))
    known = {f.name for f in dataclasses.fields(kind)}
    for key in values:
        if key not in known:
            raise UsageError(
                f"{path}: unknown prompt key `{key}`; known keys: {', '.join(sorted(known))}"
            )
    return values


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        raise UsageError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{origin}: expected a mapping of prompt names to text")
    return {str(k): v for k, v in data.items()}


def _build(kind: type[PromptSet], values: dict[str, Any], origin: str) -> PromptSet:
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        if field.name not in values or values[field.name] is None:
            raise UsageError(f"{origin}: prompt `{field.name}` is missing")
        fields[field.name] = _check(
            field.name, field.type, values[field.name], origin, fills=kind is TranslatePrompts
        )
    return kind(**fields)


def _check(key: str, type_name: Any, value: Any, origin: str, *, fills: bool) -> Any:
    """`value` as the field's type. `fills`: the set's text has placeholders filled in, so an
    unknown `{name}` is a mistake (solve prompts are used as they are)."""
    if type_name in ("bool", bool):
        if not isinstance(value, bool):
            raise UsageError(f"{origin}: prompt `{key}` must be true or false")
        return value
    if key == "examples":
        return _examples(value, origin)
    if not isinstance(value, str):
        raise UsageError(f"{origin}: prompt `{key}` must be text, not {type(value).__name__}")
    if not fills:
        return value
    allowed = _PLACEHOLDERS.get(key, _DEFAULT_PLACEHOLDERS)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError:
        names = set()  # a lone brace: plain text, nothing to fill in
    unknown = sorted(n for n in names if n and n not in allowed)
    if unknown:
        raise UsageError(
            f"{origin}: prompt `{key}` has the unknown placeholder {{{unknown[0]}}}; "
            f"it may use {', '.join('{' + n + '}' for n in sorted(allowed))}"
        )
    return value


def _examples(value: Any, origin: str) -> tuple[Example, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{origin}: prompt `examples` must be a list")
    examples = []
    for number, item in enumerate(value, 1):
        where = f"{origin}: `examples` item {number}"
        if not isinstance(item, dict) or not set(item) >= _EXAMPLE_KEYS:
            raise UsageError(f"{where} needs the keys {', '.join(sorted(_EXAMPLE_KEYS))}")
        hints = item["hints"] or []
        text_fields = [item[k] for k in ("pair", "text", "thought", "output")]
        if not all(isinstance(v, str) for v in [*text_fields, *hints]) or not isinstance(
            hints, list
        ):
            raise UsageError(f"{where}: pair, text, thought and output must be text, hints a list")
        examples.append(
            Example(
                pair=item["pair"],
                text=item["text"],
                hints=tuple(hints),
                thought=item["thought"],
                output=item["output"],
            )
        )
    return tuple(examples)
