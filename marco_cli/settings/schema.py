"""Every option declared once: its type, help, bounds, choices, config sections, the commands that
take it as a flag, and per-command defaults (`SCHEMA`). The commands' flags
(`marco_cli.cli.options`), the config file's keys and validation, `marco config show` and
`marco config example` are all made from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Kind = Literal["str", "int", "float", "bool", "path", "paths"]

SHARED = "*"
"""`Setting.sections` value: allowed at the top level and in every command section."""

COMMANDS = ("solve", "translate", "bench")
"""Commands that have a section of their own in the config file."""

_ALL = COMMANDS
_SEARCHING = COMMANDS  # solve --strategy mcts, translate --strategy mcts, bench's mcts strategies


@dataclass(frozen=True)
class Setting:
    """One option, declared once: the command-line flags of the commands that take it, the config
    key and the help all come from here (see `marco_cli.cli.options`)."""

    name: str
    """Config key, and the Python name of the option."""
    kind: Kind
    default: Any
    """The built-in default (None: not set); `presets` may replace it for one command."""
    help: str
    sections: tuple[str, ...] = (SHARED,)
    """Where the config file accepts it: SHARED (top level and every section) or command names;
    () for a flag that has no config key."""
    commands: tuple[str, ...] = _ALL
    """Commands that take it as a flag; () for a key that only the config file sets."""
    flags: tuple[str, ...] = ()
    """Flag spellings, e.g. ("--model", "-m"); default: --name with dashes."""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    """The only values allowed (shown in help, offered by shell completion)."""
    env: str | None = None
    """Environment variable read between the flag and the config file."""
    presets: Mapping[str, Any] = field(default_factory=dict)
    """Command -> its own default, where it differs from `default`."""
    default_text: str | None = None
    """How help states the default when the value itself does not read well (√2, cores)."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """Command -> what the option means there in particular, added to its help."""

    def default_for(self, command: str | None) -> Any:
        return self.presets.get(command, self.default) if command else self.default

    def flag_names(self) -> tuple[str, ...]:
        return self.flags or (f"--{self.name.replace('_', '-')}",)

    def help_for(self, command: str) -> str:
        """The help of this option in `command`, ending with the command's own default."""
        text = self.help + (f"; {self.notes[command]}" if command in self.notes else "")
        default = self.default_for(command)
        if self.default_text is not None:
            return f"{text} (default {self.default_text})."
        if default is None or isinstance(default, bool):
            return f"{text}."
        return f"{text} (default {yaml_value(default)})."


