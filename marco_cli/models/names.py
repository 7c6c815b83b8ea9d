"""Model names as users write them, parsed into a `ModelSpec` without any download, and the
quantization a GGUF file name tells (`Marco-o1-Q4_K_M.gguf` -> `Q4_K_M`), by which
`OWNER/REPO:QUANT` picks a file of a repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

from marco_cli.errors import ModelError, UsageError
from marco_cli.models import registry
from marco_cli.models.registry import AUTO
from marco_cli.models.spec import ModelSpec

_HF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HF_FORM = "hf:OWNER/REPO/FILE.gguf (or hf:OWNER/REPO@REVISION/FILE.gguf)"
_REPO_FORM = "OWNER/REPO:QUANT (or hf.co/OWNER/REPO:QUANT)"
_HUB_PREFIXES = ("https://huggingface.co/", "https://hf.co/", "huggingface.co/", "hf.co/")
_REPO_NAME = re.compile(
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)"
    r"(?:@(?P<revision>[^:/@\s]+))?(?::(?P<quant>[A-Za-z0-9][A-Za-z0-9_.-]*))?"
)

DEFAULT_QUANT = "Q4_K_M"
"""What `OWNER/REPO` without a quantization picks, as ollama and llama.cpp's `-hf` do."""

# The quantization names llama.cpp writes into file names (Q4_K_M, IQ4_XS, Q8_0, F16, BF16,
# unsloth's UD-Q4_K_XL, ...), standing between separators: not the "Q" of "Qwen2".
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])((?:UD-)?(?:I?Q[1-8](?:_[A-Z0-9]{1,4})*|TQ[12]_0|BF16|F16|F32|MXFP4))"
    r"(?=[-.]|$)",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


def parse_model_name(name: str) -> ModelSpec:
    """Parse a model name without touching the disk (except to tell a bare existing path).

    Order: `auto`; `hf:...`; `hf.co/OWNER/REPO[:QUANT]`; `OWNER/REPO[:QUANT]` unless a file or
    folder of that name exists here; anything that looks like a path (has a slash, ends in
    `.gguf`, starts with `~` or `.`); a registry alias (case-insensitive); an existing path.
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
    for prefix in _HUB_PREFIXES:
        if text.lower().startswith(prefix):
            return _parse_repo(text, text[len(prefix) :].rstrip("/"))
    if _is_repo_name(text):
        return _parse_repo(text, text)
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


def _is_repo_name(text: str) -> bool:
    """`OWNER/REPO[:QUANT]` as llama.cpp's `-hf` takes it; a local path of that shape wins, and a
    `.gguf` name is a file (`models/m.gguf`)."""
    return (
        _REPO_NAME.fullmatch(text) is not None
        and not text.lower().endswith(".gguf")
        and not Path(text).exists()
    )


def _parse_repo(text: str, rest: str) -> ModelSpec:
    found = _REPO_NAME.fullmatch(rest)
    if found is None or found["repo"].lower().endswith(".gguf"):
        raise UsageError(f"malformed model name {text!r}: expected {_REPO_FORM} or {_HF_FORM}")
    return ModelSpec(
        name=text,
        kind="hf",
        repo=found["repo"],
        revision=found["revision"],
        quant=found["quant"].upper() if found["quant"] else None,
    )


def quant_of(filename: str) -> str | None:
    """The quantization a GGUF file name tells (upper case), from the file name, else from its
    folder (split files often sit in a `Q8_0/` folder); None when neither tells one."""
    pieces = filename.replace("\\", "/").split("/")
    for piece in reversed(pieces):
        stem = _SPLIT.sub("", piece)
        stem = stem[: -len(".gguf")] if stem.lower().endswith(".gguf") else stem
        found = _QUANT.findall(stem)
        if found:
            return found[-1].upper()
    return None


def pick_gguf(repo: str, files: list[str], quant: str | None, where: str) -> str:
    """The one GGUF file of quantization `quant` (default Q4_K_M) among a repository's `files`.

    Raises ModelError with one line listing the quantizations there are when none matches,
    when several files match, or when the match is split over several files (llama.cpp loads
    those from their first part, but marco hashes, lists and deletes single files).
    `where` says where the list came from ("on huggingface.co", "in the Hugging Face cache").
    """
    wanted = quant or DEFAULT_QUANT
    by_quant = _ggufs_by_quant(files)
    matches = by_quant.get(wanted, [])
    if not matches:
        hint = "" if quant else f" (no quantization given, so {DEFAULT_QUANT})"
        raise ModelError(
            f"{repo} has no {wanted} GGUF file {where}{hint}; "
            f"available: {_available(repo, by_quant)}; use {repo}:QUANT"
        )
    parts = [name for name in matches if _SPLIT.search(name)]
    if parts:
        raise ModelError(
            f"{repo}:{wanted} is split into {len(parts)} files ({parts[0]}, ...); marco loads "
            "single-file GGUFs only: merge them with `llama-gguf-split --merge FIRST OUT.gguf` "
            f"and give OUT.gguf, or pick another quantization: {_available(repo, by_quant)}"
        )
    if len(matches) > 1:
        raise ModelError(
            f"{repo}:{wanted} is ambiguous {where}: {', '.join(matches)}; "
            f"name one as hf:{repo}/FILE.gguf"
        )
    return matches[0]


def _ggufs_by_quant(files: list[str]) -> dict[str | None, list[str]]:
    """GGUF model files grouped by quantization (vision projectors, `mmproj-*`, left out)."""
    grouped: dict[str | None, list[str]] = {}
    for name in sorted(files):
        base = name.rsplit("/", 1)[-1].lower()
        if base.endswith(".gguf") and "mmproj" not in base:
            grouped.setdefault(quant_of(name), []).append(name)
    return grouped


def _available(repo: str, by_quant: dict[str | None, list[str]]) -> str:
    """`Q4_K_M, Q8_0 (split)`, then files without a quantization in their name as `hf:` names."""
    if not by_quant:
        return "no GGUF files"
    shown = [
        quant + (" (split)" if any(_SPLIT.search(n) for n in names) else "")
        for quant, names in sorted((q, n) for q, n in by_quant.items() if q is not None)
    ]
    shown += [f"hf:{repo}/{name}" for name in by_quant.get(None, [])]
    return ", ".join(shown)
