"""Model names and where their GGUF files live.

A model name (`--model`, `model:` in the config file, MARCO_MODEL) is one of:

- `auto` (the default): Marco-o1 when it is in the Hugging Face cache (or can be downloaded),
  otherwise the demo model, with one warning line on stderr saying so;
- an alias from the registry `marco_cli/data/models.yaml`: `marco-o1`, `marco-o1:q8_0`, ...,
  `demo` (see `marco models list`);
- `hf:OWNER/REPO/FILE.gguf` (or `hf:OWNER/REPO@REVISION/FILE.gguf`): a file on Hugging Face;
- a path to a local `.gguf` file.

Hugging Face files live in the standard Hugging Face cache (HF_HOME / HF_HUB_CACHE), so they are
shared with other tools. The demo model ships as six Python data packages (the `demo` extra);
it is assembled once into the marco cache folder (MARCO_CACHE_DIR, else the user cache folder)
and reused. `resolve_model` is the entry point; nothing here imports llama.cpp.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from marco_cli.errors import ModelError, UsageError

AUTO = "auto"
PREFERRED_MODEL = "marco-o1"
"""What `auto` uses when it is available."""
FALLBACK_MODEL = "demo"
"""What `auto` falls back to, with a warning, when the preferred model is not available."""

PIP_DEMO_HINT = 'pip install "marco-cli[demo]" (or pip install -e ".[demo]" from a checkout)'
"""How to install the demo model's packages (the `demo` extra)."""
DEMO_ORIGIN = 'pip extra "marco-cli[demo]"'
_REINSTALL_DEMO = 'reinstall them with pip install --force-reinstall "marco-cli[demo]"'

_CHUNK = 8 * 1024 * 1024

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


class _HubUnreachable(ModelError):
    """The file is not cached and cannot be downloaded now (offline or no connection)."""


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
    cached = _hf_cached_path(preferred)
    if cached is not None:
        return _hf_result(preferred, cached)
    if not download:
        why = "is not downloaded"
    elif hf_offline():
        why = "is not downloaded and HF_HUB_OFFLINE is set"
    else:
        try:
            return _resolve_hf(preferred, download=True)
        except _HubUnreachable:
            why = "is not downloaded and huggingface.co cannot be reached"
    demo = registry()[FALLBACK_MODEL]
    if not (_demo_ready(demo) or demo_installed(demo)):
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


# --------------------------------------------------------------------------------------------
# Hugging Face


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hf_offline() -> bool:
    """Whether Hugging Face downloads are switched off (HF_HUB_OFFLINE, read now and at import)."""
    from huggingface_hub import constants

    return (
        bool(constants.HF_HUB_OFFLINE)
        or _env_true("HF_HUB_OFFLINE")
        or _env_true("TRANSFORMERS_OFFLINE")
    )


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, from the environment as it is now (huggingface_hub reads it
    once at import)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.path.expandvars(os.environ[var])).expanduser()
    if os.environ.get("HF_HOME"):
        home = Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        home = Path(xdg).expanduser() / "huggingface"
    return home / "hub"


