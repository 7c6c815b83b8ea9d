"""`marco bench` and `marco bench report` through the real entry point.

The model is replaced by a scripted solve() here; tests/test_bench_demo.py runs the real one.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench_helpers import write_results

from marco_cli.bench.store import ResultStore, read_records
from marco_cli.cli import main
from marco_cli.errors import ContextOverflowError


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def flat(text: str) -> str:
    return " ".join(text.split())


def rec(pid: int, strategy: str, correct: bool, model: str, **extra) -> dict:
    return {
        "schema": 1,
        "dataset": "mgsm-en",
        "id": str(pid),
        "strategy": strategy,
        "sample": 0,
        "correct": correct,
        "complete": True,
        "generated_tokens": 100,
        "evaluated_tokens": 120,
        "seconds": 2.0,
        "reward": None,
        "model": {"name": model, "file": "x", "sha256": "0"},
        **extra,
    }


# --- bench report --------------------------------------------------------------------------------


def test_report_renders_a_file(tmp_path: Path, capsys) -> None:
    path = write_results(tmp_path / "a.jsonl", [rec(i, "cot", i < 3, "A") for i in range(1, 5)])
    code, out, err = run(capsys, "bench", "report", str(path))
    assert (code, err) == (0, "")
    assert "| mgsm-en | cot | 4 | 50.0 | 15.0–85.0 | 100 | 85.6 | 120 | 2.0 | 50.0 |" in out


def test_report_compares_two_files(tmp_path: Path, capsys) -> None:
    a = write_results(tmp_path / "a.jsonl", [rec(i, "cot", i < 3, "Model A") for i in range(1, 5)])
    b = write_results(tmp_path / "b.jsonl", [rec(i, "cot", True, "Model B") for i in range(1, 5)])
    code, out, _ = run(
        capsys, "bench", "report", str(a), str(b), "--report", str(tmp_path / "cmp.md")
    )
    assert code == 0
    assert "## Model A vs Model B" in out
    assert "| mgsm-en | cot | 4 | 50.0 | 100.0 | +50.0 | 0 | 2 | 0.5000 |" in out
    assert (tmp_path / "cmp.md").read_text(encoding="utf-8").count("| mgsm-en | cot |") == 3


def test_report_pairs_two_strategies_with_mcnemar(tmp_path: Path, capsys) -> None:
    # On 12 problems cot is right on 1-10, sc-5 on 1, 2, 11, 12: 8 vs 2 discordant pairs.
    records = [rec(i, "cot", i <= 10, "A") for i in range(1, 13)]
    records += [rec(i, "sc-5", i in (1, 2, 11, 12), "A") for i in range(1, 13)]
    path = write_results(tmp_path / "a.jsonl", records)
    code, out, _ = run(capsys, "bench", "report", str(path))
    assert code == 0
    assert "| mgsm-en | cot | sc-5 | 12 | 8 | 2 | 0.1094 |" in out
    code, out, _ = run(capsys, "bench", "report", str(path), "--json")
    assert json.loads(out)["paired"][0]["p_value"] == pytest.approx(0.109375)


def test_report_json(tmp_path: Path, capsys) -> None:
    path = write_results(tmp_path / "a.jsonl", [rec(1, "cot", True, "A")])
    code, out, _ = run(capsys, "bench", "report", str(path), "--json")
    data = json.loads(out)
    assert code == 0 and data["summary"][0]["accuracy"] == 1.0


def test_report_missing_file(tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "bench", "report", str(tmp_path / "nope.jsonl"))
    assert code == 2 and out == ""
    assert flat(err).startswith("marco: error: results file") and len(err.splitlines()) <= 2


# --- bench (math) with a scripted model ----------------------------------------------------------


@dataclass
class FakeResult:
    answer: str
    complete: bool = True
    generated_tokens: int = 20
    evaluated_tokens: int = 40
    seconds: float = 0.1
    reward: float | None = None
    search: dict | None = None


class FakeEngine:
    backend = "fake"
    model_name = "fake"

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Patch model resolution, engine loading and solve(); returns the list of solve calls."""
    import marco_cli.bench.runner as runner
    import marco_cli.cli.session as session
    import marco_cli.models as models
    from marco_cli.models import ResolvedModel

    model_file = tmp_path / "fake.gguf"
    model_file.write_bytes(b"GGUF fake")
    monkeypatch.setattr(
        models,
        "resolve_model",
        lambda name, **kw: ResolvedModel(path=model_file, display_name="Fake 1B", source="path"),
    )
    monkeypatch.setattr(session, "open_engine", lambda settings, resolved=None: FakeEngine())
    calls: list = []
    state = {"interrupt_at": None, "sigterm_at": None}

    def fake_solve(engine, question, options, prompts, **kwargs):
        calls.append((question, options))
        if state["interrupt_at"] == len(calls):
            raise KeyboardInterrupt
        if state["sigterm_at"] == len(calls):
            os.kill(os.getpid(), signal.SIGTERM)
        if question == state.get("overflow"):
            raise ContextOverflowError("the question needs 9999 tokens; raise --ctx")
        return FakeResult(answer="The answer is 18." if "Janet" in question else "I think 5.")

    monkeypatch.setattr(runner, "solve", fake_solve)
    toy = tmp_path / "toy.tsv"
    toy.write_text("Janet has ducks.\t18\nA robe?\t3\nHouse?\t70,000\n", encoding="utf-8")
    return calls, state, toy


