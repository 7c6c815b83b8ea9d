"""The results file: JSON Lines, one record per (dataset, problem, strategy, sample).

Records are appended as they complete, each with a single `os.write` on an `O_APPEND`
descriptor followed by `fsync`, so a killed run leaves every finished record intact and at
worst a truncated last line. Readers ignore such a line; `ResultStore.open` (the writer)
truncates it away before appending. A record that was written twice (a retried error)
counts once: the last one wins.

While a run writes, it holds an exclusive `filelock` on `<file>.lock` (an OS-level lock that
dies with the process, so a killed run never leaves a stale lock); a second run on the same
file fails at once with `ResultsLockedError`.

A write that fails (disk full, a file-size limit, an I/O error) is undone: the file is cut back
to its last complete record and `ResultsWriteError` is raised, so the records before it stay
readable and `--resume` carries on once the cause is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marco_cli.errors import MarcoError, UsageError

if TYPE_CHECKING:  # filelock loads when a results file is opened
    from filelock import BaseFileLock

__all__ = [
    "SCHEMA_VERSION",
    "ReadResult",
    "ResultStore",
    "ResultsLockedError",
    "ResultsWriteError",
    "default_results_path",
    "read_records",
    "record_key",
]

SCHEMA_VERSION = 1

Key = tuple[str, str, str, int]


class ResultsLockedError(MarcoError):
    """Another run holds the results file."""


class ResultsWriteError(MarcoError):
    """A record could not be written (disk full, file-size limit, I/O error)."""


def record_key(record: dict[str, Any]) -> Key:
    return (
        str(record["dataset"]),
        str(record["id"]),
        str(record["strategy"]),
        int(record.get("sample", 0)),
    )


@dataclass
class ReadResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    """Unique records (last one per key wins), in first-seen order."""
    lines: int = 0
    duplicates: int = 0
    truncated_tail: bool = False
    valid_bytes: int = 0
    """Length of the file up to the end of its last complete, valid line."""


def _scan(path: Path) -> ReadResult:
    result = ReadResult()
    by_key: dict[Key, dict[str, Any]] = {}
    data = path.read_bytes() if path.exists() else b""
    pos = 0
    line_no = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        complete = end >= 0
        raw = data[pos : end if complete else len(data)]
        line_no += 1
        next_pos = end + 1 if complete else len(data)
        if not raw.strip():
            pos = next_pos
            if complete:
                result.valid_bytes = pos
            continue
        try:
            record = json.loads(raw)
            key = record_key(record)
        except (ValueError, KeyError, TypeError):
            record = None
        if record is None or not complete:
            if next_pos >= len(data):
                # The last line: a write cut short by a kill. Ignore it; writers repair it.
                result.truncated_tail = True
                break
            raise UsageError(
                f"{path}:{line_no}: not a results record; the file is damaged "
                "(delete that line, or use another --out)"
            )
        result.lines += 1
        if key in by_key:
            result.duplicates += 1
            del by_key[key]  # re-insert so the order follows the latest record
        by_key[key] = record
        pos = next_pos
        result.valid_bytes = pos
    result.records = list(by_key.values())
    return result


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The unique records of a results file (a truncated last line is ignored)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"results file {path} does not exist")
    return _scan(path).records


class ResultStore:
    """An open, locked results file. Use as a context manager.

    `resume=False` refuses a file that already holds records (so results are never mixed by
    accident); `resume=True` loads them so the runner can skip what is done.
    """

    def __init__(self, path: str | Path, *, resume: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.resume = resume
        self.records: dict[Key, dict[str, Any]] = {}
        self.repaired = False
        self._fd: int | None = None
        self._lock: BaseFileLock | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> ResultStore:
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = str(self.path) + ".lock"
        lock = FileLock(lock_path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise ResultsLockedError(
                f"results file {self.path} is being written by another marco bench run "
                f"(lock {lock_path}): wait for it to finish, or choose another --out"
            ) from None
        self._lock = lock
        try:
            scan = _scan(self.path)
            if scan.records and not self.resume:
                raise UsageError(
                    f"results file {self.path} already holds {len(scan.records)} records: "
                    "pass --resume to continue or extend it, or choose another --out"
                )
            if scan.truncated_tail or (
                self.path.exists() and self.path.stat().st_size != scan.valid_bytes
            ):
                with open(self.path, "r+b") as fh:
                    fh.truncate(scan.valid_bytes)
                self.repaired = True
            self.records = {record_key(r): r for r in scan.records}
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ResultStore:
        return self.open() if self._fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- records ---------------------------------------------------------------------------
    def done(self, key: Key) -> bool:
        """Whether `key` already has a record that need not be redone (errors are retried)."""
        record = self.records.get(key)
        return record is not None and not record.get("error")

    def get(self, key: Key) -> dict[str, Any] | None:
        return self.records.get(key)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.records.values()))

    def __len__(self) -> int:
        return len(self.records)

    def _follow_path(self) -> None:
        """Write to the file the path names now. When it was replaced under the run (a `git
        stash`, an editor saving a copy, `mv`), records appended to the old file would vanish
        with it; the lock file is separate and stays held."""
        assert self._fd is not None
        try:
            same = os.path.samestat(os.stat(self.path), os.fstat(self._fd))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably (one write, then fsync)."""
        if self._fd is None:
            raise RuntimeError("ResultStore.append on a closed store")
        record = {"schema": SCHEMA_VERSION, **record}
        key = record_key(record)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        data = (line + "\n").encode()
        self._follow_path()
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            # A short write leaves part of a line; cutting it off keeps the file ending on a
            # complete record (shrinking needs no space, and is allowed over RLIMIT_FSIZE).
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            raise ResultsWriteError(
                f"cannot write to results file {self.path} ({exc.strerror or exc}); the "
                f"{len(self.records)} records before are intact: free space (or raise the "
                "file-size limit), then rerun with --resume"
            ) from None
        self.records.pop(key, None)
        self.records[key] = record


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._").lower() or "model"


def default_results_path(model: str, datasets: list[str]) -> Path:
    """`<user data dir>/marco/bench/<model>__<dataset+dataset>.jsonl`: the same command finds the
    same file again, so `--resume` needs no `--out`."""
    import platformdirs

    name = f"{_slug(model)}__{'+'.join(_slug(d) for d in datasets)}.jsonl"
    return Path(platformdirs.user_data_dir("marco")) / "bench" / name
