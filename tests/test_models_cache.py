"""`marco models list` over the GGUF files of the Hugging Face cache and marco's cache, and
`marco models rm` (no network; a fake hub cache laid out as huggingface_hub lays it out)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from hf_cache import MAIN, add_file, empty_hub

from marco_cli.cli import main
from marco_cli.models import list_models

REPO = "bartowski/Marco-o1-GGUF"


@pytest.fixture
def hf_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return empty_hub(tmp_path, monkeypatch)


@pytest.fixture
def marco_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """marco's own cache, empty (not the session's, which may hold the assembled demo)."""
    cache = tmp_path / "marco-cache"
    monkeypatch.setenv("MARCO_CACHE_DIR", str(cache))
    return cache


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def terminal(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    """A stdin that is a terminal on which the user types `answer`."""
    stdin = io.StringIO(answer)
    stdin.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", stdin)


def test_list_shows_every_cached_gguf(hf_hub: Path, marco_cache: Path) -> None:
    q8 = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"q8" * 10)
    other = add_file(hf_hub, "someone/Other-GGUF", "Other-IQ4_XS.gguf", b"x" * 7)
    add_file(hf_hub, "someone/Other-GGUF", "README.md", b"not a model")
    old = add_file(
        hf_hub, "someone/Other-GGUF", "Other-F16.gguf", b"f" * 3, commit="b" * 40, ref=None
    )
    stale = marco_cache / "demo" / "qwen2.5-0.5b-instruct-q8_0.gguf"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"s" * 5)
    rows = {row.alias: row for row in list_models()}
    # the alias row stands for Marco-o1 Q8_0: no second row for that file
    assert rows["marco-o1:q8_0"].path == q8 and rows["marco-o1:q8_0"].status == "cached"
    assert [r for r in rows.values() if r.path == q8] == [rows["marco-o1:q8_0"]]
    row = rows["someone/Other-GGUF:IQ4_XS"]
    assert (row.path, row.size, row.size_exact, row.quant) == (other, 7, True, "IQ4_XS")
    assert row.origin == f"hf:someone/Other-GGUF@{MAIN}/Other-IQ4_XS.gguf"
    # a revision main no longer points to is named with its commit
    assert rows[f"hf:someone/Other-GGUF@{'b' * 40}/Other-F16.gguf"].path == old
    assert rows[str(stale)].quant == "Q8_0" and rows[str(stale)].size == 5
    assert not any(name.endswith("README.md") for name in rows)


def test_list_json_and_plain_name_the_cached_files(
    hf_hub: Path, marco_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_file(hf_hub, "someone/Other-GGUF", "Other-Q5_K_M.gguf", b"x" * 2_500_000)
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    [row] = [r for r in json.loads(out) if r["alias"] == "someone/Other-GGUF:Q5_K_M"]
    assert (row["size"], row["quant"], row["status"]) == (2_500_000, "Q5_K_M", "cached")
    code, out, _ = run(capsys, "models", "list")
    [line] = [line for line in out.splitlines() if line.startswith("someone/Other-GGUF:Q5_K_M")]
    assert line.split("\t")[1:3] == ["2.50 MB", "cached"] and line.endswith("\tQ5_K_M")


def test_rm_yes_deletes_link_and_blob_and_keeps_the_rest(
    hf_hub: Path, marco_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    q8 = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"q8")
    q4 = add_file(hf_hub, REPO, "Marco-o1-Q4_K_M.gguf", b"q4")
    blob = q8.resolve()
    code, _, err = run(capsys, "models", "rm", "--yes", f"{REPO}:Q8_0")
    assert code == 0, err
    assert f"deleted {REPO}:Q8_0" in err
    assert not os.path.lexists(q8) and not blob.exists()
    assert q4.read_bytes() == b"q4"
    assert [row.alias for row in list_models() if row.status == "cached"] == ["marco-o1"]


def test_rm_keeps_a_blob_another_revision_uses(
    hf_hub: Path, marco_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"same", commit="b" * 40, ref=None)
    new = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"same")
    code, _, err = run(capsys, "models", "rm", "-y", "marco-o1:q8_0")
    assert code == 0, err
    assert not os.path.lexists(new) and old.read_bytes() == b"same"


def test_rm_asks_on_a_terminal(
    hf_hub: Path, marco_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    q8 = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"q8")
    terminal(monkeypatch, "n\n")
    code, _, err = run(capsys, "models", "rm", f"hf.co/{REPO}:Q8_0")
    assert code == 1 and f"Delete {REPO}:Q8_0 (2 B)?" in err and "nothing deleted" in err
    assert q8.exists()
    terminal(monkeypatch, "y\n")
    code, _, err = run(capsys, "models", "rm", f"hf.co/{REPO}:Q8_0")
    assert code == 0, err
    assert not os.path.lexists(q8)


def test_rm_off_a_terminal_without_yes_refuses(
    hf_hub: Path, marco_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    q8 = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"q8")
    code, out, err = run(capsys, "models", "rm", f"{REPO}:Q8_0")
    assert (code, out) == (2, "")
    assert (
        err == "marco: error: marco models rm asks before deleting; not on a terminal, pass --yes"
    )
    assert q8.exists()


def test_rm_refuses_files_outside_the_caches(
    hf_hub: Path, marco_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(b"GGUF")
    code, _, err = run(capsys, "models", "rm", "--yes", str(mine))
    assert code == 2 and "deletes cached models only" in err
    assert mine.exists()
    code, _, err = run(capsys, "models", "rm", "--yes", f"{REPO}:Q8_0")
    assert code == 1 and "not cached" in err


def test_rm_a_file_of_marco_s_cache_by_its_listed_name(
    hf_hub: Path, marco_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = marco_cache / "demo" / "old-q4_k_m.gguf"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    stale.with_name(stale.name + ".lock").write_text("")
    [row] = [row for row in list_models() if row.path == stale]
    code, _, err = run(capsys, "models", "rm", "--yes", row.alias)
    assert code == 0, err
    assert list((marco_cache / "demo").iterdir()) == []


def test_quant_from_the_gguf_header_when_the_name_has_none(
    hf_hub: Path, marco_cache: Path, tiny_model_path: Path
) -> None:
    from marco_cli.models.gguf_header import header_quant

    add_file(hf_hub, "someone/tiny-GGUF", "tiny.gguf", tiny_model_path.read_bytes())
    [row] = [row for row in list_models() if row.alias == "hf:someone/tiny-GGUF/tiny.gguf"]
    assert row.quant == "F32"  # tests/tiny_model.py writes general.file_type 0
    truncated = hf_hub / "truncated.gguf"
    truncated.write_bytes(tiny_model_path.read_bytes()[:100])
    assert header_quant(truncated) is None
    assert header_quant(Path(__file__)) is None