SCHEMA: tuple[Setting, ...] = (
    # Every command that runs a model: top level, overridable per command section.
    Setting(
        "model",
        "str",
        "auto",
        "Model: an alias (marco-o1, marco-o1:q8_0, demo, demo-1.5b, auto), a .gguf path, or "
        "hf:OWNER/REPO/FILE.gguf; MARCO_MODEL sets it too",
        flags=("--model", "-m"),
        env="MARCO_MODEL",
    ),
    Setting(
        "max_tokens",
        "int",
        4096,
        "Most tokens of one answer: a chain of thought, one reasoning path of a search, "
        "one translated unit",
        minimum=1,
    ),
    Setting("temperature", "float", 0.0, "Sampling temperature; 0 is greedy", minimum=0),
    Setting("seed", "int", None, "Random seed, for reproducible runs (not set: random)"),
    Setting(
        "n_gpu_layers", "int", -1, "Layers to offload to the GPU: -1 all, 0 CPU only", minimum=-1
    ),
    Setting(
        "server",
        "str",
        None,
        "Run on a model server instead of a local model: the base URL of llama.cpp's "
        "llama-server or an OpenAI-compatible server (vLLM, SGLang), e.g. http://gpu-box:8080 "
        "(bench: several, comma-separated, share the problems); MARCO_API_KEY is sent as its "
        "API key",
        env="MARCO_SERVER",
    ),
    Setting(
        "server_parallel",
        "int",
        8,
        "Most requests in flight at once on --server (match the server's --parallel)",
        minimum=1,
    ),
    Setting(
        "concurrency",
        "int",
        1,
        "Problems in flight at once (needs --server; several servers share them)",
        sections=("bench",),
        commands=("bench",),
        minimum=1,
    ),
    Setting("ctx", "int", 8192, "Context size in tokens", minimum=256),
    Setting("threads", "int", None, "CPU threads", minimum=1, default_text="all cores"),
    Setting("prompts", "path", None, "Folder with your own prompts/*.yaml files"),
    Setting(
        "verbose",
        "bool",
        False,
        "Show model loading details and llama.cpp logs",
        flags=("--verbose", "-v"),
    ),
    Setting(
        "quiet",
        "bool",
        False,
        "No progress lines when stderr is not a terminal (a search or a bench run prints one "
        "every 10 s there)",
        sections=("solve", "bench"),
        commands=("solve", "bench"),
        flags=("--quiet", "-q"),
    ),
    Setting(
        "config",
        "path",
        None,
        "Config file (default: see `marco config path`)",
        sections=(),
    ),
    Setting("json", "bool", False, "Write JSON to stdout instead of plain text", sections=()),
    # What to run
    Setting(
        "strategy",
        "str",
        "cot",
        "cot (chain of thought) or mcts (tree search)",
        sections=("solve",),
        commands=("solve",),
        flags=("--strategy", "-s"),
        choices=("cot", "mcts"),
    ),
    Setting(
        "strategy",
        "str",
        "cot",
        "direct (fastest, no reasoning), cot (reason about slang first) or mcts (search, "
        "scored by confidence)",
        sections=("translate",),
        commands=("translate",),
        flags=("--strategy", "-s"),
        choices=("direct", "cot", "mcts"),
    ),
    Setting(
        "system",
        "str",
        "zh",
        "System prompt: zh (Marco-o1's own) or en",
        sections=("solve", "bench"),
        commands=("solve", "bench"),
        choices=("zh", "en"),
    ),
    Setting(
        "reflect",
        "bool",
        None,
        "Make the model rethink once it closes its thought",
        sections=_SEARCHING,
        commands=_SEARCHING,
        flags=("--reflect/--no-reflect",),
        presets={"translate": False},
        notes={
            "solve": "default: on for mcts, off for cot",
            "translate": "mcts only, off by default",
            "bench": "for the strategies named without -reflect or -noreflect",
        },
    ),
    # The tree search (mcts)
    Setting(
        "iterations",
        "int",
        16,
        "mcts: search iterations",
        _SEARCHING,
        _SEARCHING,
        minimum=1,
        presets={"translate": 8},
    ),
    Setting(
        "branch",
        "int",
        3,
        "mcts: children per expansion",
        _SEARCHING,
        _SEARCHING,
        minimum=1,
        presets={"translate": 2},
    ),
    Setting(
        "early_stop",
        "int",
        5,
        "mcts: stop once this many answers agree; 0 turns it off",
        _SEARCHING,
        _SEARCHING,
        minimum=0,
        presets={"translate": 3},
    ),
    Setting(
        "exploration",
        "float",
        math.sqrt(2),
        "mcts: UCT exploration constant",
        _SEARCHING,
        _SEARCHING,
        minimum=0,
        default_text="√2",
    ),
    Setting(
        "action",
        "str",
        "step",
        "mcts: action size: a reasoning step (one line) or a mini-step of 64 or 32 tokens",
        ("solve", "translate"),
        ("solve", "translate"),
        choices=("step", "mini-64", "mini-32"),
    ),
    Setting(
        "select",
        "str",
        "reward",
        "mcts: final answer by reward, visits or a vote of the completed rollouts",
        _SEARCHING,
        _SEARCHING,
        choices=("reward", "visits", "vote"),
    ),
    Setting(
        "reward",
        "str",
        "confidence",
        "mcts: path reward from the token confidences: their mean (the paper's), their geometric "
        "mean, or the mean of their lowest tenth",
        _SEARCHING,
        _SEARCHING,
        choices=("confidence", "confidence-geo", "confidence-low"),
    ),
    Setting(
        "search_tokens",
        "int",
        None,
        "mcts: token budget of the whole search (not set: --iterations bounds it)",
        _SEARCHING,
        _SEARCHING,
        minimum=1,
    ),
    Setting(
        "time_limit",
        "float",
        None,
        "mcts: stop the search after this many seconds",
        _SEARCHING,
        _SEARCHING,
        minimum=0.001,
    ),
    Setting(
        "parallel",
        "int",
        None,
        "mcts: iterations in flight at once; 1 runs one at a time",
        sections=(),
        commands=("solve",),
        minimum=1,
        default_text="about 8 sequences",
    ),
    # Translation
    Setting(
        "src",
        "str",
        "auto",
        "Source language, an ISO 639-1 code (zh, en, ja, ...) or auto (guessed from the script)",
        sections=("translate",),
        commands=("translate", "bench"),
        notes={"bench": "translate suite"},
    ),
    Setting(
        "tgt",
        "str",
        "en",
        "Target language, an ISO 639-1 code",
        sections=("translate",),
        commands=("translate", "bench"),
        notes={"bench": "translate suite"},
    ),
    Setting(
        "glossaries",
        "paths",
        None,
        "Your glossary files (--glossary adds to them)",
        sections=("translate",),
        commands=(),
    ),
)
"""Every option that more than one command takes or that the config file sets. Options of one
command that the config file does not set (e.g. bench's --limit) are declared with their command."""

_KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "path": "a path",
    "paths": "a list of paths",
}


def keys_for(section: str | None) -> dict[str, Setting]:
    """The config keys allowed in a section (None: the top level) or, for a command, all the keys
    it reads (shared ones included)."""
    return {
        s.name: s
        for s in SCHEMA
        if SHARED in s.sections or (section is not None and section in s.sections)
    }


def options_for(command: str) -> dict[str, Setting]:
    """The settings `command` takes as flags, in declaration order."""
    return {s.name: s for s in SCHEMA if command in s.commands}


_NOT_KEYS: dict[tuple[str | None, str], str] = {
    ("bench", "strategy"): "bench names strategy and action together in --strategies "
    "(e.g. cot,mcts-mini32)",
    ("bench", "action"): "bench names strategy and action together in --strategies "
    "(e.g. cot,mcts-mini32)",
}
"""Keys that a section once accepted without reading them, and where the setting lives now."""


def yaml_value(value: Any) -> str:
    """`value` as it is written in a YAML config file (and in help texts)."""
    if isinstance(value, Path):
        value = str(value)
    elif isinstance(value, list):
        value = [str(v) if isinstance(v, Path) else v for v in value]
    # A one-item flow list keeps scalars on one line and quotes them only where YAML needs it.
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip()[1:-1]
