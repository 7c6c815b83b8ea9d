"""Deleting cached models (`marco models rm`): from a model name to the cached file it stands for,
and deleting that file the way its cache expects."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from marco_cli.errors import ModelError, UsageError
from marco_cli.models import demo, hub
from marco_cli.models.names import parse_model_name, pick_gguf
from marco_cli.models.resolve import cached_files
from marco_cli.models.spec import CachedFile, ModelSpec


def find_cached(name: str) -> CachedFile:
    """The cached file model `name` stands for (any name `--model` takes, or a path inside a
    cache). Raises UsageError for `auto` and for files outside the caches (marco deletes only
    what it or Hugging Face downloaded), ModelError when the model is not cached."""
    spec = parse_model_name(name)
    if spec.kind == "auto":
        raise UsageError("`auto` is no one model; name the model to delete (marco models list)")
    if spec.kind == "demo":
        assert spec.entry is not None
        path = demo.demo_path(spec.entry)
    elif spec.kind == "hf":
        path = _cached_hf_path(spec)
    else:
        assert spec.path is not None
        path = spec.path
    for cached in cached_files():
        if os.path.abspath(cached.path) == os.path.abspath(path):
            return cached
    if spec.kind == "path":
        raise UsageError(
            f"{path} is not in the Hugging Face cache ({hub.hf_cache_dir()}) or marco's cache; "
            "marco models rm deletes cached models only"
        )
    raise ModelError(f"{spec.label} is not cached (nothing to delete)")


def _cached_hf_path(spec: ModelSpec) -> Path:
    """The cached file of a Hugging Face name; `OWNER/REPO:QUANT` picks among the cached files
    only (the error lists the quantizations that are cached)."""
    assert spec.repo is not None
    if spec.filename is None:
        cached = hub.hf_cached_repo_files(spec.repo, spec.revision)
        if cached:
            where = "in the Hugging Face cache"
            spec = replace(spec, filename=pick_gguf(spec.repo, cached, spec.quant, where))
    path = hub.hf_cached_path(spec) if spec.filename is not None else None
    if path is None:
        raise ModelError(f"{spec.label} is not cached (nothing to delete)")
    return path


def delete_cached(cached: CachedFile) -> None:
    """Delete a cached model file: for Hugging Face its snapshot entry and, unless another
    revision still uses it, its blob; for marco's cache the file and its lock file."""
    if cached.cache == "hf":
        hub.hf_delete(cached)
        return
    cached.path.unlink(missing_ok=True)
    cached.path.with_name(cached.path.name + ".lock").unlink(missing_ok=True)
