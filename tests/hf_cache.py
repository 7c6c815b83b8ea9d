"""A Hugging Face hub cache laid out as huggingface_hub lays it out, for tests without network:
models--OWNER--REPO/{blobs/SHA256, snapshots/COMMIT/FILE -> ../../blobs/SHA256, refs/main}."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

MAIN = "a" * 40
"""The commit refs/main points to unless a test says otherwise."""


def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache that HF_HUB_CACHE points to (HF_HUB_OFFLINE=1 comes from conftest)."""
    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


def add_file(
    hub: Path,
    repo: str,
    filename: str,
    content: bytes,
    commit: str = MAIN,
    ref: str | None = "main",
) -> Path:
    """Cache `content` as `filename` of `repo` at `commit` (and point `ref` at it); the snapshot
    entry, as hf_hub_download returns it."""
    root = hub / f"models--{repo.replace('/', '--')}"
    blob = root / "blobs" / hashlib.sha256(content).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(content)
    link = root / "snapshots" / commit / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    if ref is not None:
        (root / "refs").mkdir(exist_ok=True)
        (root / "refs" / ref).write_text(commit)
    return link
