"""The config file and settings precedence: flag > MARCO_MODEL > section > top level > default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from marco_cli.errors import UsageError
from marco_cli.settings import (
    COMMANDS,
    SCHEMA,
    config_path,
    example_config,
    keys_for,
    load_config,
    resolve_settings,
    settings,
    settings_yaml,
)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def usage_error(path: Path) -> str:
    with pytest.raises(UsageError) as exc:
        load_config(path)
    assert "\n" not in exc.value.message
    return exc.value.message


# --------------------------------------------------------------------------------------------
# Where the file is


def test_default_path_is_in_the_user_config_folder(isolated_home: Path) -> None:
    assert config_path() == isolated_home / "config" / "marco" / "config.yaml"


def test_marco_config_and_explicit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CONFIG", str(tmp_path / "env.yaml"))
    assert config_path() == tmp_path / "env.yaml"
    assert config_path(tmp_path / "flag.yaml") == tmp_path / "flag.yaml"


def test_missing_default_file_is_empty_config() -> None:
    loaded = load_config()
    assert not loaded.exists and loaded.top == {} and loaded.sections == {}
    assert settings("solve", {})["ctx"] == 8192


def test_named_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(UsageError, match="missing.yaml.*MARCO_CONFIG"):
        load_config()
    with pytest.raises(UsageError, match="--config"):
        load_config(tmp_path / "other.yaml")


def test_empty_file(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, "# nothing yet\n")).top == {}


# --------------------------------------------------------------------------------------------
# Precedence


def test_builtin_defaults() -> None:
    values = settings("solve", {})
    assert values["model"] == "auto"
    assert values["ctx"] == 8192
    assert values["n_gpu_layers"] == -1
    assert values["threads"] is None
    assert values["max_tokens"] == 4096
    assert values["temperature"] == 0.0
    assert values["seed"] is None


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(
        tmp_path,
        "model: top-model\nctx: 1024\nmax_tokens: 100\nseed: 7\n"
        "solve:\n  model: section-model\n  ctx: 2048\n",
    )
    # config section > top level > default
    values = settings("solve", {}, path)
    assert (values["model"], values["ctx"], values["max_tokens"], values["seed"]) == (
        "section-model",
        2048,
        100,
        7,
    )
    assert values["temperature"] == 0.0
    # another command sees only the top level
    assert settings("translate", {}, path)["ctx"] == 1024
    # env (MARCO_MODEL) > config file
    monkeypatch.setenv("MARCO_MODEL", "env-model")
    assert settings("solve", {}, path)["model"] == "env-model"
    # flag > env; a None flag means "not given"
    values = settings("solve", {"model": "flag-model", "ctx": None, "seed": 0}, path)
    assert (values["model"], values["ctx"], values["seed"]) == ("flag-model", 2048, 0)


def test_only_model_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CTX", "99")
    monkeypatch.setenv("MARCO_MODEL", "demo")
    values = settings("solve", {})
    assert values["ctx"] == 8192 and values["model"] == "demo"


def test_marco_config_env_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CONFIG", str(write_config(tmp_path, "ctx: 4096\n")))
    assert settings("solve", {})["ctx"] == 4096


def test_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "ctx: 1024\nsolve:\n  seed: 3\n")
    monkeypatch.setenv("MARCO_MODEL", "demo")
    resolved = resolve_settings("solve", {"max_tokens": 5}, path)
    assert resolved.sources["model"] == "env MARCO_MODEL"
    assert resolved.sources["max_tokens"] == "flag"
    assert resolved.sources["seed"] == "config file [solve]"
    assert resolved.sources["ctx"] == "config file"
    assert resolved.sources["temperature"] == "default"


def test_command_keys(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "solve:\n  strategy: mcts\n  iterations: 8\n  exploration: 1\n  reflect: true\n"
        "translate:\n  strategy: direct\n  glossaries: [g.tsv, /abs/h.tsv]\n  tgt: en\n",
    )
    solve = settings("solve", {}, path)
    assert (solve["strategy"], solve["iterations"], solve["reflect"]) == ("mcts", 8, True)
    assert solve["exploration"] == 1.0 and isinstance(solve["exploration"], float)
    assert "glossaries" not in solve
    translate = settings("translate", {}, path)
    assert translate["strategy"] == "direct"
    assert translate["glossaries"] == [tmp_path / "g.tsv", Path("/abs/h.tsv")]
    assert translate["src"] == "auto" and translate["tgt"] == "en"
    assert translate["iterations"] == 8  # translate's own default; solve's section stays there
    bench = settings("bench", {}, path)
    assert bench["iterations"] == 16 and bench["reflect"] is None


def test_relative_prompts_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "prompts: my-prompts\n")
    assert settings("solve", {}, path)["prompts"] == tmp_path / "my-prompts"


def test_null_means_not_set(tmp_path: Path) -> None:
    path = write_config(tmp_path, "ctx: 1024\nsolve:\n  ctx: null\n  seed:\n")
    assert settings("solve", {}, path)["ctx"] == 1024


def test_flags_outside_the_schema_pass_through() -> None:
    values = settings("solve", {"hide_thought": True, "question": None})
    assert values["hide_thought"] is True and values["question"] is None


# --------------------------------------------------------------------------------------------
# Errors


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "model: demo\nctx: 1024\nsolve: [unclosed\n")
    message = usage_error(path)
    assert re.match(re.escape(str(path)) + r":\d+: not valid YAML", message), message
    assert message.startswith(f"{path}:3:") or message.startswith(f"{path}:4:")


def test_bad_indentation(tmp_path: Path) -> None:
    path = write_config(tmp_path, "solve:\n  strategy: mcts\n iterations: 3\n")
    assert usage_error(path).startswith(f"{path}:3: not valid YAML")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "model: demo\n\ntemprature: 0.5\n")
    message = usage_error(path)
    assert message.startswith(f"{path}:3: unknown key `temprature`")
    assert "temperature" in message  # the known keys are listed


def test_unknown_key_in_a_section(tmp_path: Path) -> None:
    path = write_config(tmp_path, "solve:\n  strategy: mcts\n  glossaries: [a.tsv]\n")
    assert usage_error(path).startswith(f"{path}:3: unknown key `solve.glossaries`")


def test_command_key_at_top_level_points_to_its_section(tmp_path: Path) -> None:
    path = write_config(tmp_path, "iterations: 4\n")
    message = usage_error(path)
    assert message.startswith(f"{path}:1: unknown key `iterations` at the top level")
    assert "`solve:`" in message


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("ctx: big\n", 1, "`ctx` must be an integer, not 'big'"),
        ("model: demo\nctx: true\n", 2, "`ctx` must be an integer, not true"),
        ("temperature: hot\n", 1, "`temperature` must be a number"),
        ("verbose: 1\n", 1, "`verbose` must be true or false"),
        ("model: [a, b]\n", 1, "`model` must be a string, not a list"),
        (
            "translate:\n  tgt: no\n",
            2,
            "`translate.tgt` must be a string, not false (YAML reads yes/no/on/off",
        ),
        ("translate:\n  glossaries: {a: b}\n", 2, "`translate.glossaries` must be a list of paths"),
        ("ctx: 10\n", 1, "`ctx` must be at least 256, not 10"),
        ("solve: 3\n", 1, "section `solve` must be a mapping"),
    ],
)
def test_wrong_types(tmp_path: Path, text: str, line: int, expected: str) -> None:
    path = write_config(tmp_path, text)
    message = usage_error(path)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message


def test_duplicate_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "ctx: 1024\nmodel: demo\nctx: 2048\n")
    assert usage_error(path) == f"{path}:3: `ctx` is set twice (first on line 1)"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write_config(tmp_path, "- model\n- ctx\n")
    assert usage_error(path).startswith(f"{path}:1: expected a mapping")


def test_errors_surface_through_settings(tmp_path: Path) -> None:
    path = write_config(tmp_path, "ctx: big\n")
    with pytest.raises(UsageError):
        settings("solve", {"ctx": 1024}, path)


# --------------------------------------------------------------------------------------------
# Rendering, all from the one schema


def test_settings_yaml_round_trips(tmp_path: Path) -> None:
    path = write_config(tmp_path, "translate:\n  glossaries: [a.tsv]\n  src: zh\n")
    resolved = resolve_settings("translate", {"seed": 5}, path)
    text = settings_yaml(resolved)
    assert f"# config file: {path}\n" in text
    assert "seed: 5  # flag" in text
    parsed = yaml.safe_load(text)
    assert parsed["glossaries"] == [str(tmp_path / "a.tsv")]
    assert parsed == {
        k: ([str(p) for p in v] if isinstance(v, list) else v)
        for k, v in resolved.values.items()
        if k in keys_for("translate")  # the flags without a config key are not shown
    }


def test_example_config_covers_the_schema_and_is_valid(tmp_path: Path) -> None:
    text = example_config()
    for setting in SCHEMA:
        if setting.sections:  # flags without a config key (--json, --config) are not in it
            assert re.search(rf"^# *{setting.name}: ", text, re.M), setting.name
    # Uncommenting every key line gives a valid config equal to the built-in defaults.
    uncommented = "\n".join(
        line[2:] for line in text.splitlines() if re.match(r"^# ( *)[a-z_]+:", line)
    )
    path = write_config(tmp_path, uncommented)
    for command in (*COMMANDS, None):
        from_file = resolve_settings(command, {}, path).values
        defaults = resolve_settings(command, {}, None).values
        assert from_file == defaults


# --------------------------------------------------------------------------------------------
# One declaration per option: choices, per-command defaults, keys no section reads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("solve:\n  action: words\n", "`solve.action` must be one of step, mini-64, mini-32"),
        ("translate:\n  strategy: fast\n", "`translate.strategy` must be one of direct, cot"),
        ("bench:\n  select: best\n", "`bench.select` must be one of reward, visits, vote"),
    ],
)
def test_fixed_value_sets_are_checked_in_the_file(tmp_path: Path, text: str, expected: str):
    assert expected in usage_error(write_config(tmp_path, text))


@pytest.mark.parametrize("key", ["strategy", "action"])
def test_bench_refuses_the_keys_it_never_read(tmp_path: Path, key: str) -> None:
    message = usage_error(write_config(tmp_path, f"bench:\n  {key}: x\n"))
    assert message.startswith(f"{tmp_path / 'config.yaml'}:2: unknown key `bench.{key}`: ")
    assert "--strategies" in message or "confidence" in message


def test_each_command_has_its_own_search_defaults() -> None:
    defaults = {c: settings(c) for c in COMMANDS}
    search = ("iterations", "branch", "early_stop", "reflect")
    assert [defaults["solve"][k] for k in search] == [16, 3, 5, None]
    assert [defaults["translate"][k] for k in search] == [8, 2, 3, False]
    assert [defaults["bench"][k] for k in search] == [16, 3, 5, None]
    assert all(defaults[c]["max_tokens"] == 4096 for c in COMMANDS)
    assert all(defaults[c]["search_tokens"] is None for c in COMMANDS)
    assert "#   iterations: 8  # mcts: search iterations" in example_config()


def test_help_states_each_commands_default() -> None:
    (iterations,) = (s for s in SCHEMA if s.name == "iterations")
    assert iterations.help_for("solve") == "mcts: search iterations (default 16)."
    assert iterations.help_for("translate") == "mcts: search iterations (default 8)."


def test_the_declared_choices_and_presets_are_the_librarys() -> None:
    """The declarations do not import the search (it would slow every `marco --help`); this
    keeps their value sets and defaults equal to the ones the library enforces."""
    from marco_cli.prompts import SYSTEM_PROMPTS
    from marco_cli.reasoning import STRATEGIES as SOLVE_STRATEGIES
    from marco_cli.search import SearchConfig
    from marco_cli.search.actions import ACTIONS
    from marco_cli.search.config import SELECT_MODES
    from marco_cli.search.reward import REWARDS
    from marco_cli.translate import SEARCH_DEFAULTS
    from marco_cli.translate import STRATEGIES as TRANSLATE_STRATEGIES

    declared = {(s.name, (s.sections or s.commands)[0]): s for s in SCHEMA}
    assert declared["action", "solve"].choices == ACTIONS
    assert declared["select", "solve"].choices == SELECT_MODES
    assert declared["reward", "solve"].choices == tuple(REWARDS)
    assert declared["strategy", "solve"].choices == SOLVE_STRATEGIES
    assert declared["strategy", "translate"].choices == TRANSLATE_STRATEGIES
    assert declared["system", "solve"].choices == SYSTEM_PROMPTS
    search = SearchConfig()
    for name in ("iterations", "branch", "early_stop", "exploration", "action", "select"):
        assert settings("solve")[name] == getattr(search, name), name
    assert {k: settings("translate")[k] for k in SEARCH_DEFAULTS} == SEARCH_DEFAULTS
    assert settings("solve")["max_tokens"] == search.max_tokens
