"""Finding a model's file on this machine: downloading it (Hugging Face) or assembling it
(demo) when needed, and the local status of every registry alias."""

from __future__ import annotations

import os
from pathlib import Path

from marco_cli.errors import ModelError
from marco_cli.models import demo, hub, registry
from marco_cli.models.names import parse_model_name
from marco_cli.models.reporter import SILENT, Reporter
from marco_cli.models.spec import ModelInfo, ModelSpec, RegistryEntry, ResolvedModel

PREFERRED_MODEL = "marco-o1"
"""What `auto` uses when it is available."""
FALLBACK_MODEL = "demo"
"""What `auto` falls back to, with a warning, when the preferred model is not available."""


def resolve_model(
    name: str, *, download: bool = True, reporter: Reporter = SILENT
) -> ResolvedModel:
    """The local file for model `name`, downloading (Hugging Face) or assembling (demo) it first
    when needed. With `download=False` nothing is fetched from the network (the demo model is
    still assembled: that is local). Raises UsageError for a bad name, ModelError otherwise."""
    return resolve_spec(parse_model_name(name), download=download, reporter=reporter)


def resolve_spec(
    spec: ModelSpec, *, download: bool = True, reporter: Reporter = SILENT
) -> ResolvedModel:
    if spec.kind == "auto":
        return _resolve_auto(download=download, reporter=reporter)
    if spec.kind == "path":
        return _resolve_path(spec)
    if spec.kind == "hf":
        return _resolve_hf(spec, download=download, reporter=reporter)
    assert spec.entry is not None
    return _resolve_demo(spec.entry, reporter)


def pull_model(name: str, *, reporter: Reporter = SILENT) -> ResolvedModel:
    """Make model `name` available offline: download it, or assemble a demo model.

    `auto` pulls the preferred model (Marco-o1), without falling back to the demo.
    """
    spec = parse_model_name(name)
    if spec.kind == "auto":
        spec = parse_model_name(PREFERRED_MODEL)
    return resolve_spec(spec, download=True, reporter=reporter)


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
    if not os.access(path, os.R_OK):
        raise ModelError(f"model file {path} is not readable (permission denied); fix its mode")
    path = path.resolve()
    return ResolvedModel(path=path, display_name=path.name, source="path", origin=str(path))


def _resolve_auto(*, download: bool, reporter: Reporter) -> ResolvedModel:
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
            return _resolve_hf(preferred, download=True, reporter=reporter)
        except hub.HubUnreachable:
            why = "is not downloaded and huggingface.co cannot be reached"
    fallback = registry.entries()[FALLBACK_MODEL]
    if not (demo.demo_ready(fallback) or demo.demo_installed(fallback)):
        raise ModelError(
            f"no model to run: {preferred.label} {why}, and the demo model is not installed; "
            f"run `marco models pull {PREFERRED_MODEL}` on a connected machine, "
            f"or {demo.pip_hint(fallback)}"
        )
    reporter.on_warning(
        f"using the demo model ({fallback.display_name}) because {preferred.label} {why}; "
        f"run `marco models pull {PREFERRED_MODEL}` to get it, or choose with --model"
    )
    return _resolve_demo(fallback, reporter)


def _hf_result(spec: ModelSpec, path: Path) -> ResolvedModel:
    return ResolvedModel(
        path=path,
        display_name=spec.label,
        source="hf",
        alias=spec.alias,
        origin=spec.hf_name or "",
    )


def _resolve_hf(spec: ModelSpec, *, download: bool, reporter: Reporter) -> ResolvedModel:
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
    path = hub.hf_download(spec, unreachable=unreachable, on_note=reporter.on_note)
    return _hf_result(spec, path)


def _resolve_demo(entry: RegistryEntry, reporter: Reporter) -> ResolvedModel:
    return ResolvedModel(
        path=demo.ensure_demo(entry, reporter),
        display_name=entry.display_name,
        source="demo",
        alias=entry.alias,
        origin=demo.origin(entry),
    )


def list_models() -> list[ModelInfo]:
    """Every listed alias with its local status; no network access, nothing assembled."""
    rows: list[ModelInfo] = []
    for alias, entry in registry.entries().items():
        if not entry.listed:
            continue
        path: Path | None
        if entry.source == "hf":
            spec = parse_model_name(alias)
            path = hub.hf_cached_path(spec)
            status = "cached" if path else "not cached"
            origin = spec.hf_name or ""
        else:
            path = demo.demo_path(entry) if demo.demo_ready(entry) else None
            status = (
                "ready"
                if path
                else ("installed" if demo.demo_installed(entry) else "not installed")
            )
            origin = demo.origin(entry)
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
