"""Streams and closed outputs through the installed `marco` on the tiny model: translate emits
each line while its input is still open, JSON Lines records come whole, and a reader that goes
away (`| head`) ends marco quietly with the status shells expect for SIGPIPE."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

MARCO = str(Path(sys.executable).with_name("marco"))
SIGPIPE_STATUS = 141


def tiny_args(model: Path) -> list[str]:
    return [
        "--model",
        str(model),
        "--strategy",
        "direct",
        "--no-glossary",
        "--max-tokens",
        "4",
        "--threads",
        "2",
    ]


def env() -> dict[str, str]:
    return dict(os.environ, COLUMNS="1000")


def read_line(stream, timeout: float) -> bytes:
    """One line from a pipe, or what came before `timeout` seconds ran out."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        byte = os.read(fd, 1)  # one byte at a time: nothing of the next line is taken
        if not byte:
            break
        data += byte
    return data


def quiet(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def feed_with_pauses(tiny_model_path: Path, *extra: str) -> list[bytes]:
    """Send three lines a second apart, each only after the previous one's output arrived."""
    proc = subprocess.Popen(
        [MARCO, "translate", "--src", "zh", "--tgt", "en", *tiny_args(tiny_model_path), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    outputs = []
    try:
        for i, line in enumerate(["第一行", "第二行", "第三行"]):
            proc.stdin.write(f"{line}\n".encode())
            proc.stdin.flush()
            output = read_line(proc.stdout, timeout=120 if i == 0 else 60)
            assert output.endswith(b"\n"), f"no output for line {i + 1} while the pipe was open"
            outputs.append(output)
            time.sleep(1.0)  # a pause like a log's: the next line is not there yet
        proc.stdin.close()
        rest = proc.stdout.read()
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=60) in (0, 4), stderr  # 4: the random model left a line empty
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rest == b""
    quiet(stderr)
    return outputs


@pytest.mark.tiny
def test_translate_streams_each_line_before_the_next_arrives(tiny_model_path: Path) -> None:
    outputs = feed_with_pauses(tiny_model_path)
    assert len(outputs) == 3 and all(out.count(b"\n") == 1 for out in outputs)


@pytest.mark.tiny
def test_json_records_stream_whole(tiny_model_path: Path) -> None:
    outputs = feed_with_pauses(tiny_model_path, "--json")
    records = [json.loads(out) for out in outputs]  # each line a whole record
    assert [r["source"] for r in records] == ["第一行", "第二行", "第三行"]
    assert [r["line"] for r in records] == [1, 2, 3]


@pytest.mark.tiny
def test_translate_into_head_ends_quietly(tiny_model_path: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("".join(f"第{i}行\n" for i in range(64)), encoding="utf-8")
    command = (
        f"set -o pipefail; '{MARCO}' translate --src zh {' '.join(tiny_args(tiny_model_path))}"
        f" --batch 4 < '{big}' | head -1; echo status=$?"
    )
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, timeout=600, env=env(), text=True
    )
    quiet(result.stderr)
    first, status = result.stdout.splitlines()
    assert status == f"status={SIGPIPE_STATUS}", result.stderr
    assert "\n" not in first


@pytest.mark.tiny
def test_solve_with_a_closed_stdout_ends_quietly(tiny_model_path: Path) -> None:
    """`marco solve ... | head -c1` when head is gone before the answer is written: stdout's
    reader is closed here before marco writes anything."""
    proc = subprocess.Popen(
        [MARCO, "solve", "--model", str(tiny_model_path), "--max-tokens", "4"]
        + ["--threads", "2", "What is 2 plus 2?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=300)
    quiet(stderr.decode())
    assert proc.returncode == SIGPIPE_STATUS, stderr.decode()
    assert stderr.decode().strip() == ""  # nothing said: the reader chose to stop
