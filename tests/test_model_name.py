"""One name for a model in every output: the registry's for an alias, the GGUF header's
`general.name` for any other file. `solve --json`, bench records and the speed suite used to name
the same model three ways (the header's name, the registry's, the alias)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_search_ui import run_cli

from marco_cli.cli import session as session_module
from marco_cli.models import ResolvedModel, resolve_model
from marco_cli.models.gguf_header import header_name


@pytest.mark.tiny
def test_an_unknown_file_is_named_by_its_header(tiny_model_path: Path) -> None:
    assert header_name(tiny_model_path) == "tiny-qwen2"
    assert resolve_model(str(tiny_model_path)).display_name == "tiny-qwen2"


def test_a_file_without_a_header_name_is_named_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    assert resolve_model(str(path)).display_name == "m"


@pytest.mark.tiny
def test_solve_json_and_bench_records_name_the_model_alike(
    tiny_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "solve", "--json", "-m", str(tiny_model_path), "--max-tokens", "4", "hi"
    )
    assert code in (0, 3), err
    assert json.loads(out)["model"] == "tiny-qwen2"
    toy = tmp_path / "toy.tsv"
    toy.write_text("1+1?\t2\n", encoding="utf-8")
    results = tmp_path / "r.jsonl"
    args = ["bench", "-m", str(tiny_model_path), "-d", str(toy), "-s", "cot"]
    code, _, err = run_cli(capsys, *args, "--max-tokens", "4", "--out", str(results))
    assert code in (0, 4), err
    record = json.loads(results.read_text(encoding="utf-8").splitlines()[0])
    assert record["model"]["name"] == "tiny-qwen2"


@pytest.mark.tiny
def test_a_registry_model_is_named_by_the_registry_not_its_header(
    tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quantized file's header often keeps another name ("Qwen2.5 Coder 0.5B Instruct AWQ"
    for the demo's Q4_K_M file): an alias's output uses the registry's name."""
    registered = ResolvedModel(
        path=tiny_model_path, display_name="Tiny Registered Q4_K_M", source="demo", alias="tiny"
    )
    monkeypatch.setattr(session_module, "resolve_model", lambda *_a, **_k: registered)
    code, out, err = run_cli(capsys, "solve", "--json", "-m", "tiny", "--max-tokens", "4", "hi")
    assert code in (0, 3), err
    assert json.loads(out)["model"] == "Tiny Registered Q4_K_M"
