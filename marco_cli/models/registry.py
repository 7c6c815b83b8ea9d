"""The shipped model registry, `marco_cli/data/models.yaml`: aliases and what they stand for."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

from marco_cli.models.spec import RegistryEntry

AUTO = "auto"
"""The model name that picks a model by what is available (see `marco_cli.models.resolve`)."""

_NORMALIZED_EXTRA = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""An extra name as the wheel's metadata spells it (PEP 685). pip before 23.3 compares the name
a user types with that spelling as it is, so `demo-1.5b` would install nothing there."""


@cache
def entries() -> dict[str, RegistryEntry]:
    """All aliases of the shipped registry, variants expanded, in file order."""
    text = resources.files("marco_cli.data").joinpath("models.yaml").read_text(encoding="utf-8")
    return parse_registry(yaml.safe_load(text))


def parse_registry(data: dict[str, Any]) -> dict[str, RegistryEntry]:
    """Expand the `models:` mapping of a registry document into entries keyed by alias."""
    found: dict[str, RegistryEntry] = {}
    for alias, raw in data["models"].items():
        description = " ".join(str(raw["description"]).split())
        common = {
            "source": raw["source"],
            "repo": raw.get("repo"),
            "sha256": raw.get("sha256"),
            "parts": tuple(raw.get("parts", ())),
            "extra": raw.get("extra"),
        }
        if raw["source"] == "demo":
            _check_demo(alias, common)
        found[alias] = RegistryEntry(
            alias=alias,
            display_name=f"{raw['name']} {raw['quant']}",
            description=description,
            file=raw["file"],
            size=int(raw["size"]),
            **common,
        )
        default_variant = raw.get("default_variant")
        for variant, v in (raw.get("variants") or {}).items():
            key = f"{alias}:{variant.lower()}"
            found[key] = RegistryEntry(
                alias=key,
                display_name=f"{raw['name']} {variant.upper()}",
                description=" ".join(str(v.get("description", description)).split()),
                file=v["file"],
                size=int(v["size"]),
                listed=variant != default_variant,
                **common,
            )
    return found


def _check_demo(alias: str, fields: dict[str, Any]) -> None:
    """A demo entry without its parts, sha256 or extra could be assembled unverified or could
    not tell the user what to install; refuse it when the registry is read."""
    missing = [name for name in ("parts", "sha256", "extra") if not fields[name]]
    if missing:
        raise ValueError(f"models.yaml: demo entry {alias!r} lacks {', '.join(missing)}")
    if not _NORMALIZED_EXTRA.fullmatch(fields["extra"]):
        raise ValueError(
            f"models.yaml: demo entry {alias!r} has extra {fields['extra']!r}; write it "
            "normalized (lowercase letters, digits and single hyphens), as every pip matches it"
        )


def known_aliases() -> list[str]:
    return [AUTO] + [alias for alias, entry in entries().items() if entry.listed]
