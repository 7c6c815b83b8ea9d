"""Settings: command-line flag > environment > config file > built-in default.

The config file is YAML, at MARCO_CONFIG if set, else `config.yaml` in the user config folder
(`marco config path`). Its top level holds defaults shared by every command; a `solve:`,
`translate:` or `bench:` section overrides them for that command and holds the keys only that
command knows. A missing file is an empty config; `null` means "not set".

    model: marco-o1:q8_0
    ctx: 16384
    solve:
      strategy: mcts
      iterations: 16
    translate:
      glossaries: [slang.tsv]      # relative paths are relative to the config file

`SCHEMA` below declares every option once: the commands' flags and their help
(`marco_cli.cli.options`), the config file's keys and their validation, the per-command defaults,
`marco config show` and `marco config example` are all made from it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from marco_cli.errors import UsageError

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
        return f"{text} (default {_yaml_value(default)})."


SCHEMA: tuple[Setting, ...] = (
    # Every command that runs a model: top level, overridable per command section.
    Setting(
        "model",
        "str",
        "auto",
        "Model: an alias (marco-o1, marco-o1:q8_0, demo, auto), a .gguf path, or "
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
        "mcts: path reward",
        ("solve",),
        ("solve",),
        choices=("confidence",),
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


_NOT_KEYS = {
    ("bench", "strategy"): "bench names strategy and action together in --strategies "
    "(e.g. cot,mcts-mini32)",
    ("bench", "action"): "bench names strategy and action together in --strategies "
    "(e.g. cot,mcts-mini32)",
    ("bench", "reward"): "bench's searches use the confidence reward, the only one",
}
"""Keys that a section once accepted without reading them, and where the setting lives now."""


# --------------------------------------------------------------------------------------------
# The file


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("marco")) / "config.yaml"


def config_path(explicit: Path | None = None) -> Path:
    """The config file in use: `explicit` (--config), else MARCO_CONFIG, else the default."""
    return _locate(explicit)[0]


def _locate(explicit: Path | None) -> tuple[Path, str | None]:
    """The config path and what named it (None for the default location)."""
    if explicit is not None:
        return Path(explicit).expanduser(), "--config"
    if os.environ.get("MARCO_CONFIG"):
        return Path(os.environ["MARCO_CONFIG"]).expanduser(), "MARCO_CONFIG"
    return default_config_path(), None


@dataclass
class ConfigFile:
    """A validated config file: top-level values and per-command sections (nulls dropped)."""

    path: Path
    exists: bool
    top: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_config(explicit: Path | None = None) -> ConfigFile:
    """Read and validate the config file; UsageError ("FILE:LINE: ...") when it is not valid.

    A missing file at the default location is an empty config; a file named by --config or
    MARCO_CONFIG must exist.
    """
    path, named_by = _locate(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named_by is not None:
            raise UsageError(f"config file {path} (from {named_by}) does not exist") from None
        return ConfigFile(path=path, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config file ({exc})") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> ConfigFile:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{where}: not valid YAML ({problem})") from None
    config = ConfigFile(path=path, exists=True)
    if root is None or data is None:
        return config
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise UsageError(f"{path}:{root.start_mark.line + 1}: expected a mapping of settings")
    top_lines = _key_lines(root, path, "")
    for key, value in data.items():
        line = top_lines.get(str(key), 1)
        if key in COMMANDS:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise UsageError(f"{path}:{line}: section `{key}` must be a mapping of settings")
            section_node = _child(root, key)
            lines = _key_lines(section_node, path, f"{key}.") if section_node is not None else {}
            config.sections[key] = _validate(value, key, path, lines, line)
        else:
            config.top.update(_validate({key: value}, None, path, top_lines, line))
    return config


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _key_lines(node: yaml.Node, path: Path, prefix: str) -> dict[str, int]:
    """1-based line of each key of a mapping node; duplicate keys are an error."""
    lines: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key_node, _ in node.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if key in lines:
            raise UsageError(
                f"{path}:{line}: `{prefix}{key}` is set twice (first on line {lines[key]})"
            )
        lines[key] = line
    return lines


def _validate(
    values: dict[Any, Any], section: str | None, path: Path, lines: dict[str, int], line: int
) -> dict[str, Any]:
    allowed = keys_for(section)
    out: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{path}:{lines.get(str(key), line)}"
        name = f"{section}.{key}" if section else str(key)
        setting = allowed.get(key) if isinstance(key, str) else None
        if setting is None:
            raise UsageError(f"{where}: unknown key `{name}`{_unknown_hint(key, section)}")
        if value is None:
            continue
        out[key] = _coerce(setting, value, name, where, path.parent)
    return out


def _unknown_hint(key: Any, section: str | None) -> str:
    if (section, key) in _NOT_KEYS:
        return f": {_NOT_KEYS[section, key]}"
    homes = [c for c in COMMANDS if key in keys_for(c)]
    if homes and section is None:
        return f" at the top level; it belongs in a section: {', '.join(f'`{h}:`' for h in homes)}"
    known = sorted(keys_for(section) if section else set(keys_for(None)) | set(COMMANDS))
    return f"; known keys: {', '.join(known)}"


def _coerce(setting: Setting, value: Any, name: str, where: str, base: Path) -> Any:
    kind = setting.kind
    ok = (
        (kind == "str" and isinstance(value, str))
        or (kind == "int" and isinstance(value, int) and not isinstance(value, bool))
        or (kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind == "bool" and isinstance(value, bool))
        or (kind == "path" and isinstance(value, str) and value.strip() != "")
        or (
            kind == "paths"
            and (
                isinstance(value, str)
                or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            )
        )
    )
    if not ok:
        scalar = not isinstance(value, (dict, list))
        hint = ""
        if kind == "str" and isinstance(value, bool):
            hint = " (YAML reads yes/no/on/off as true/false: quote the value)"
        elif kind == "str" and scalar:
            hint = " (quote the value)"
        raise UsageError(
            f"{where}: `{name}` must be {_KIND_WORDS[kind]}, not {_describe(value)}{hint}"
        )
    if setting.minimum is not None and value < setting.minimum:
        raise UsageError(f"{where}: `{name}` must be at least {setting.minimum:g}, not {value}")
    if setting.maximum is not None and value > setting.maximum:
        raise UsageError(f"{where}: `{name}` must be at most {setting.maximum:g}, not {value}")
    if setting.choices and value not in setting.choices:
        raise UsageError(
            f"{where}: `{name}` must be one of {', '.join(setting.choices)}, not {value!r}"
        )
    if kind == "float":
        return float(value)
    if kind == "path":
        return _relative_to(base, value)
    if kind == "paths":
        return [_relative_to(base, v) for v in ([value] if isinstance(value, str) else value)]
    return value


def _relative_to(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


# --------------------------------------------------------------------------------------------
# Resolving


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one command and where each value came from."""

    command: str
    values: dict[str, Any]
    sources: dict[str, str]
    """key -> "flag", "env MARCO_MODEL", "config file", "config file [COMMAND]" or "default"."""
    config: ConfigFile

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def given(self, key: str) -> bool:
        """Whether the user set `key` (by flag, environment or config file)."""
        return self.sources.get(key, "default") != "default"

    def flag(self, key: str) -> Any:
        """The value of `key` if it came from the command line, else None."""
        return self.values[key] if self.sources.get(key) == "flag" else None


