"""Model names as users write them, parsed into a `ModelSpec` without any download."""

from __future__ import annotations

import os
import re
from pathlib import Path

from marco_cli.errors import UsageError
from marco_cli.models import registry
from marco_cli.models.registry import AUTO
from marco_cli.models.spec import ModelSpec

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
    entry = registry.entries().get(text.lower())
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
    if variant and base in registry.entries():
        variants = [a.split(":", 1)[1] for a in registry.entries() if a.startswith(base + ":")]
        return (
            f"unknown variant {variant!r} of {base}; known: {', '.join(variants)} "
            f"(use {base}:VARIANT)"
        )
    return (
        f"unknown model {text!r}; known aliases: {', '.join(registry.known_aliases())}; "
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
