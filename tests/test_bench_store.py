"""The results file: durable appends, truncated-tail repair, resume after a kill, the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench_helpers import REPO_ROOT

from marco_cli.bench.store import ResultsLockedError, ResultStore, read_records
from marco_cli.errors import UsageError


def rec(i: int, strategy: str = "cot", **extra: object) -> dict:
    return {
        "dataset": "d",
        "id": str(i),
        "strategy": strategy,
        "sample": 0,
        "correct": True,
        **extra,
    }


def test_append_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.jsonl"
    with ResultStore(path) as store:
        store.append(rec(1, question="中文"))
        store.append(rec(2))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "中文" in lines[0]  # UTF-8, not \u escapes
    records = read_records(path)
    assert [r["id"] for r in records] == ["1", "2"]
    assert records[0]["schema"] == 1


def test_a_file_replaced_or_deleted_under_the_run_gets_the_next_records(tmp_path: Path) -> None:
    # `git stash` / `git stash pop`, or an editor saving a copy, puts a new file at the path: the
    # records must go on landing where the user looks, not into the unlinked old file.
    path = tmp_path / "r.jsonl"
    with ResultStore(path) as store:
        store.append(rec(1))
        copy = tmp_path / "copy.jsonl"
        copy.write_bytes(path.read_bytes())
        os.replace(copy, path)
        store.append(rec(2))
        assert [r["id"] for r in read_records(path)] == ["1", "2"]
        path.unlink()
        store.append(rec(3))
    assert [r["id"] for r in read_records(path)] == ["3"]


def test_existing_file_needs_resume(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultStore(path) as store:
        store.append(rec(1))
    with pytest.raises(UsageError, match="pass --resume"), ResultStore(path):
        pass
    with ResultStore(path, resume=True) as store:
        assert store.done(("d", "1", "cot", 0))
        assert not store.done(("d", "2", "cot", 0))


def test_truncated_last_line_is_ignored_then_repaired(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = json.dumps(rec(1)) + "\n" + json.dumps(rec(2)) + "\n"
    path.write_text(good + '{"dataset": "d", "id": "3", "stra', encoding="utf-8")
    assert [r["id"] for r in read_records(path)] == ["1", "2"]
    with ResultStore(path, resume=True) as store:
        assert store.repaired
        assert len(store) == 2
        store.append(rec(3))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2", "3"]


def test_damaged_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(rec(1)) + "\nnot json\n" + json.dumps(rec(2)) + "\n")
    with pytest.raises(UsageError, match=r"r\.jsonl:2: not a results record"):
        read_records(path)


def test_last_record_per_key_wins_and_errors_are_retried(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultStore(path) as store:
        store.append(rec(1, error="context overflow", correct=False))
        assert not store.done(("d", "1", "cot", 0))
        store.append(rec(1))
        assert store.done(("d", "1", "cot", 0))
    records = read_records(path)
    assert len(records) == 1 and records[0]["correct"] is True
    assert len(path.read_text().splitlines()) == 2


# --- concurrency and kills, with real processes ------------------------------------------------

_WRITER = """
import sys, time
from marco_cli.bench.store import ResultStore
path, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with ResultStore(path, resume=True) as store:
    print("locked", flush=True)
    for i in range(count):
        key = ("d", str(i), "cot", 0)
        if store.done(key):
            continue
        store.append({"dataset": "d", "id": str(i), "strategy": "cot", "sample": 0,
                      "correct": i % 2 == 0, "pad": "x" * 2000})
        print("wrote", i, flush=True)
        time.sleep(pause)
print("finished", flush=True)
"""


def _writer(path: Path, count: int, pause: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(count), str(pause)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc: subprocess.Popen, prefix: str) -> str:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"writer exited before printing {prefix!r}")
        if line.startswith(prefix):
            return line


def test_lock_contention(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    proc = _writer(path, 1000, 0.05)
    try:
        _wait_for(proc, "locked")
        with pytest.raises(ResultsLockedError) as info, ResultStore(path, resume=True):
            pass
        assert "another marco bench run" in info.value.message
        assert "--out" in info.value.message
    finally:
        proc.kill()
        proc.wait()
    # The lock died with the process: no stale lock to clean up.
    with ResultStore(path, resume=True) as store:
        assert store.path == path


def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    total = 40
    proc = _writer(path, total, 0.02)
    try:
        _wait_for(proc, "wrote 9")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    # Simulate the worst case too: a record cut short by the kill.
    with open(path, "ab") as fh:
        fh.write(b'{"dataset": "d", "id": "999", "str')
    before = read_records(path)
    assert len(before) >= 10
    proc = _writer(path, total, 0.0)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "finished" in out
    lines = path.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert sorted(ids, key=int) == [str(i) for i in range(total)]  # none lost, none twice
    assert len(read_records(path)) == total


def test_kill_during_appends_always_leaves_a_readable_file(tmp_path: Path) -> None:
    """Kill a fast writer at arbitrary moments: the file stays readable every time."""
    path = tmp_path / "r.jsonl"
    for _ in range(3):
        proc = _writer(path, 100_000, 0.0)
        _wait_for(proc, "wrote")
        time.sleep(0.05)
        proc.kill()
        proc.wait()
        records = read_records(path)
        assert records and len({r["id"] for r in records}) == len(records)
