"""Resolving one command's settings: flag > environment > config file > the command's default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marco_cli.settings.config_file import ConfigFile, load_config
from marco_cli.settings.schema import keys_for, options_for


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
