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

`SCHEMA` below is the single description of every key: validation, defaults and
`marco config keys` all read it.
"""

from __future__ import annotations

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

_SEARCH = ("solve", "bench")


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Kind
    default: Any
    help: str
    sections: tuple[str, ...] = (SHARED,)
    minimum: float | None = None


SCHEMA: tuple[Setting, ...] = (
    # Shared by every command: top level, overridable per command section.
    Setting("model", "str", "auto", "model alias, .gguf path or hf:OWNER/REPO/FILE.gguf"),
    Setting("ctx", "int", 8192, "context size in tokens", minimum=256),
    Setting("n_gpu_layers", "int", -1, "layers offloaded to the GPU: -1 all, 0 none", minimum=-1),
    Setting("threads", "int", None, "CPU threads (null: automatic)", minimum=1),
    Setting("max_tokens", "int", 4096, "most tokens to generate", minimum=1),
    Setting("temperature", "float", 0.0, "sampling temperature; 0 is greedy", minimum=0),
    Setting("seed", "int", None, "random seed (null: random)"),
    Setting("prompts", "path", None, "folder with your own prompts/*.yaml files"),
    Setting("verbose", "bool", False, "show model loading details and llama.cpp logs"),
    # solve (and bench, which runs solve over a data set)
    Setting("strategy", "str", "cot", "cot or mcts", sections=_SEARCH),
    Setting("system", "str", "zh", "system prompt: zh (Marco-o1's own) or en", sections=_SEARCH),
    Setting(
        "reflect",
        "bool",
        None,
        "rethink once after closing the thought (null: the strategy's default)",
        _SEARCH,
    ),
    Setting("iterations", "int", None, "mcts: number of search iterations", _SEARCH, minimum=1),
    Setting("branch", "int", None, "mcts: children per expanded node", _SEARCH, minimum=1),
    Setting("exploration", "float", None, "mcts: UCT exploration constant", _SEARCH, minimum=0),
    Setting("action", "str", None, "mcts: action size: step, mini-64 or mini-32", _SEARCH),
    Setting("select", "str", None, "mcts: final answer by reward, visits or vote", _SEARCH),
    Setting("reward", "str", None, "mcts: path reward (confidence)", _SEARCH),
    Setting(
        "early_stop", "int", None, "mcts: stop once this many answers agree (0: off)", _SEARCH, 0
    ),
    Setting("time_limit", "float", None, "mcts: seconds before the search stops", _SEARCH, 0),
    # translate
    Setting("strategy", "str", None, "translation strategy", sections=("translate",)),
    Setting("src", "str", None, "source language", sections=("translate",)),
    Setting("tgt", "str", None, "target language", sections=("translate",)),
    Setting("glossaries", "paths", None, "your glossary files", sections=("translate",)),
)

_KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "path": "a path",
    "paths": "a list of paths",
}


def keys_for(section: str | None) -> dict[str, Setting]:
    """The settings allowed in a section (None: the top level) or, for a command, all the keys
    it reads (shared ones included)."""
    return {
        s.name: s
        for s in SCHEMA
        if SHARED in s.sections or (section is not None and section in s.sections)
    }


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


def resolve_settings(
    command: str | None, flags: Mapping[str, Any] | None = None, config_path: Path | None = None
) -> Settings:
    """Settings for `command` (None: only the shared keys).

    Precedence, per key: a flag that is not None > MARCO_MODEL (for `model`) > the command's
    section of the config file > the file's top level > the built-in default. Flags that are not
    in the schema pass through unchanged.
    """
    config = load_config(config_path)
    section = config.sections.get(command, {}) if command else {}
    flags = dict(flags or {})
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    env_model = os.environ.get("MARCO_MODEL", "").strip()
    for key, setting in keys_for(command).items():
        if flags.get(key) is not None:
            values[key], sources[key] = flags[key], "flag"
        elif key == "model" and env_model:
            values[key], sources[key] = env_model, "env MARCO_MODEL"
        elif key in section:
            values[key], sources[key] = section[key], f"config file [{command}]"
        elif key in config.top:
            values[key], sources[key] = config.top[key], "config file"
        else:
            values[key], sources[key] = setting.default, "default"
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
    for key, value in resolved.values.items():
        lines.append(f"{key}: {_yaml_value(value)}  # {resolved.sources[key]}")
    return "\n".join(lines)


def example_config() -> str:
    """An annotated config file with every key commented out at its built-in default
    (`marco config example`); generated from SCHEMA, so it cannot fall behind it."""
    lines = [
        "# marco config file (YAML). Every key is shown commented out, at its built-in default;",
        '# null means "not set". Precedence: flag > MARCO_MODEL > command section > top level.',
        "#",
        "# Top level: defaults for every command.",
    ]
    lines += [_example_line(s, "") for s in keys_for(None).values()]
    for command in COMMANDS:
        lines += [
            "#",
            f"# {command}:  # overrides for `marco {command}` (any top-level key too)",
        ]
        lines += [_example_line(s, "  ") for s in SCHEMA if command in s.sections]
    return "\n".join(lines)


def _example_line(setting: Setting, indent: str) -> str:
    return f"# {indent}{setting.name}: {_yaml_value(setting.default)}  # {setting.help}"
