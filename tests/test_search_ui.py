"""Drawing search trees: the live display, folding, saved files and `marco show`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from fake_engine import Doc, FakeEngine
from rich.console import Console

from marco_cli.cli import main
from marco_cli.errors import UsageError
from marco_cli.reasoning import ReasoningTask
from marco_cli.search import SearchConfig, run_mcts
from marco_cli.ui.live_tree import LiveTree, load_tree_document, print_tree, render_tree

TASK = ReasoningTask(
    "<Thought>\n", "Wait! Maybe I made some mistakes! I need to rethink from scratch."
)
DOCS = (
    Doc("a1.\na2.\n</Thought>\n<Output>1</Output>", 0.9),
    Doc("a1.\nx2.\n</Thought>\n<Output>4</Output>", 0.6),
    Doc("b1.\nb2.\n</Thought>\n<Output>2</Output>", 0.5),
    Doc("c1.\n</Thought>\n<Output>2</Output>", 0.7),
)


def fake() -> FakeEngine:
    return FakeEngine("Q?", DOCS, fallback=Doc(" so it is 9.\n</Thought>\n<Output>9</Output>", 0.4))


def search(iterations: int = 10, **kwargs):
    eng = fake()
    config = SearchConfig(iterations=iterations, seed=3, early_stop=0)
    return run_mcts(eng, eng.prompt_tokens(), config, TASK, **kwargs)


def terminal(height: int = 60, width: int = 100) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=width, height=height), buffer


def draw(doc, **kwargs) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render_tree(doc, **kwargs))
    return console.file.getvalue()


def best_line(text: str) -> str:
    """The last line of the best path (the deepest ▶ line)."""
    return [line for line in text.splitlines() if "▶" in line and "N=" in line][-1]


def shows_answer_1(line: str) -> bool:
    """An answer node ("✔ 1") or a node whose rollout reached the answer ("⇢ 1")."""
    return re.search(r"[✔⇢] 1\b", line) is not None


def test_the_tree_shows_kinds_values_answers_and_a_footer():
    result = search()
    text = draw(result.to_json())
    for kind in ("root", "step", "answer", "reflect"):
        assert kind in text
    assert shows_answer_1(text) and "N=" in text and "Q=" in text and "c=" in text
    assert "best answer: 1" in text
    assert f"iteration {result.stats.iterations}/10" in text and "tok/s" in text
    assert "▶" in text  # the best path is marked
    lines = text.splitlines()
    assert len(lines) == len(result.tree) + 3  # every node, the answer, the footer, the legend
    assert lines[-1].startswith("N visits · Q mean value · c own confidence · ▶ best path")


def test_a_deep_nodes_answer_is_shown_whole_and_its_text_cut():
    """At 120 columns a rollout's answer was cut to "⇢ 4…" ("40 km/h") behind a long text."""
    nodes = [{"id": 0, "parent": None, "kind": "root", "children": [1]}]
    for i in range(1, 8):
        nodes[-1]["children"] = [i]
        nodes.append(
            {
                "id": i,
                "parent": i - 1,
                "kind": "step",
                "visits": 3,
                "q": 0.8,
                "confidence": 0.9,
                "text": "so the speed is distance over time " * 4,
                "children": [],
            }
        )
    nodes[-1]["rollout_answer"] = "40 km/h"
    doc = {
        "tree": {"nodes": nodes},
        "best_path": [0, 1, 2, 3, 4, 5, 6, 7],
        "iteration": 1,
        "iterations": 6,
    }
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(render_tree(doc))
    deepest = [line for line in console.file.getvalue().splitlines() if "N=3" in line][-1]
    assert "⇢ 40 km/h" in deepest
    assert deepest.endswith("…") and len(deepest) <= 120


def footer_iteration(doc) -> str:
    return next(line for line in draw(doc).splitlines() if "iteration " in line).split(" · ")[0]


