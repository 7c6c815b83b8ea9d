"""Model names and where their GGUF files live.

A model name (`--model`, `model:` in the config file, MARCO_MODEL) is one of:

- `auto` (the default): Marco-o1 when it is in the Hugging Face cache (or can be downloaded),
  otherwise the demo model, with one warning line on stderr saying so;
- an alias from the registry `marco_cli/data/models.yaml`: `marco-o1`, `marco-o1:q8_0`, ...,
  `demo` (see `marco models list`);
- `hf:OWNER/REPO/FILE.gguf` (or `hf:OWNER/REPO@REVISION/FILE.gguf`): a file on Hugging Face;
- a path to a local `.gguf` file.

`resolve_model` is the entry point: it finds Hugging Face files through `hub` and the demo model
through `demo`. Nothing here imports llama.cpp.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from marco_cli import hub
from marco_cli.demo import (
    DEMO_ORIGIN,
    PIP_DEMO_HINT,
    demo_installed,
    demo_path,
    demo_ready,
    ensure_demo,
)
from marco_cli.errors import ModelError, UsageError
from marco_cli.ui.console import warn

AUTO = "auto"
PREFERRED_MODEL = "marco-o1"
"""What `auto` uses when it is available."""
FALLBACK_MODEL = "demo"
"""What `auto` falls back to, with a warning, when the preferred model is not available."""

Source = Literal["path", "hf", "demo"]


# --------------------------------------------------------------------------------------------
# Data types


@dataclass(frozen=True)
class RegistryEntry:
    """One alias of `models.yaml`, variants expanded (`marco-o1:q8_0` is an entry of its own)."""

    alias: str
    description: str
    display_name: str
    source: Literal["hf", "demo"]
    file: str
    size: int
    """Bytes; exact (and checked) for demo entries, approximate for Hugging Face ones."""
    repo: str | None = None
    sha256: str | None = None
    parts: tuple[str, ...] = ()
    """demo: `PACKAGE/PATH` of each part inside an installed package, in order."""
    listed: bool = True
    """False for the variant the bare alias already stands for (not shown twice)."""

    @property
    def size_exact(self) -> bool:
        return self.source == "demo"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model name: what to look for, before any disk or network access."""

    name: str
    """The name as given."""
    kind: Literal["auto", "path", "hf", "demo"]
    path: Path | None = None
    repo: str | None = None
    filename: str | None = None
    revision: str | None = None
    entry: RegistryEntry | None = None

    @property
    def alias(self) -> str | None:
        return self.entry.alias if self.entry else None

    @property
    def hf_name(self) -> str | None:
        """The `hf:` form of a Hugging Face spec."""
        if self.kind != "hf":
            return None
        rev = f"@{self.revision}" if self.revision else ""
        return f"hf:{self.repo}{rev}/{self.filename}"

    @property
    def label(self) -> str:
        """How messages name the model."""
        if self.entry is not None:
            return self.entry.display_name
        if self.kind == "hf":
            return f"{self.repo}/{self.filename}"
        return self.name


@dataclass(frozen=True)
class ResolvedModel:
    """A model file on this machine, ready to load."""

    path: Path
    display_name: str
    source: Source
    alias: str | None = None
    origin: str = ""
    """Where the file came from: `hf:OWNER/REPO/FILE`, the demo's pip extra, or the path itself."""

    @property
    def name(self) -> str:
        """Same as `display_name`."""
        return self.display_name


@dataclass(frozen=True)
class ModelInfo:
    """One row of `marco models list`."""

    alias: str
    description: str
    display_name: str
    source: Literal["hf", "demo"]
    size: int
    size_exact: bool
    status: Literal["cached", "not cached", "ready", "installed", "not installed"]
    path: Path | None
    origin: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "description": self.description,
            "display_name": self.display_name,
            "source": self.source,
            "size": self.size,
            "size_exact": self.size_exact,
            "status": self.status,
            "path": str(self.path) if self.path else None,
            "origin": self.origin,
        }


# --------------------------------------------------------------------------------------------
# Registry


@cache
def registry() -> dict[str, RegistryEntry]:
    """All aliases of the shipped registry, variants expanded, in file order."""
    text = resources.files("marco_cli.data").joinpath("models.yaml").read_text(encoding="utf-8")
    return parse_registry(yaml.safe_load(text))


