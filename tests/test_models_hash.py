"""A model file's sha256: taken from the Hugging Face cache's blob name, else hashed once and
remembered by path, size and mtime across processes (no network)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from hf_cache import add_file, empty_hub

import marco_cli.files as files
from marco_cli.files import file_sha256, remember_sha256
from marco_cli.models import ResolvedModel, model_sha256, resolve_model


@pytest.fixture
def hasher_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every hashing `marco_cli.files` starts; starts each test as a fresh process would
    (nothing remembered in memory)."""
    calls: list[int] = []

    def sha256():
        calls.append(1)
        return hashlib.sha256()

    monkeypatch.setattr(files, "hashlib", SimpleNamespace(sha256=sha256))
    monkeypatch.setattr(files, "_SHA256_MEMO", {})
    return calls


def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process remembered, as the next `marco` run starts."""
    monkeypatch.setattr(files, "_SHA256_MEMO", {})


def test_a_second_start_does_not_hash_again(
    tmp_path: Path, hasher_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" * 1000)
    expected = hashlib.sha256(b"GGUF" * 1000).hexdigest()
    assert file_sha256(model) == expected and len(hasher_calls) == 1
    new_process(monkeypatch)
    assert file_sha256(model) == expected and len(hasher_calls) == 1
    # a file changed in place (other size or mtime) is hashed again
    model.write_bytes(b"GGUF" * 999)
    new_process(monkeypatch)
    assert file_sha256(model) == hashlib.sha256(b"GGUF" * 999).hexdigest()
    assert len(hasher_calls) == 2


def test_a_digest_recorded_while_writing_is_not_recomputed(
    tmp_path: Path, hasher_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the demo assembly does: it hashes while writing and records the digest."""
    model = tmp_path / "assembled.gguf"
    model.write_bytes(b"parts")
    remember_sha256(model, hashlib.sha256(b"parts").hexdigest())
    new_process(monkeypatch)
    assert file_sha256(model) == hashlib.sha256(b"parts").hexdigest()
    assert hasher_calls == []


def test_records_of_deleted_files_are_dropped_and_a_bad_store_is_ignored(
    tmp_path: Path, hasher_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = files.cache_dir() / "sha256.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("not json")
    gone, kept = tmp_path / "gone.gguf", tmp_path / "kept.gguf"
    gone.write_bytes(b"a")
    kept.write_bytes(b"b")
    file_sha256(gone)
    gone.unlink()
    file_sha256(kept)
    assert list(json.loads(store.read_text())) == [str(kept.resolve())]


def test_hf_cache_blob_name_is_the_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hasher_calls: list[int]
) -> None:
    hub = empty_hub(tmp_path, monkeypatch)
    add_file(hub, "someone/m-GGUF", "m-Q8_0.gguf", b"weights")
    resolved = resolve_model("someone/m-GGUF:Q8_0")
    assert model_sha256(resolved) == hashlib.sha256(b"weights").hexdigest()
    assert hasher_calls == []
    # a file that is no blob link (a copy, a local path) is hashed
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(b"weights")
    local = ResolvedModel(path=copy, display_name="copy", source="path")
    assert model_sha256(local) == hashlib.sha256(b"weights").hexdigest()
    assert len(hasher_calls) == 1


def test_bench_records_the_hf_sha256_without_hashing_the_model(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_path: Path,
    hasher_calls: list[int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through the real engine: the model is loaded from the fake HF cache by a repo name."""
    from marco_cli.cli import main

    hub = empty_hub(tmp_path, monkeypatch)
    weights = tiny_model_path.read_bytes()
    add_file(hub, "someone/tiny-GGUF", "tiny-Q8_0.gguf", weights)
    toy = tmp_path / "toy.tsv"
    toy.write_text("What is 1+1?\t2\n", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    argv = ["bench", "-m", "someone/tiny-GGUF:Q8_0", "-d", str(toy), "-s", "cot"]
    argv += ["--max-tokens", "4", "--out", str(out)]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0, capsys.readouterr().err
    [record] = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert record["model"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert hasher_calls == []
    assert os.path.basename(record["model"]["file"]) == "tiny-Q8_0.gguf"
