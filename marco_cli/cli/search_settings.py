"""A command's search settings: what the command line holds for `search.search_config`, the one
constructor of a `SearchConfig` — the command's declared defaults, then what the user set."""

from __future__ import annotations

from typing import Any

from marco_cli.search import SearchConfig, search_config
from marco_cli.settings import SCHEMA, Settings

SEARCH_SETTINGS: tuple[str, ...] = (
    "iterations",
    "branch",
    "exploration",
    "action",
    "select",
    "reward",
    "early_stop",
    "time_limit",
    "parallel",
    "search_tokens",
)
"""The settings that only shape the search; each sets the SearchConfig field of its name."""


def chosen_search(settings: Settings, *, only_flags: bool = False) -> dict[str, Any]:
    """The search settings the user set (flag, environment or config file; with `only_flags`,
    the command line alone), for a search whose other fields have defaults of their own
    (bench's, the speed suite's)."""
    chosen: dict[str, Any] = {}
    for name in SEARCH_SETTINGS:
        set_by_user = settings.flag(name) is not None if only_flags else settings.given(name)
        if set_by_user:
            chosen[name] = settings.get(name)
    return chosen


def command_search(
    settings: Settings, preset: str | None = None, *, temperature: float | None = None
) -> SearchConfig:
    """The SearchConfig of a command: the declared defaults of `preset` (a command name;
    default the settings' own command) under every search setting the user set, one path
    bounded by --max-tokens, the command's seed, and `temperature` for the children (None: the
    search's default)."""
    names = (*SEARCH_SETTINGS, "reflect")
    preset = preset or settings.command
    declared = {name: _default(name, preset) for name in names}
    chosen = {name: settings.get(name) for name in names if settings.given(name)}
    return search_config(
        declared,
        chosen,
        max_tokens=settings["max_tokens"],
        seed=settings.get("seed"),
        temperature=temperature,
    )


def _default(name: str, command: str) -> Any:
    """The declared default of setting `name` for `command`."""
    return next(s for s in SCHEMA if s.name == name).default_for(command)