def _hf_cached_path(spec: ModelSpec) -> Path | None:
    """The cached file of a Hugging Face spec, or None; never touches the network."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    assert spec.repo is not None and spec.filename is not None
    try:
        path = hf_hub_download(
            spec.repo,
            spec.filename,
            revision=spec.revision,
            cache_dir=hf_cache_dir(),
            local_files_only=True,
        )
    except (EntryNotFoundError, OSError, ValueError):
        return None
    return Path(path)


def _hf_result(spec: ModelSpec, path: Path) -> ResolvedModel:
    return ResolvedModel(
        path=path,
        display_name=spec.label,
        source="hf",
        alias=spec.alias,
        origin=spec.hf_name or "",
    )


def _resolve_hf(spec: ModelSpec, *, download: bool) -> ResolvedModel:
    cached = _hf_cached_path(spec)
    if cached is not None:
        return _hf_result(spec, cached)
    where = f"the Hugging Face cache ({hf_cache_dir()})"
    if not download:
        offline = " on a connected machine (HF_HUB_OFFLINE is set here)" if hf_offline() else ""
        raise ModelError(
            f"{spec.label} is not downloaded: it is not in {where}; "
            f"run `marco models pull {spec.name}`{offline}, or use another --model"
        )
    if hf_offline():
        raise _HubUnreachable(
            f"{spec.label} is not in {where} and downloads are off (HF_HUB_OFFLINE is set); "
            f"use another --model (e.g. --model {FALLBACK_MODEL}), or run "
            f"`marco models pull {spec.name}` on a connected machine and copy its cache here"
        )
    return _hf_result(spec, _hf_download(spec))


def _hf_download(spec: ModelSpec) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    assert spec.repo is not None and spec.filename is not None
    size = f" (~{format_size(spec.entry.size)})" if spec.entry else ""
    note(
        f"downloading {spec.label}{size} from huggingface.co/{spec.repo} "
        f"into {hf_cache_dir()} (once)"
    )
    unreachable = (
        f"{spec.label} is not in the Hugging Face cache and huggingface.co cannot be reached; "
        f"use another --model (e.g. --model {FALLBACK_MODEL}), or run "
        f"`marco models pull {spec.name}` on a connected machine"
    )
    try:
        path = hf_hub_download(
            spec.repo,
            spec.filename,
            revision=spec.revision,
            cache_dir=hf_cache_dir(),
        )
    except GatedRepoError:
        raise ModelError(
            f"{spec.repo} is gated on Hugging Face: accept its terms at "
            f"https://huggingface.co/{spec.repo} and log in with `hf auth login`"
        ) from None
    except RepositoryNotFoundError:
        raise ModelError(
            f"Hugging Face repository {spec.repo} not found (if it is private, log in with "
            "`hf auth login`)"
        ) from None
    except RevisionNotFoundError:
        raise ModelError(f"revision {spec.revision!r} not found in {spec.repo}") from None
    except RemoteEntryNotFoundError:
        raise ModelError(
            f"Hugging Face repository {spec.repo} has no file {spec.filename}"
        ) from None
    except LocalEntryNotFoundError:
        raise _HubUnreachable(unreachable) from None
    except HfHubHTTPError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"downloading {spec.label} failed: {first}") from None
    except Exception as exc:  # the network boundary: one line instead of a traceback
        if _is_connection_error(exc):
            raise _HubUnreachable(unreachable) from None
        if isinstance(exc, OSError):
            raise ModelError(f"downloading {spec.label} failed: {exc}") from None
        raise
    return Path(path)


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    # httpx's network errors all derive from TransportError (whatever httpx flavour is in use).
    return any(cls.__name__ == "TransportError" for cls in type(exc).__mro__)


# --------------------------------------------------------------------------------------------
# The demo model


def cache_dir() -> Path:
    """marco's own cache folder: MARCO_CACHE_DIR, else the platform's user cache folder."""
    if os.environ.get("MARCO_CACHE_DIR"):
        return Path(os.environ["MARCO_CACHE_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("marco"))


def demo_path(entry: RegistryEntry | None = None) -> Path:
    """Where the assembled demo model lives (whether or not it exists yet)."""
    entry = entry or registry()[FALLBACK_MODEL]
    return cache_dir() / "demo" / entry.file


def _demo_ready(entry: RegistryEntry) -> bool:
    """The assembled file exists with the right size (the sha256 was checked when it was
    written; it is not re-hashed on every run)."""
    try:
        return demo_path(entry).stat().st_size == entry.size
    except OSError:
        return False


def demo_parts(entry: RegistryEntry) -> list[Path]:
    """The installed part files of a demo entry, in order; ModelError if the extra is missing."""
    parts: list[Path] = []
    for item in entry.parts:
        package, _, inner = item.partition("/")
        try:
            found = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            found = None
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            raise ModelError(
                f"the demo model is not installed (package {package.replace('_', '-')} is "
                f"missing); install it with {PIP_DEMO_HINT}"
            )
        path = Path(locations[0]) / inner
        if not path.is_file():
            raise ModelError(
                f"the demo model's package {package.replace('_', '-')} is incomplete ({path} is "
                f"missing); {_REINSTALL_DEMO}"
            )
        parts.append(path)
    return parts


def demo_installed(entry: RegistryEntry | None = None) -> bool:
    entry = entry or registry()[FALLBACK_MODEL]
    try:
        demo_parts(entry)
    except ModelError:
        return False
    return True


def _resolve_demo(entry: RegistryEntry) -> ResolvedModel:
    target = demo_path(entry)
    if not _demo_ready(entry):
        _assemble_demo(entry, demo_parts(entry), target)
    return ResolvedModel(
        path=target,
        display_name=entry.display_name,
        source="demo",
        alias=entry.alias,
        origin=DEMO_ORIGIN,
    )


def _assemble_demo(entry: RegistryEntry, parts: list[Path], target: Path) -> None:
    """Concatenate `parts` into `target` through a temporary file, renamed into place only
    after size and sha256 match; a file lock keeps two processes from doing it at once."""
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        note("waiting for another marco process that is assembling the demo model")
        lock.acquire()
    try:
        if _demo_ready(entry):  # the other process finished it
            return
        total = sum(p.stat().st_size for p in parts)
        if total != entry.size:
            raise ModelError(
                f"the demo model's packages add up to {total} bytes, expected {entry.size}; "
                f"{_REINSTALL_DEMO}"
            )
        free = shutil.disk_usage(target.parent).free
        if free < entry.size:
            raise ModelError(
                f"not enough free disk space in {target.parent} to assemble the demo model "
                f"({format_size(entry.size)} needed); free some space or set MARCO_CACHE_DIR"
            )
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp: Path | None = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with (
                os.fdopen(fd, "wb") as out,
                _progress(total, "assembling the demo model") as advance,
            ):
                for part in parts:
                    with part.open("rb") as src:
                        while chunk := src.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            got = digest.hexdigest()
            if entry.sha256 and got != entry.sha256:
                raise ModelError(
                    f"the demo model assembled from its packages has sha256 {got}, expected "
                    f"{entry.sha256}; {_REINSTALL_DEMO}"
                )
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            tmp = None
            _remember_sha256(target, got)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    finally:
        lock.release()


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
            path = _hf_cached_path(spec)
            status = "cached" if path else "not cached"
            origin = spec.hf_name or ""
        else:
            path = demo_path(entry) if _demo_ready(entry) else None
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


# --------------------------------------------------------------------------------------------
# Hashing

_SHA256_MEMO: dict[tuple[str, int, int], str] = {}


def _memo_key(path: Path) -> tuple[str, int, int]:
    resolved = path.resolve()
    st = resolved.stat()
    return (str(resolved), st.st_size, st.st_mtime_ns)


def _remember_sha256(path: Path, digest: str) -> None:
    _SHA256_MEMO[_memo_key(path)] = digest


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of a file, read in chunks; memoized per (path, size, mtime) in-process."""
    key = _memo_key(Path(path))
    if key not in _SHA256_MEMO:
        digest = hashlib.sha256()
        with open(key[0], "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        _SHA256_MEMO[key] = digest.hexdigest()
    return _SHA256_MEMO[key]


# --------------------------------------------------------------------------------------------
# Small helpers


def format_size(size: int) -> str:
    """Decimal units, as model cards give them: 4680000000 -> '4.68 GB'."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def warn(message: str) -> None:
    """One `marco: warning: ...` line on stderr."""
    from rich.markup import escape

    from marco_cli.ui.console import stderr_console

    stderr_console().print(f"[bold yellow]marco: warning:[/] {escape(message)}", soft_wrap=True)


def note(message: str) -> None:
    """One dim `marco: ...` line on stderr."""
    from rich.markup import escape

    from marco_cli.ui.console import stderr_console

    stderr_console().print(f"[dim]marco: {escape(message)}[/]", soft_wrap=True)


@contextlib.contextmanager
def _progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A transient progress bar on stderr when it is a terminal; otherwise nothing."""
    from marco_cli.ui.console import stderr_console

    console = stderr_console()
    if not console.is_terminal:
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
