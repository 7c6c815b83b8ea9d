"""`marco solve --strategy mcts` through the real entry point, on the scripted fake engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_engine import Doc, FakeEngine

import marco_cli.cli.session
from marco_cli.cli import main

GOOD = (
    Doc("a1.\na2.\n</Thought>\n<Output>1</Output>", 0.9),
    Doc("b1.\n</Thought>\n<Output>2</Output>", 0.5),
)
RAMBLING = (Doc("r1.\nr2.\n", 0.6),)  # ends its turn without an answer


def use_fake(monkeypatch: pytest.MonkeyPatch, docs, **kwargs) -> list[FakeEngine]:
    made: list[FakeEngine] = []

    def open_engine(settings):
        engine = FakeEngine("<assistant><Thought>\n", docs, fallback=Doc("more.\n", 0.3), **kwargs)
        made.append(engine)
        return engine

    monkeypatch.setattr(marco_cli.cli.session, "open_engine", open_engine)
    return made


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--strategy", "mcts", "--seed", "0", *args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_json_output_has_the_answer_and_the_search_statistics(monkeypatch, capsys):
    engines = use_fake(monkeypatch, GOOD)
    code, out, err = run(capsys, "--iterations", "3", "--json", "What is 1?")
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "1" and data["complete"] and data["strategy"] == "mcts"
    stats = data["search"]["stats"]
    assert stats["iterations"] == 3 and stats["generated"] > 0 and "eval_ratio" in stats
    assert data["search"]["config"]["seed"] == 0 and data["search"]["completed"]
    assert engines[0].closed


def test_plain_output_is_the_answer_and_search_options_reach_the_config(
    monkeypatch, capsys, tmp_path: Path
):
    engines = use_fake(monkeypatch, GOOD)
    tree = tmp_path / "tree.json"
    code, out, err = run(
        capsys, "--iterations", "2", "--branch", "2", "--action", "mini-32", "--select", "vote",
        "--no-reflect", "--early-stop", "0", "--temperature", "0.5", "--max-tokens", "500",
        "--search-tokens", "900", "--parallel", "1", "--save-tree", str(tree), "What is 1?",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "1"), err
    saved = json.loads(tree.read_text(encoding="utf-8"))
    config = saved["config"]
    assert (config["branch"], config["action"], config["select"]) == (2, "mini-32", "vote")
    assert (config["reflect"], config["early_stop"], config["temperature"]) == (False, 0, 0.5)
    # --max-tokens bounds one path, as it bounds one cot answer; --search-tokens the search.
    assert (config["max_tokens"], config["search_tokens"], config["parallel"]) == (500, 900, 1)
    assert all(r.sampling.temperature in (0.0, 0.5) for call in engines[0].calls for r in call)


def test_tree_flag_prints_the_final_tree_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    use_fake(monkeypatch, GOOD)
    code, out, err = run(capsys, "--iterations", "2", "--tree", "What is 1?")
    assert code == 0 and out.strip() == "1"
    assert "root" in err and "best answer: 1" in err
    code, out, err = run(capsys, "--iterations", "2", "What is 1?")
    assert code == 0 and "root" not in err  # no tree unless asked for


def test_no_completed_rollout_exits_3_with_the_best_partial_path(monkeypatch, capsys):
    use_fake(monkeypatch, RAMBLING)
    # 20 tokens a path leave no room to force an answer after the rambling
    code, out, err = run(capsys, "--iterations", "2", "--max-tokens", "20", "What is 1?")
    assert code == 3 and out == ""
    flat = " ".join(err.split())
    assert "completed no rollout" in flat and "best partial path" in flat and "r1." in flat


def test_a_rambling_rollout_is_given_an_answer_as_cot_gives_it(monkeypatch, capsys):
    use_fake(monkeypatch, RAMBLING)
    code, out, err = run(capsys, "--iterations", "2", "--json", "What is 1?")
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "more." and data["complete"]  # the fallback, after the forcing
    assert data["search"]["stats"]["forced"] > 0


def test_the_search_holds_the_answer_cot_gives(monkeypatch, capsys):
    # With --seed 3 every sampled root child follows the second document, so only the greedy
    # child brings the first one (cot's chain, answer "1") into the tree.
    docs = (
        Doc("a1.\na2.\n</Thought>\n<Output>1</Output>", 0.4),
        Doc("b1.\n</Thought>\n<Output>2</Output>", 0.9),
        Doc("c1.\n</Thought>\n<Output>3</Output>", 0.5),
    )
    use_fake(monkeypatch, docs)
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--seed", "3", "--json", "What is 1?"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    cot = json.loads(out)["answer"]
    args = ("--seed", "3", "--iterations", "6", "--early-stop", "0", "--json", "What is 1?")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    completed = [c["answer"] for c in json.loads(out)["search"]["completed"]]
    assert cot == "1" and cot in completed


def test_ctrl_c_prints_the_best_answer_so_far_and_exits_130(monkeypatch, capsys, tmp_path):
    batches = []

    def interrupt(requests):
        batches.append(requests)
        if len(batches) == 4:  # after the first iteration (sampling, 2 rollout chunks)
            raise KeyboardInterrupt

    use_fake(monkeypatch, GOOD, before_batch=interrupt)
    tree = tmp_path / "tree.json"
    code, out, err = run(capsys, "--iterations", "9", "--save-tree", str(tree), "What is 1?")
    assert code == 130 and out.strip() == "1"
    assert "interrupted" in err
    assert json.loads(tree.read_text(encoding="utf-8"))["interrupted"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--action", "words"], "--action takes step, mini-64 or mini-32, not 'words'"),
        (["--select", "best"], "--select takes reward, visits or vote, not 'best'"),
        (["--reward", "oracle"], "--reward takes confidence, confidence-geo or confidence-low"),
    ],
)
def test_bad_search_options_fail_before_loading_a_model(monkeypatch, capsys, args, message):
    engines = use_fake(monkeypatch, GOOD)
    code, out, err = run(capsys, *args, "What is 1?")
    assert code == 2 and message in " ".join(err.split()) and not engines


def test_save_tree_into_a_missing_folder_fails_before_searching(monkeypatch, capsys, tmp_path):
    engines = use_fake(monkeypatch, GOOD)
    code, out, err = run(capsys, "--save-tree", str(tmp_path / "no" / "t.json"), "What is 1?")
    assert code == 2 and "folder does not exist" in " ".join(err.split())
    assert not engines


@pytest.mark.parametrize("where", ["missing folder", "a folder", "read-only folder"])
def test_a_save_tree_file_that_cannot_be_written_fails_before_a_model_is_resolved(
    monkeypatch, capsys, tmp_path: Path, where: str
) -> None:
    """The real `open_engine`, with model resolution (which may mean a 4.7 GB download)
    recorded: a --save-tree that could not be written is refused before it is reached."""
    import os

    if where == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root may write into a read-only folder")
        (tmp_path / "ro").mkdir(mode=0o500)
    target = {
        "missing folder": tmp_path / "no" / "t.json",
        "a folder": tmp_path,
        "read-only folder": tmp_path / "ro" / "t.json",
    }[where]
    resolved: list[str] = []

    def resolve_model(name: str, **kwargs: object):
        resolved.append(name)
        raise AssertionError(f"resolved the model {name} before checking --save-tree")

    monkeypatch.setattr(marco_cli.cli.session, "resolve_model", resolve_model)
    code, out, err = run(capsys, "--model", "marco-o1", "--save-tree", str(target), "What is 1?")
    assert (code, out, resolved) == (2, "", [])
    [line] = err.splitlines()
    assert line.startswith(f"marco: error: cannot save the tree to {target}")


@pytest.mark.parametrize("command", ["solve", "translate", "bench"])
def test_help_states_the_search_defaults_the_command_uses(command, capsys, monkeypatch) -> None:
    from marco_cli.search import SearchConfig
    from marco_cli.translate import SEARCH_DEFAULTS

    defaults = SearchConfig(**SEARCH_DEFAULTS) if command == "translate" else SearchConfig()
    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"search iterations (default {defaults.iterations})" in out
    assert f"children per expansion (default {defaults.branch})" in out
    assert f"answers agree; 0 turns it off (default {defaults.early_stop})" in out


def test_command_search_lays_settings_over_a_commands_defaults(tmp_path: Path) -> None:
    from marco_cli.cli.search_settings import chosen_search, command_search
    from marco_cli.settings import resolve_settings

    flags = {"iterations": 3, "seed": 7, "max_tokens": 300, "config": None}
    translate = resolve_settings("translate", flags)
    config = command_search(translate, temperature=0.5)
    assert (config.iterations, config.branch, config.early_stop) == (3, 2, 3)
    assert config.reflect is False and config.seed == 7 and config.temperature == 0.5
    assert (config.max_tokens, config.search_tokens) == (300, None)
    solve_default = command_search(resolve_settings("solve", {}))
    assert (solve_default.iterations, solve_default.branch, solve_default.reflect) == (16, 3, True)
    assert (solve_default.max_tokens, solve_default.search_tokens) == (4096, None)

    # bench's translate suite: translate's search under what the user set for bench.
    path = tmp_path / "config.yaml"
    path.write_text("bench:\n  branch: 4\n  search_tokens: 999\n", encoding="utf-8")
    bench = resolve_settings("bench", {"early_stop": 0}, path)
    config = command_search(bench, "translate")
    assert (config.iterations, config.branch, config.early_stop, config.search_tokens) == (
        8,
        4,
        0,
        999,
    )
    # bench's math suite records only what the user set; the speed suite takes only flags.
    assert chosen_search(bench) == {"branch": 4, "search_tokens": 999, "early_stop": 0}
    assert chosen_search(bench, only_flags=True) == {"early_stop": 0}
