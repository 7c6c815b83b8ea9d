"""A tiny real bench on the demo model (Qwen2.5-Coder-0.5B) through the real CLI:
2 MGSM problems, `cot` and `mcts-step` with 2 iterations, small budgets; then a resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_helpers import MGSM_MISSING, mgsm_dir

from marco_cli.bench.store import read_records
from marco_cli.cli import main

DEMO_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.demo
def test_tiny_bench_on_the_demo_model(
    demo_model_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = mgsm_dir()
    if folder is None:
        pytest.skip(MGSM_MISSING)
    monkeypatch.setenv("MARCO_MGSM_DIR", str(folder))
    out_file = tmp_path / "results.jsonl"
    args = [
        "bench",
        "--model",
        str(demo_model_path),
        "--dataset",
        "mgsm-en",
        "--strategies",
        "cot,mcts-step",
        "--limit",
        "2",
        "--iterations",
        "2",
        "--branch",
        "2",
        "--max-tokens",
        "96",
        "--ctx",
        "2048",
        "--out",
        str(out_file),
    ]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    records = read_records(out_file)
    assert sorted((r["id"], r["strategy"]) for r in records) == [
        ("1", "cot"),
        ("1", "mcts-step"),
        ("2", "cot"),
        ("2", "mcts-step"),
    ]
    for r in records:
        assert r["model"]["sha256"] == DEMO_SHA256
        assert r["reference"] in ("18", "3") and isinstance(r["correct"], bool)
        assert r["generated_tokens"] > 0 and r["evaluated_tokens"] > 0 and r["seconds"] > 0
        assert r["error"] is None
    mcts = [r for r in records if r["strategy"] == "mcts-step"]
    assert all(r["options"]["search"]["iterations"] == 2 for r in mcts)
    assert all(r["options"]["search"]["reflect"] is False for r in mcts)
    assert "| mgsm-en | cot | 2 |" in out and "| mgsm-en | mcts-step | 2 |" in out

    # Resuming a finished run does no work and prints the same table.
    lines = out_file.read_text(encoding="utf-8").splitlines()
    code, again, err = run(capsys, *args, "--resume")
    assert code == 0, err
    assert out_file.read_text(encoding="utf-8").splitlines() == lines
    assert again == out
