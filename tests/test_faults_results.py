"""Faults around `marco bench`'s results file, with real `marco` processes on the tiny model:
`kill -9` at random moments then `--resume`, a full disk (a file-size limit), two runs on one
file and the lock a killed run leaves behind."""

from __future__ import annotations

import json
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from marco_cli.bench.store import read_records, record_key
from marco_cli.errors import ExitCode

PROBLEMS = 16
TIMING = ("seconds", "first_token_seconds", "time", "evaluated_tokens")
"""Record fields that differ between two runs of the same attempt: clocks, and the prompt tokens
evaluated, which depend on what the KV cache held (a resumed run starts with an empty one)."""
SUMMARY_TIMING = ("mean_seconds", "tokens_per_second", "mean_evaluated")

pytestmark = [
    pytest.mark.tiny,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and rlimits"),
]


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    path = tmp_path / "toy.tsv"
    path.write_text(
        "".join(f"What is {i} plus {i}?\t{2 * i}\n" for i in range(1, PROBLEMS + 1)),
        encoding="utf-8",
    )
    return path


def bench_args(model: Path, data: Path, out: Path, *extra: str, max_tokens: int = 12) -> list[str]:
    """A `marco bench` command line: the `marco` installed beside this Python, greedy cot."""
    marco = str(Path(sys.executable).with_name("marco"))
    options = ["-s", "cot", "--max-tokens", str(max_tokens), "--ctx", "1024", "--out", str(out)]
    return [marco, "bench", "--model", str(model), "-d", str(data), *options, *extra]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


def comparable(records: list[dict]) -> dict:
    return {record_key(r): {k: v for k, v in r.items() if k not in TIMING} for r in records}


def summary(stdout: str) -> list[dict]:
    rows = json.loads(stdout)["summary"]
    return [{k: v for k, v in row.items() if k not in SUMMARY_TIMING} for row in rows]


def line_keys(path: Path) -> Counter:
    """Keys of the complete lines of a results file (a torn last line is not counted)."""
    data = path.read_bytes() if path.exists() else b""
    complete = data[: data.rfind(b"\n") + 1]
    return Counter(record_key(json.loads(line)) for line in complete.splitlines() if line)


def test_kill_9_at_random_moments_then_resume(
    tiny_model_path: Path, toy: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.jsonl"
    done = run(bench_args(tiny_model_path, toy, reference, "--json"))
    assert done.returncode == 0, done.stderr
    total_seconds = float(json.loads(done.stdout)["summary"][0]["mean_seconds"]) * PROBLEMS

    out = tmp_path / "killed.jsonl"
    rng = random.Random(20261129)
    kills, torn = 0, 0
    for _ in range(40):  # at most; stops after 10 kills that hit a running process
        proc = subprocess.Popen(
            bench_args(tiny_model_path, toy, out, "--resume"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Model loading and start-up, then somewhere in the attempts.
        time.sleep(rng.uniform(0.3, 1.0 + total_seconds))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=300)
        torn += out.exists() and not out.read_bytes().endswith(b"\n")
        keys = line_keys(out)
        assert all(count == 1 for count in keys.values()), "a record was written twice"
        if keys:
            assert len(read_records(out)) == len(keys)  # readable, a torn last line ignored
        if kills == 10:
            break
        if len(keys) == PROBLEMS:  # finished before the kill: start over to keep killing
            out.unlink()
    assert kills == 10

    # A torn last line (what a kill inside a write leaves) is dropped with one notice.
    with open(out, "ab") as fh:
        fh.write(b'{"schema":1,"dataset":"toy","id":"')
    final = run(bench_args(tiny_model_path, toy, out, "--resume", "--json"))
    assert final.returncode == 0, final.stderr
    assert f"dropped a truncated last record in {out}" in " ".join(final.stderr.split())
    assert all(count == 1 for count in line_keys(out).values())
    assert len(line_keys(out)) == PROBLEMS  # every record exactly once, none lost
    assert comparable(read_records(out)) == comparable(read_records(reference))
    assert summary(final.stdout) == summary(done.stdout)
    print(f"kill -9 survived: {kills}, torn lines seen: {torn}, records lost: 0")


def _file_limit(limit: int):
    def apply() -> None:
        # Without SIGXFSZ ignored the process would die; ignored, write() fails with EFBIG.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_fails_in_one_line_and_resume_completes(
    tiny_model_path: Path, toy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "full.jsonl"
    full = run(bench_args(tiny_model_path, toy, out), preexec_fn=_file_limit(4000))
    assert full.returncode == ExitCode.ERROR, full.stderr
    lines = full.stderr.strip().splitlines()
    assert lines[-1].startswith(f"marco: error: cannot write to results file {out}")
    assert "File too large" in lines[-1] and "--resume" in lines[-1]
    assert "Traceback" not in full.stderr
    assert out.read_bytes().endswith(b"\n")  # the short write was cut off
    kept = read_records(out)
    assert 0 < len(kept) < PROBLEMS and len(line_keys(out)) == len(kept)

    resumed = run(bench_args(tiny_model_path, toy, out, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    records = read_records(out)
    assert len(records) == PROBLEMS and sum(line_keys(out).values()) == PROBLEMS
    assert comparable(kept).items() <= comparable(records).items()


def test_second_run_refuses_and_a_killed_runs_lock_does_not_block(
    tiny_model_path: Path, toy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "shared.jsonl"
    first = subprocess.Popen(
        # Long attempts, so that it is still writing when the second run starts.
        bench_args(tiny_model_path, toy, out, max_tokens=200),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stderr is not None
        assert first.stderr.readline().startswith("results:")  # printed once the lock is held
        lock = Path(f"{out}.lock")
        assert lock.exists()
        second = run(bench_args(tiny_model_path, toy, out, "--resume", max_tokens=200))
        assert second.returncode == ExitCode.ERROR
        assert second.stderr.count("\n") == 1 and second.stderr.startswith("marco: error:")
        assert "being written by another marco bench run" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    assert lock.exists()  # kill -9 leaves the lock file: it must not block the next run
    third = run(bench_args(tiny_model_path, toy, out, "--resume", "--limit", "2", max_tokens=200))
    assert third.returncode == 0, third.stderr
    assert {r["id"] for r in read_records(out)} >= {"1", "2"}
