"""`marco models ...` and `marco config ...` through the real entry point (no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from marco_cli.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `marco ARGS` in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def flat(text: str) -> str:
    """Messages with Rich's line wrapping undone (see test_error_is_one_line)."""
    return " ".join(text.split())


def test_models_list_plain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "models", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "alias\tsize\tstatus\tpath\tdescription\tquant"
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert list(rows)[:2] == ["marco-o1", "marco-o1:q8_0"]
    assert "demo" in rows and "marco-o1:q4_k_m" not in rows
    assert rows["marco-o1"][1:4] == ["~4.68 GB", "not cached", "-"]
    assert rows["marco-o1"][5] == "Q4_K_M" and rows["marco-o1:q8_0"][5] == "Q8_0"
    assert rows["demo"][1] == "491.40 MB"
    assert rows["demo"][2] in ("ready", "installed")
    assert rows["demo-1.5b"][1] == "1.12 GB"
    assert rows["demo-1.5b"][2] in ("ready", "installed", "not installed")


def test_models_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    data = json.loads(out)
    by_alias = {row["alias"]: row for row in data}
    assert (
        by_alias["marco-o1:iq4_xs"]["origin"] == "hf:bartowski/Marco-o1-GGUF/Marco-o1-IQ4_XS.gguf"
    )
    assert by_alias["demo"]["size"] == 491_400_064 and by_alias["demo"]["size_exact"] is True
    big = by_alias["demo-1.5b"]
    assert (big["size"], big["size_exact"]) == (1_117_320_768, True)
    assert (big["source"], big["origin"]) == ("demo", 'pip extra "marco-cli[demo-1-5b]"')
    assert big["display_name"] == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"


@pytest.mark.demo
def test_models_path_demo(capsys: pytest.CaptureFixture[str], demo_model_path: Path) -> None:
    code, out, err = run(capsys, "models", "path", "demo")
    assert (code, out, err) == (0, f"{demo_model_path}\n", "")


@pytest.mark.demo
def test_models_path_auto_takes_an_installed_embedded_model(
    capsys: pytest.CaptureFixture[str], demo_model_path: Path
) -> None:
    code, out, err = run(capsys, "models", "path", "auto")
    # demo-1.5b when its extra is installed too, else demo; both live beside each other
    assert code == 0 and Path(out.strip()).parent == demo_model_path.parent
    assert len(err.splitlines()) == 1
    assert flat(err).startswith("marco: using the embedded model demo")


def test_models_path_of_a_local_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert run(capsys, "models", "path", str(model)) == (0, f"{model}\n", "")


@pytest.mark.parametrize("extra", [[], ["--download"]])
def test_models_path_hf_offline_fails_cleanly(
    capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, out, err = run(capsys, "models", "path", "hf:x/y/z.gguf", *extra)
    assert code == 1
    assert out == ""
    assert err.startswith("marco: error: ")
    assert "Traceback" not in err
    assert "marco models pull hf:x/y/z.gguf" in flat(err)


def test_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "models", "path", "hf:x/y/z.gguf", "--download")
    assert code == 1
    assert len(err.splitlines()) == 1, err


def test_models_pull_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "models", "pull", "marco-o1:q3_k_m")
    assert (code, out) == (1, "")
    assert "HF_HUB_OFFLINE" in flat(err)


def test_unknown_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "models", "path", "marco-o2")
    assert (code, out) == (2, "")
    assert "unknown model 'marco-o2'" in flat(err)


def test_config_path(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "config", "path") == (
        0,
        f"{isolated_home / 'config' / 'marco' / 'config.yaml'}\n",
        "",
    )
    monkeypatch.setenv("MARCO_CONFIG", "/somewhere/marco.yaml")
    assert run(capsys, "config", "path")[1] == "/somewhere/marco.yaml\n"


def test_config_show(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("ctx: 2048\nsolve:\n  strategy: mcts\n")
    monkeypatch.setenv("MARCO_MODEL", "demo")
    code, out, err = run(capsys, "config", "show", "solve", "--config", str(path))
    assert (code, err) == (0, "")
    values = yaml.safe_load(out)
    assert (values["model"], values["ctx"], values["strategy"]) == ("demo", 2048, "mcts")
    assert "strategy: mcts  # config file [solve]" in out
    code, out, _ = run(capsys, "config", "show", "--config", str(path))
    assert code == 0 and "strategy" not in yaml.safe_load(out)


def test_config_show_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("ctx: [1\n")
    code, out, err = run(capsys, "config", "show", "--config", str(path))
    assert (code, out) == (2, "")
    assert f"{path}:2: not valid YAML" in flat(err)


def test_config_show_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "show", "frobnicate")
    assert code == 2 and "solve, translate, bench" in flat(err)


def test_config_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "example")
    assert code == 0 and "# solve:" in out
    assert yaml.safe_load(out) is None  # everything is commented out


def test_subprocess_offline_error(isolated_home: Path) -> None:
    """The installed entry point, as a user runs it: exit 1, stderr only, no traceback."""
    env = {**os.environ, "COLUMNS": "1000"}
    proc = subprocess.run(
        [sys.executable, "-m", "marco_cli", "models", "path", "hf:x/y/z.gguf", "--download"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("marco: error: ")