@pytest.mark.parametrize("early_stop", [0, 1])
def test_the_live_trees_last_frame_counts_iterations_as_the_saved_tree(early_stop: int):
    """An early stop cuts off iterations in flight: every view counts the finished ones."""
    events = []
    eng = fake()
    config = SearchConfig(iterations=12, seed=3, early_stop=early_stop)
    result = run_mcts(eng, eng.prompt_tokens(), config, TASK, on_event=events.append)
    saved = result.to_json()
    last = events[-1].snapshot()
    assert events[-1].kind == "done"
    assert last["iteration"] == saved["iteration"] == result.stats.iterations
    assert footer_iteration(last) == footer_iteration(saved)
    assert footer_iteration(saved) == f"iteration {result.stats.iterations}/12"
    counts = [event.iteration for event in events]
    assert counts == sorted(counts)  # never counts back


@pytest.mark.parametrize("height", [8, 10, 12])
def test_folding_fits_the_height_and_keeps_the_best_path(height):
    result = search()
    assert len(result.tree) + 2 > height  # the whole tree would not fit
    text = draw(result.to_json(), max_lines=height)
    assert len(text.splitlines()) <= height
    assert "more (N=" in text
    assert shows_answer_1(best_line(text))  # the best path is never folded


def test_the_best_path_stays_even_when_the_height_is_too_small():
    result = search()
    text = draw(result.to_json(), max_lines=3)
    # the best path, at most one fold line per node on it, the answer and the footer
    assert len(text.splitlines()) <= 2 * len(result.path) + 2
    assert shows_answer_1(best_line(text))


def test_live_tree_renders_on_a_terminal_without_error():
    console, buffer = terminal(height=30)
    with LiveTree(console) as live:
        result = search(on_event=live)
    out = buffer.getvalue()
    assert "\x1b[" in out  # a real terminal drawing
    assert "answer" in out and "reflect" in out and shows_answer_1(out)
    assert result.complete


def test_live_tree_can_be_hidden_at_the_end():
    console, buffer = terminal(height=30)
    live = LiveTree(console, keep=False)
    live.start()
    search(on_event=live)
    live.stop()
    assert buffer.getvalue()  # drew, then erased; nothing raised


def test_the_live_tree_draws_only_when_something_changed():
    console, _ = terminal()
    live = LiveTree(console)
    live.start()
    search(iterations=3, on_event=live)
    import time

    time.sleep(0.4)  # idle: nothing new to draw (the clock ticks once a second)
    draws = live.draws
    time.sleep(0.4)
    assert live.draws - draws <= 1
    live.stop()


def test_the_live_tree_only_snapshots_on_events():
    class Event:
        kind = "iteration"
        calls = 0

        def snapshot(self):
            Event.calls += 1
            return {"tree": {"nodes": [{"id": 0, "parent": None, "kind": "root"}]}}

    console, _ = terminal()
    live = LiveTree(console)
    live(Event())
    assert Event.calls == 1
    console.print(live._renderable())  # drawn from the stored snapshot


def test_print_tree_once_and_save_load_round_trip(tmp_path: Path):
    result = search()
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(result.to_json()), encoding="utf-8")
    doc = load_tree_document(path)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    print_tree(console, doc)
    assert "best answer: 1" in console.file.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{", "not valid JSON"),
        ('{"format": "other"}', "not a marco search tree"),
        ('{"format": "marco-search-tree", "tree": {"nodes": [{"x": 1}]}}', "malformed"),
        ('{"format": "marco-search-tree", "tree": {"nodes": [{"id": 1, "parent": 7}]}}', "root"),
    ],
)
def test_bad_tree_files_are_usage_errors(tmp_path: Path, content, message):
    path = tmp_path / "tree.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_tree_document(path)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `marco ARGS`, run in this process."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_marco_show_renders_a_saved_tree(tmp_path: Path, capsys):
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(search().to_json()), encoding="utf-8")
    code, out, err = run_cli(capsys, "show", str(path))
    assert (code, err) == (0, "")
    assert "best answer: 1" in out and "reflect" in out
    code, out, _ = run_cli(capsys, "show", str(path), "--max-lines", "10")
    assert code == 0 and len(out.splitlines()) <= 10 and "more (N=" in out


def test_marco_show_errors_are_one_line(tmp_path: Path, capsys):
    code, out, err = run_cli(capsys, "show", str(tmp_path / "missing.json"))
    assert code == 2 and out == ""
    assert err.startswith("marco: error:") and "no such file" in " ".join(err.split())
    assert len(err.strip().splitlines()) <= 2  # one line (Rich may wrap a long path)
