"""Settings as YAML: `marco config show` (each value with where it came from) and
`marco config example` (every key at its default, from `SCHEMA`)."""

from __future__ import annotations

from marco_cli.settings.resolve import Settings
from marco_cli.settings.schema import COMMANDS, SCHEMA, Setting, keys_for, yaml_value


def settings_yaml(resolved: Settings) -> str:
    """The resolved settings as YAML, each line commented with where its value came from."""
    state = "" if resolved.config.exists else " (not found)"
    lines = [f"# config file: {resolved.config.path}{state}"]
    lines.append(
        f"# settings of `marco {resolved.command}`" if resolved.command else "# shared settings"
    )
    for key in keys_for(resolved.command or None):
        lines.append(f"{key}: {yaml_value(resolved[key])}  # {resolved.sources[key]}")
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
    default = yaml_value(setting.default_for(command))
    return f"# {indent}{setting.name}: {default}  # {setting.help}"
