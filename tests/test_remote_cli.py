"""`marco solve`, `translate` and `bench` with --server, end to end through the CLI against a real
llama-server on the tiny model: no local model is resolved or loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from remote_stub import Stub, forwarding

from marco_cli.cli import main

pytestmark = pytest.mark.tiny


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_solve_mcts_runs_on_the_server(capsys, tiny_server: str, tmp_path: Path) -> None:
    # A model that does not exist: it must not be looked at when a server is given.
    missing = str(tmp_path / "absent.gguf")
    code, out, err = run(
        capsys, "solve", "--server", tiny_server, "--model", missing, "--strategy", "mcts",
        "--iterations", "3", "--max-tokens", "48", "--seed", "1", "--json", "--verbose",
        "What is 1+1?",
    )  # fmt: skip
    assert code in (0, 3), err  # the random tiny model rarely closes an answer: 3 is fine
    result = json.loads(out)
    assert result["strategy"] == "mcts" and result["generated_tokens"] > 0
    stats = result["search"]["stats"]
    assert stats["iterations"] == 3 and stats["generated"] > 0
    # Counted from what the server reports it computed: at least every unique token once.
    assert stats["eval_ratio"] >= 1.0
    assert f"on server {tiny_server} (llama-server" in err  # --verbose names the dialect


def test_solve_from_the_environment(capsys, monkeypatch, tiny_server: str) -> None:
    monkeypatch.setenv("MARCO_SERVER", tiny_server)
    code, _, err = run(capsys, "solve", "--max-tokens", "12", "--json", "hi")
    assert code == 3 and "max-tokens" in err  # ran on the server, stopped by its budget


def test_translate_runs_on_the_server(capsys, tiny_server: str) -> None:
    code, out, err = run(
        capsys, "translate", "--server", tiny_server, "--tgt", "en", "--strategy", "direct",
        "--max-tokens", "16", "--json", "你好",
    )  # fmt: skip
    assert code == 0, err
    record = json.loads(out.splitlines()[0])
    assert record["source"] == "你好"


def test_bench_runs_on_the_server_and_resumes(capsys, tiny_server: str, tmp_path: Path) -> None:
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 1+1?\t2\nWhat is 2+2?\t4\n", encoding="utf-8")
    out_file = tmp_path / "r.jsonl"
    args = (
        "bench", "--server", tiny_server, "-d", str(toy), "-s", "cot", "--max-tokens", "12",
        "--out", str(out_file), "--json",
    )  # fmt: skip
    code, out, err = run(capsys, *args, "--limit", "1")
    assert code == 0, err
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["model"] == {"name": "tiny-qwen2", "file": tiny_server, "sha256": ""}
    code, out, err = run(capsys, *args, "--resume")
    assert code == 0, err
    assert json.loads(out)["resumed"] == 1 and json.loads(out)["new"] == 1


@pytest.mark.parametrize("concurrency", ["1", "2"])
def test_a_server_that_stops_mid_bench_loses_nothing_finished(
    capsys, tiny_server: str, tmp_path: Path, concurrency: str
) -> None:
    first: list[list[int]] = []  # the first problem's prompt; its requests all extend it

    def second_problem(path: str, body: dict) -> bool:
        if path != "/completion":
            return False
        if not first:
            first.append(body["prompt"])
        return body["prompt"][: len(first[0])] != first[0]

    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 1+1?\t2\nWhat is 2+2?\t4\nWhat is 3+3?\t6\n", encoding="utf-8")
    out_file = tmp_path / "r.jsonl"
    args = ("bench", "-d", str(toy), "-s", "cot", "--max-tokens", "8", "--out", str(out_file))
    with Stub(forwarding(tiny_server, second_problem)) as stub:
        code, _, err = run(capsys, *args, "--server", stub.url, "--concurrency", concurrency)
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("marco: error:")]
    assert len(lines) == 1 and "closed" in lines[0], err
    kept = [json.loads(line) for line in out_file.read_text().splitlines()]
    # One at a time, the first problem finished before the server went; with two in flight
    # it may have been cut too: either way --resume runs exactly what is missing.
    assert len(kept) == 1 if concurrency == "1" else len(kept) <= 1
    code, out, err = run(capsys, *args, "--server", tiny_server, "--resume", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["resumed"] == len(kept) and result["new"] == 3 - len(kept)


def test_bench_keeps_problems_in_flight_and_spreads_them_over_servers(
    capsys, tiny_server: str, tmp_path: Path
) -> None:
    toy = tmp_path / "toy.tsv"
    toy.write_text("".join(f"What is {n}+{n}?\t{2 * n}\n" for n in range(1, 7)), encoding="utf-8")
    out_file = tmp_path / "r.jsonl"
    with Stub(forwarding(tiny_server, lambda path, body: False)) as second:
        code, out, err = run(
            capsys, "bench", "--server", f"{tiny_server},{second.url}", "--concurrency", "4",
            "-d", str(toy), "-s", "cot,mcts-step", "--iterations", "2", "--max-tokens", "8",
            "--out", str(out_file), "--json",
        )  # fmt: skip
    assert code == 0, err
    assert second.paths().count("POST /completion") > 0  # the second server got problems
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert sorted((r["id"], r["strategy"]) for r in records) == sorted(
        (str(n), s) for n in range(1, 7) for s in ("cot", "mcts-step")
    )
    # The same answers as one problem at a time: lanes change when, not what.
    code, out, err = run(
        capsys, "bench", "--server", tiny_server, "-d", str(toy), "-s", "cot,mcts-step",
        "--iterations", "2", "--max-tokens", "8", "--out", str(tmp_path / "one.jsonl"),
    )  # fmt: skip
    assert code == 0, err
    one = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]

    def answers(rows: list[dict]) -> dict:
        return {(r["id"], r["strategy"]): r["output"] for r in rows}

    assert answers(one) == answers(records)


def test_concurrency_needs_a_server(capsys, tmp_path: Path) -> None:
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 1+1?\t2\n", encoding="utf-8")
    code, _, err = run(capsys, "bench", "--concurrency", "2", "-d", str(toy), "-s", "cot")
    assert code == 2 and "--concurrency needs --server" in err
