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

from marco_cli.settings.config_file import (
    ConfigFile,
    config_path,
    default_config_path,
    load_config,
    parse_config,
)
from marco_cli.settings.render import example_config, settings_yaml
from marco_cli.settings.resolve import Settings, resolve_settings, settings
from marco_cli.settings.schema import COMMANDS, SCHEMA, SHARED, Setting, keys_for, options_for

__all__ = [
    "COMMANDS",
    "SCHEMA",
    "SHARED",
    "ConfigFile",
    "Setting",
    "Settings",
    "config_path",
    "default_config_path",
    "example_config",
    "keys_for",
    "load_config",
    "options_for",
    "parse_config",
    "resolve_settings",
    "settings",
    "settings_yaml",
]
