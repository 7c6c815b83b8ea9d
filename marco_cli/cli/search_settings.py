"""A command's search settings as a `SearchConfig`: the one place the command line builds one.

`--max-tokens` bounds one answer everywhere, so in a search it bounds one reasoning path
(`SearchConfig.max_path_tokens`); the whole search's budget is `--search-tokens`
(`SearchConfig.max_tokens`).
"""

from __future__ import annotations

from typing import Any

from marco_cli.settings import SCHEMA, Settings

SEARCH_FIELDS: dict[str, str] = {
    "iterations": "iterations",
    "branch": "branch",
    "exploration": "exploration",
    "action": "action",
    "select": "select",
    "reward": "reward",
    "early_stop": "early_stop",
    "time_limit": "time_limit",
    "parallel": "parallel",
    "search_tokens": "max_tokens",
}
"""Setting -> the SearchConfig field it sets, for the settings that only shape the search."""


def search_fields(settings: Settings, *, only_flags: bool = False) -> dict[str, Any]:
    """The SearchConfig fields the user set (flag, environment or config file; with
    `only_flags`, the command line alone), for a search whose other fields have defaults of
    their own (bench's)."""
    chosen: dict[str, Any] = {}
    for name, field in SEARCH_FIELDS.items():
        set_by_user = settings.flag(name) is not None if only_flags else settings.given(name)
        if set_by_user and settings.get(name) is not None:
            chosen[field] = settings[name]
    return chosen


def search_config(
    settings: Settings, preset: str | None = None, *, temperature: float | None = None
) -> Any:
    """The SearchConfig of a command: the defaults of `preset` (a command name; default the
    settings' own command) under every search setting the user set, one path bounded by
    --max-tokens, the command's seed and reflection switch, and `temperature` for the children
    (None: the search's default)."""
    from marco_cli.search import SearchConfig

    preset = preset or settings.command
    values: dict[str, Any] = {}
    for name, field in SEARCH_FIELDS.items():
        value = settings[name] if settings.given(name) else _default(name, preset)
        if value is not None:
            values[field] = value
    reflect = settings["reflect"] if settings.given("reflect") else _default("reflect", preset)
    if reflect is not None:
        values["reflect"] = bool(reflect)
    values["max_path_tokens"] = settings["max_tokens"]
    if settings.get("seed") is not None:
        values["seed"] = settings["seed"]
    if temperature is not None:
        values["temperature"] = temperature
    config = SearchConfig(**values)
    config.validate()
    return config


def _default(name: str, command: str) -> Any:
    """The declared default of setting `name` for `command`."""
    return next(s for s in SCHEMA if s.name == name).default_for(command)