def test_bench_runs_and_prints_the_table(scripted, tmp_path: Path, capsys) -> None:
    calls, _, toy = scripted
    out_file = tmp_path / "r.jsonl"
    code, out, err = run(
        capsys,
        "bench",
        "--dataset",
        str(toy),
        "--strategies",
        "cot,mcts-step",
        "--iterations",
        "2",
        "--out",
        str(out_file),
        "--report",
        str(tmp_path / "r.md"),
    )
    assert code == 0, err
    assert len(calls) == 6
    assert "| toy | cot | 3 | 33.3 |" in out and "| toy | mcts-step | 3 | 33.3 |" in out
    assert calls[1][1].search.iterations == 2
    records = read_records(out_file)
    assert len(records) == 6 and records[0]["model"]["name"] == "Fake 1B"
    assert len(records[0]["model"]["sha256"]) == 64
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert report.startswith("# marco bench") and "Fake 1B" in report and "| toy | cot |" in report


def test_bench_json(scripted, tmp_path: Path, capsys) -> None:
    _, _, toy = scripted
    code, out, _ = run(
        capsys,
        "bench",
        "-d",
        str(toy),
        "-s",
        "cot,mcts-step",
        "--limit",
        "1",
        "--json",
        "--out",
        str(tmp_path / "r.jsonl"),
    )
    data = json.loads(out)
    assert code == 0 and data["new"] == 2 and data["summary"][0]["accuracy"] == 1.0
    # Both right on the one problem: no discordant pair, p = 1.
    assert [(p["first"], p["second"], p["p_value"]) for p in data["paired"]] == [
        ("cot", "mcts-step", 1.0)
    ]


def test_bench_default_out_and_resume(scripted, capsys) -> None:
    calls, _, toy = scripted
    code, out, err = run(capsys, "bench", "-d", str(toy), "-s", "cot")
    assert code == 0
    path = Path(err.split("results: ")[1].split()[0])
    assert path.name == "fake-1b__toy.jsonl" and path.parent.name == "bench"
    assert "data" in str(path)  # under XDG_DATA_HOME of the test's isolated home
    # The same command again refuses to mix runs ...
    code, out, err = run(capsys, "bench", "-d", str(toy), "-s", "cot")
    assert code == 2 and "pass --resume" in flat(err)
    # ... and with --resume finds nothing left to do, but prints the table.
    code, out, err = run(capsys, "bench", "-d", str(toy), "-s", "cot", "--resume")
    assert code == 0 and len(calls) == 3 and "| toy | cot | 3 |" in out


def test_bench_interrupt_then_resume(scripted, tmp_path: Path, capsys) -> None:
    calls, state, toy = scripted
    out_file = tmp_path / "r.jsonl"
    state["interrupt_at"] = 2
    code, out, err = run(capsys, "bench", "-d", str(toy), "-s", "cot", "--out", str(out_file))
    assert code == 130 and out == ""
    assert "--resume" in flat(err) and "1 records are safe" in flat(err)
    assert len(read_records(out_file)) == 1
    state["interrupt_at"] = None
    code, out, _ = run(
        capsys, "bench", "-d", str(toy), "-s", "cot", "--out", str(out_file), "--resume"
    )
    assert code == 0 and [q for q, _ in calls[2:]] == ["A robe?", "House?"]
    assert len(out_file.read_text().splitlines()) == 3


def test_failed_attempts_exit_4(scripted, tmp_path: Path, capsys) -> None:
    _, state, toy = scripted
    state["overflow"] = "House?"
    code, out, err = run(capsys, "bench", "-d", str(toy), "-s", "cot", "--out", str(tmp_path / "r"))
    assert code == 4 and "| toy | cot | 3 | 33.3 |" in out
    assert "1 attempts failed" in flat(err) and "retried by --resume" in flat(err)


def test_sigterm_stops_like_ctrl_c(scripted, tmp_path: Path, capsys) -> None:
    calls, state, toy = scripted
    out_file = tmp_path / "r.jsonl"
    state["sigterm_at"] = 3
    code, out, err = run(capsys, "bench", "-d", str(toy), "-s", "cot", "--out", str(out_file))
    assert code == 130 and "--resume" in flat(err)
    assert len(read_records(out_file)) == 2
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored afterwards


def test_bench_refuses_a_locked_file(scripted, tmp_path: Path, capsys) -> None:
    calls, _, toy = scripted
    out_file = tmp_path / "r.jsonl"
    with ResultStore(out_file, resume=True):
        code, out, err = run(capsys, "bench", "-d", str(toy), "--out", str(out_file), "--resume")
    assert code == 1 and calls == []
    assert "being written by another marco bench run" in flat(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "beam"], "unknown strategy 'beam'"),
        (["-s", "cot,sc", "--match-tokens"], "--match-tokens needs an MCTS strategy"),
        (["-s", "sc-reflect"], "without reflection"),
        (["--suite", "fast"], "--suite takes math, speed or translate, not 'fast'"),
        (["--ids", "7"], "no problem with id 7"),
        (["--select", "best"], "--select takes reward, visits or vote, not 'best'"),
    ],
)
def test_usage_errors(scripted, capsys, args: list[str], message: str) -> None:
    calls, _, toy = scripted
    code, out, err = run(capsys, "bench", "-d", str(toy), *args)
    assert code == 2 and out == "" and message in flat(err) and calls == []


def test_help_is_fast_and_lists_report(capsys) -> None:
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0 and "report" in out and "--strategies" in out