def parse_registry(data: dict[str, Any]) -> dict[str, RegistryEntry]:
    """Expand the `models:` mapping of a registry document into entries keyed by alias."""
    entries: dict[str, RegistryEntry] = {}
    for alias, raw in data["models"].items():
        description = " ".join(str(raw["description"]).split())
        common = {
            "source": raw["source"],
            "repo": raw.get("repo"),
            "sha256": raw.get("sha256"),
            "parts": tuple(raw.get("parts", ())),
        }
        entries[alias] = RegistryEntry(
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
            entries[key] = RegistryEntry(
                alias=key,
                display_name=f"{raw['name']} {variant.upper()}",
                description=" ".join(str(v.get("description", description)).split()),
                file=v["file"],
                size=int(v["size"]),
                listed=variant != default_variant,
                **common,
            )
    return entries


def known_aliases() -> list[str]:
    return [AUTO] + [alias for alias, entry in registry().items() if entry.listed]


# --------------------------------------------------------------------------------------------
# Parsing names

_HF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HF_FORM = "hf:OWNER/REPO/FILE.gguf (or hf:OWNER/REPO@REVISION/FILE.gguf)"


def parse_model_name(name: str) -> ModelSpec:
    """Parse a model name without touching the disk (except to tell a bare existing path).

    Order: `auto`; `hf:...`; anything that looks like a path (has a slash, ends in `.gguf`,
    starts with `~` or `.`); a registry alias (case-insensitive); an existing path.
    Raises UsageError for a malformed `hf:` name or an unknown alias.
    """
    text = name.strip()
    if not text:
        raise UsageError(
            "empty model name; use an alias (marco models list), a .gguf path or hf:..."
        )
    if text.lower() == AUTO:
        return ModelSpec(name=text, kind="auto")
    if text.lower().startswith("hf:"):
        return _parse_hf(text)
    if _looks_like_path(text):
        return ModelSpec(name=text, kind="path", path=Path(text).expanduser())
    entry = registry().get(text.lower())
    if entry is not None:
        if entry.source == "hf":
            return ModelSpec(
                name=text, kind="hf", repo=entry.repo, filename=entry.file, entry=entry
            )
        return ModelSpec(name=text, kind="demo", entry=entry)
    if Path(text).exists():
        return ModelSpec(name=text, kind="path", path=Path(text))
    raise UsageError(_unknown_alias_message(text))


def _looks_like_path(text: str) -> bool:
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return (
        any(sep in text for sep in separators)
        or text.lower().endswith(".gguf")
        or text.startswith(("~", "."))
    )


def _unknown_alias_message(text: str) -> str:
    base, _, variant = text.lower().partition(":")
    if variant and base in registry():
        variants = [a.split(":", 1)[1] for a in registry() if a.startswith(base + ":")]
        return (
            f"unknown variant {variant!r} of {base}; known: {', '.join(variants)} "
            f"(use {base}:VARIANT)"
        )
    return (
        f"unknown model {text!r}; known aliases: {', '.join(known_aliases())}; "
        f"or give a path to a .gguf file or {_HF_FORM}"
    )


def _parse_hf(text: str) -> ModelSpec:
    malformed = f"malformed model name {text!r}: expected {_HF_FORM}"
    pieces = text[3:].split("/")
    if len(pieces) < 3:
        raise UsageError(malformed)
    owner, repo_part, *file_pieces = pieces
    repo, at, revision = repo_part.partition("@")
    if not _HF_NAME.fullmatch(owner) or not _HF_NAME.fullmatch(repo) or (at and not revision):
        raise UsageError(malformed)
    if any(p in ("", ".", "..") for p in file_pieces):
        raise UsageError(malformed)
    filename = "/".join(file_pieces)
    if not filename.lower().endswith(".gguf"):
        raise UsageError(f"{malformed}; marco loads GGUF files only")
    return ModelSpec(
        name=text,
        kind="hf",
        repo=f"{owner}/{repo}",
        filename=filename,
        revision=revision or None,
    )


# --------------------------------------------------------------------------------------------
# Resolving


def resolve_model(name: str, *, download: bool = True) -> ResolvedModel:
    """The local file for model `name`, downloading (Hugging Face) or assembling (demo) it first
    when needed. With `download=False` nothing is fetched from the network (the demo model is
    still assembled: that is local). Raises UsageError for a bad name, ModelError otherwise."""
    return resolve_spec(parse_model_name(name), download=download)


def resolve_spec(spec: ModelSpec, *, download: bool = True) -> ResolvedModel:
    if spec.kind == "auto":
        return _resolve_auto(download=download)
    if spec.kind == "path":
        return _resolve_path(spec)
    if spec.kind == "hf":
        return _resolve_hf(spec, download=download)
    assert spec.entry is not None
    return _resolve_demo(spec.entry)


def pull_model(name: str) -> ResolvedModel:
    """Make model `name` available offline: download it, or assemble the demo model.

    `auto` pulls the preferred model (Marco-o1), without falling back to the demo.
    """
    spec = parse_model_name(name)
    if spec.kind == "auto":
        spec = parse_model_name(PREFERRED_MODEL)
    return resolve_spec(spec, download=True)


def _resolve_path(spec: ModelSpec) -> ResolvedModel:
    assert spec.path is not None
    path = spec.path
    if not path.exists():
        raise ModelError(
            f"model file {path} does not exist; give the path to a .gguf file, "
            "an alias (marco models list) or hf:OWNER/REPO/FILE.gguf"
        )
    if path.is_dir():
        raise ModelError(f"model path {path} is a folder; give the path to a .gguf file")
    path = path.resolve()
    return ResolvedModel(path=path, display_name=path.name, source="path", origin=str(path))


def _resolve_auto(*, download: bool) -> ResolvedModel:
    preferred = parse_model_name(PREFERRED_MODEL)
    cached = hub.hf_cached_path(preferred)
    if cached is not None:
        return _hf_result(preferred, cached)
    if not download:
        why = "is not downloaded"
    elif hub.hf_offline():
        why = "is not downloaded and HF_HUB_OFFLINE is set"
    else:
        try:
            return _resolve_hf(preferred, download=True)
        except hub.HubUnreachable:
            why = "is not downloaded and huggingface.co cannot be reached"
    demo = registry()[FALLBACK_MODEL]
    if not (demo_ready(demo) or demo_installed(demo)):
        raise ModelError(
            f"no model to run: {preferred.label} {why}, and the demo model is not installed; "
            f"run `marco models pull {PREFERRED_MODEL}` on a connected machine, "
            f"or {PIP_DEMO_HINT}"
        )
    warn(
        f"using the demo model ({demo.display_name}) because {preferred.label} {why}; "
        f"run `marco models pull {PREFERRED_MODEL}` to get it, or choose with --model"
    )
    return _resolve_demo(demo)


def _hf_result(spec: ModelSpec, path: Path) -> ResolvedModel:
    return ResolvedModel(
        path=path,
        display_name=spec.label,
        source="hf",
        alias=spec.alias,
        origin=spec.hf_name or "",
    )


def _resolve_hf(spec: ModelSpec, *, download: bool) -> ResolvedModel:
    cached = hub.hf_cached_path(spec)
    if cached is not None:
        return _hf_result(spec, cached)
    where = f"the Hugging Face cache ({hub.hf_cache_dir()})"
    if not download:
        offline = " on a connected machine (HF_HUB_OFFLINE is set here)" if hub.hf_offline() else ""
        raise ModelError(
            f"{spec.label} is not downloaded: it is not in {where}; "
            f"run `marco models pull {spec.name}`{offline}, or use another --model"
        )
    if hub.hf_offline():
        raise hub.HubUnreachable(
            f"{spec.label} is not in {where} and downloads are off (HF_HUB_OFFLINE is set); "
            f"use another --model (e.g. --model {FALLBACK_MODEL}), or run "
            f"`marco models pull {spec.name}` on a connected machine and copy its cache here"
        )
    unreachable = (
        f"{spec.label} is not in the Hugging Face cache and huggingface.co cannot be reached; "
        f"use another --model (e.g. --model {FALLBACK_MODEL}), or run "
        f"`marco models pull {spec.name}` on a connected machine"
    )
    return _hf_result(spec, hub.hf_download(spec, unreachable=unreachable))


def _resolve_demo(entry: RegistryEntry) -> ResolvedModel:
    return ResolvedModel(
        path=ensure_demo(entry),
        display_name=entry.display_name,
        source="demo",
        alias=entry.alias,
        origin=DEMO_ORIGIN,
    )


# --------------------------------------------------------------------------------------------
# Listing


def list_models() -> list[ModelInfo]:
    """Every listed alias with its local status; no network access, nothing assembled."""
    rows: list[ModelInfo] = []
    for alias, entry in registry().items():
        if not entry.listed:
            continue
        path: Path | None
        if entry.source == "hf":
            spec = parse_model_name(alias)
            path = hub.hf_cached_path(spec)
            status = "cached" if path else "not cached"
            origin = spec.hf_name or ""
        else:
            path = demo_path(entry) if demo_ready(entry) else None
            status = (
                "ready" if path else ("installed" if demo_installed(entry) else "not installed")
            )
            origin = DEMO_ORIGIN
        rows.append(
            ModelInfo(
                alias=alias,
                description=entry.description,
                display_name=entry.display_name,
                source=entry.source,
                size=entry.size,
                size_exact=entry.size_exact,
                status=status,
                path=path,
                origin=origin,
            )
        )
    return rows
