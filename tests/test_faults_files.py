"""Bad user files and bad model files through the `marco` entry point: each ends in one
`marco: error:` line naming the file (and the line, where there is one) and what is wrong,
with the documented exit code (2 for user files, 1 for model files)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from marco_cli.cli import main
from marco_cli.errors import ExitCode

pytestmark = pytest.mark.tiny


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and the one stderr line of a failed command."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("marco: error: "), err
    assert "Traceback" not in err
    return exc.value.code, err.strip()


def solve(model: Path | str, *args: str) -> list[str]:
    return ["solve", "--model", str(model), "--max-tokens", "4", *args, "What is 1+1?"]


# --- user files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("system_zh: [a, b]\n", "prompt `system_zh` must be text, not list"),
        ("system_zh: 'open\n", ":2: not valid YAML"),
        ("- a list\n", "expected a mapping of prompt names to text"),
        ("system_zhh: typo\n", "unknown prompt key `system_zhh`"),
    ],
    ids=["wrong-type", "not-yaml", "not-a-mapping", "unknown-key"],
)
def test_prompt_file(
    capsys, tmp_path: Path, tiny_model_path: Path, text: str, message: str
) -> None:
    (tmp_path / "solve.yaml").write_text(text, encoding="utf-8")
    code, err = run(capsys, *solve(tiny_model_path, "--prompts", str(tmp_path)))
    assert code == ExitCode.USAGE and str(tmp_path / "solve.yaml") in err and message in err


def test_prompt_file_missing_a_key_keeps_the_shipped_prompt(
    capsys, tmp_path: Path, tiny_model_path: Path
) -> None:
    """A user prompt file is laid over the shipped one: a key it lacks is not an error."""
    (tmp_path / "solve.yaml").write_text("reflection: Let me check.\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(solve(tiny_model_path, "--prompts", str(tmp_path)))
    assert exc.value.code in (ExitCode.OK, ExitCode.INCOMPLETE)
    assert "error" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"yyds: forever\nyyds: again\n", ":2: term 'yyds' is defined twice"),
        (b"yyds: [forever\n", "not valid YAML"),
        ("yyds: 永远的神\n".encode("gb18030"), ":1: not valid UTF-8"),
    ],
    ids=["duplicate-term", "bad-yaml", "wrong-encoding"],
)
def test_glossary_file(
    capsys, tmp_path: Path, tiny_model_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "slang.yaml"
    path.write_bytes(data)
    code, err = run(
        capsys,
        "translate", "--model", str(tiny_model_path), "--src", "zh", "--tgt", "en",
        "--glossary", str(path), "你好",
    )  # fmt: skip
    assert code == ExitCode.USAGE and str(path) in err and message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("temperature: hot\n", ":1: `temperature` must be a number"),
        ("seed: 1\nmodel: [\n", "not valid YAML"),
    ],
    ids=["wrong-type", "bad-yaml"],
)
def test_config_file(
    capsys, tmp_path: Path, tiny_model_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    code, err = run(capsys, *solve(tiny_model_path, "--config", str(path)))
    assert code == ExitCode.USAGE and str(path) in err and message in err


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("toy.tsv", b"Two plus two?\t4\nThree plus three?\n", ":2: expected question<TAB>answer"),
        ("toy.jsonl", b'{"question": "2+2?", "answer": 4}\nnot json\n', ":2: not valid JSON"),
        ("toy.tsv", b"q\t1\n" + b"x" * 10_000_000 + b"\t1\n", ":2: line of 10,000,003 char"),
        ("toy.jsonl", b'{"question": "' + b"x" * 10_000_000 + b'", "answer": 1}\n', ":1: line of"),
    ],
    ids=["tsv-without-answer", "jsonl-not-json", "tsv-10mb-line", "jsonl-10mb-line"],
)
def test_dataset_file(
    capsys, tmp_path: Path, tiny_model_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    code, err = run(
        capsys, "bench", "--model", str(tiny_model_path), "-d", str(path),
        "--out", str(tmp_path / "r.jsonl"),
    )  # fmt: skip
    assert code == ExitCode.USAGE and str(path) in err and message in err
    assert not (tmp_path / "r.jsonl").exists()  # refused before any attempt


def _tree(version: int = 1) -> str:
    return json.dumps(
        {
            "format": "marco-search-tree",
            "version": version,
            "tree": {"nodes": [{"id": 0, "parent": None, "kind": "root", "text": ""}]},
        },
        indent=1,
    )


def test_saved_tree_truncated(capsys, tmp_path: Path) -> None:
    path = tmp_path / "tree.json"
    text = _tree()
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    code, err = run(capsys, "show", str(path))
    assert code == ExitCode.USAGE and f"{path}:" in err and "not valid JSON" in err


def test_saved_tree_of_another_format_version(capsys, tmp_path: Path) -> None:
    path = tmp_path / "tree.json"
    path.write_text(_tree(version=2), encoding="utf-8")
    code, err = run(capsys, "show", str(path))
    assert code == ExitCode.USAGE and str(path) in err and "format version 2" in err


def test_show_reads_the_version_the_search_writes() -> None:
    from marco_cli.search.results import DOCUMENT_FORMAT, DOCUMENT_VERSION
    from marco_cli.ui import live_tree

    assert (live_tree.DOCUMENT_FORMAT, live_tree.DOCUMENT_VERSION) == (
        DOCUMENT_FORMAT,
        DOCUMENT_VERSION,
    )


# --- model files ----------------------------------------------------------------------------


def test_gguf_truncated_in_its_tensors(capsys, tmp_path: Path, tiny_model_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    data = tiny_model_path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # past the header, inside the tensor data
    code, err = run(capsys, *solve(path))
    assert code == ExitCode.ERROR and str(path) in err
    assert "not within the file bounds" in err and "download it again" in err


def test_gguf_of_an_unsupported_architecture(capsys, tmp_path: Path) -> None:
    import gguf
    import numpy as np

    path = tmp_path / "other.gguf"
    writer = gguf.GGUFWriter(str(path), "marco-unknown-arch")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    code, err = run(capsys, *solve(path))
    assert code == ExitCode.ERROR and str(path) in err
    assert "unknown model architecture: 'marco-unknown-arch'" in err


def test_model_path_is_a_folder(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "model.gguf"
    folder.mkdir()
    code, err = run(capsys, *solve(folder))
    assert code == ExitCode.ERROR and "is a folder" in err and str(folder) in err


def test_model_file_without_read_permission(
    capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_path: Path
) -> None:
    path = tmp_path / "locked.gguf"
    path.write_bytes(tiny_model_path.read_bytes())
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads any file whatever its mode, so os.access answers for an ordinary user:
        # readable only when a read bit is set.
        import marco_cli.models.resolve as resolve

        monkeypatch.setattr(
            resolve.os,
            "access",
            lambda p, mode, **kwargs: bool(stat.S_IMODE(os.stat(p).st_mode) & 0o444),
        )
    code, err = run(capsys, *solve(path))
    assert code == ExitCode.ERROR and str(path) in err and "not readable" in err


def test_engine_reports_an_unreadable_model_file(
    monkeypatch: pytest.MonkeyPatch, tiny_model_path: Path
) -> None:
    """The engine's own check, for library callers that skip `resolve_model` (root reads any
    file, so the failing open is simulated)."""
    from marco_cli.engine.llama import LlamaEngine
    from marco_cli.errors import ModelError

    def denied(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ModelError, match="cannot read the model file .*: Permission denied"):
        LlamaEngine(tiny_model_path)


def test_demo_part_package_of_the_wrong_version(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part package of another release holds other bytes: the assembled size or sha256 no
    longer matches the registry, and the message says to reinstall the extra."""
    from test_models import FakeDemo

    demo = FakeDemo(tmp_path, monkeypatch)
    demo.part_files[1].write_bytes(b"part-two of another release|" * 10)
    code, err = run(capsys, *solve("demo"))
    assert code == ExitCode.ERROR and "the demo model" in err
    assert 'pip install --force-reinstall "marco-cli[demo]"' in err
