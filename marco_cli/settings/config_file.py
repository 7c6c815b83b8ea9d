"""The config file: where it is, reading it, and checking every key against `SCHEMA` with the
file and line of a mistake."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from marco_cli.errors import UsageError
from marco_cli.settings.schema import _KIND_WORDS, _NOT_KEYS, COMMANDS, Setting, keys_for


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