def resolve_settings(
    command: str | None, flags: Mapping[str, Any] | None = None, config_path: Path | None = None
) -> Settings:
    """Settings for `command` (None: only the shared config keys): its config keys and flags.

    Precedence, per key: a flag that is not None > its environment variable (MARCO_MODEL) > the
    command's section of the config file > the file's top level > the command's default. Flags
    that are not in the schema pass through unchanged.
    """
    config = load_config(config_path)
    section = config.sections.get(command, {}) if command else {}
    flags = dict(flags or {})
    declared = {**keys_for(command), **(options_for(command) if command else {})}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, setting in declared.items():
        env = os.environ.get(setting.env, "").strip() if setting.env else ""
        if flags.get(key) is not None:
            values[key], sources[key] = flags[key], "flag"
        elif env:
            values[key], sources[key] = env, f"env {setting.env}"
        elif key in section:
            values[key], sources[key] = section[key], f"config file [{command}]"
        elif key in config.top:
            values[key], sources[key] = config.top[key], "config file"
        else:
            values[key], sources[key] = setting.default_for(command), "default"
    for key, value in flags.items():
        if key not in values:
            values[key], sources[key] = value, "flag"
    return Settings(command=command or "", values=values, sources=sources, config=config)


def settings(
    command: str, flags: Mapping[str, Any] | None = None, config_path: Path | None = None
) -> dict[str, Any]:
    """The resolved settings of `command` as a dict (see `resolve_settings`)."""
    return resolve_settings(command, flags, config_path).values


# --------------------------------------------------------------------------------------------
# Rendering


def _yaml_value(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    elif isinstance(value, list):
        value = [str(v) if isinstance(v, Path) else v for v in value]
    # A one-item flow list keeps scalars on one line and quotes them only where YAML needs it.
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip()[1:-1]


def settings_yaml(resolved: Settings) -> str:
    """The resolved settings as YAML, each line commented with where its value came from."""
    state = "" if resolved.config.exists else " (not found)"
    lines = [f"# config file: {resolved.config.path}{state}"]
    lines.append(
        f"# settings of `marco {resolved.command}`" if resolved.command else "# shared settings"
    )
    for key in keys_for(resolved.command or None):
        lines.append(f"{key}: {_yaml_value(resolved[key])}  # {resolved.sources[key]}")
    return "\n".join(lines)


def example_config() -> str:
    """An annotated config file with every key commented out at its built-in default, each
    section at its command's own (`marco config example`); generated from SCHEMA, so it cannot
    fall behind it."""
    lines = [
        "# marco config file (YAML). Every key is shown commented out, at its built-in default;",
        '# null means "not set". Precedence: flag > MARCO_MODEL > command section > top level.',
        "#",
        "# Top level: defaults for every command.",
    ]
    lines += [_example_line(s, None, "") for s in keys_for(None).values()]
    for command in COMMANDS:
        lines += [
            "#",
            f"# {command}:  # overrides for `marco {command}` (any top-level key too)",
        ]
        lines += [_example_line(s, command, "  ") for s in SCHEMA if command in s.sections]
    return "\n".join(lines)


def _example_line(setting: Setting, command: str | None, indent: str) -> str:
    default = _yaml_value(setting.default_for(command))
    return f"# {indent}{setting.name}: {default}  # {setting.help}"
