"""Files: marco's cache folder, and big files' size as people read it and their sha256
(computed once per process)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 8 * 1024 * 1024
"""How much of a big file is read at a time."""

_SHA256_MEMO: dict[tuple[str, int, int], str] = {}


def _memo_key(path: Path) -> tuple[str, int, int]:
    resolved = path.resolve()
    st = resolved.stat()
    return (str(resolved), st.st_size, st.st_mtime_ns)


def remember_sha256(path: Path, digest: str) -> None:
    """Record the digest of a file just written, so that `file_sha256` need not read it again."""
    _SHA256_MEMO[_memo_key(path)] = digest


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of a file, read in chunks; memoized per (path, size, mtime) in-process."""
    key = _memo_key(Path(path))
    if key not in _SHA256_MEMO:
        digest = hashlib.sha256()
        with open(key[0], "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        _SHA256_MEMO[key] = digest.hexdigest()
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
