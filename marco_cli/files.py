"""Files: marco's cache folder, and big files' size as people read it and their sha256
(computed once, then remembered by path, size and mtime in marco's cache folder)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CHUNK = 8 * 1024 * 1024
"""How much of a big file is read at a time."""

_SHA256_MEMO: dict[tuple[str, int, int], str] = {}


def _memo_key(path: Path) -> tuple[str, int, int]:
    resolved = path.resolve()
    st = resolved.stat()
    return (str(resolved), st.st_size, st.st_mtime_ns)


def _store_path() -> Path:
    return cache_dir() / "sha256.json"


def _records() -> dict[str, Any]:
    """What earlier processes recorded: path -> {"size", "mtime_ns", "sha256"}."""
    try:
        records = json.loads(_store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def _stored(key: tuple[str, int, int]) -> str | None:
    """The digest recorded for `key` by an earlier process, if the record still matches."""
    record = _records().get(key[0])
    if isinstance(record, dict) and [record.get("size"), record.get("mtime_ns")] == list(key[1:]):
        digest = record.get("sha256")
        return digest if isinstance(digest, str) else None
    return None


def _store(key: tuple[str, int, int], digest: str) -> None:
    """Record a digest for later processes. Written through a temporary file renamed into place;
    two processes storing at once can lose one record, which only costs one more hashing."""
    store = _store_path()
    records = _records()
    records[key[0]] = {"size": key[1], "mtime_ns": key[2], "sha256": digest}
    # Records of deleted files would pile up otherwise.
    records = {path: rec for path, rec in records.items() if os.path.exists(path)}
    with contextlib.suppress(OSError):  # a read-only cache only costs hashing again next time
        store.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sha256.", suffix=".tmp", dir=store.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(records, out, indent=1)
        os.replace(tmp, store)


def remember_sha256(path: Path, digest: str) -> None:
    """Record the digest of a file just written, so that `file_sha256` need not read it again."""
    key = _memo_key(path)
    _SHA256_MEMO[key] = digest
    _store(key, digest)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of a file, read in chunks once: remembered per (path, size, mtime) in
    this process and in marco's cache folder for later ones (a model file is gigabytes)."""
    key = _memo_key(Path(path))
    if key not in _SHA256_MEMO:
        digest = _stored(key)
        if digest is None:
            hasher = hashlib.sha256()
            with open(key[0], "rb") as f:
                while chunk := f.read(CHUNK):
                    hasher.update(chunk)
            digest = hasher.hexdigest()
            _store(key, digest)
        _SHA256_MEMO[key] = digest
    return _SHA256_MEMO[key]


def format_size(size: int) -> str:
    """Decimal units, as model cards give them: 4680000000 -> '4.68 GB'."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def cache_dir() -> Path:
    """marco's own cache folder: MARCO_CACHE_DIR, else the platform's user cache folder."""
    if os.environ.get("MARCO_CACHE_DIR"):
        return Path(os.environ["MARCO_CACHE_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("marco"))
