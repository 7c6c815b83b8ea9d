"""`OWNER/REPO:QUANT` and `hf.co/OWNER/REPO:QUANT` model names: parsing, the quantization of a
file name, picking a repository's file from the cache or huggingface.co (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hf_cache import add_file, empty_hub

from marco_cli.errors import ModelError, UsageError
from marco_cli.models import parse_model_name, resolve_model
from marco_cli.models.names import pick_gguf, quant_of

REPO = "bartowski/Marco-o1-GGUF"


@pytest.fixture
def hf_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return empty_hub(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("name", "repo", "quant", "revision"),
    [
        ("hf.co/bartowski/Marco-o1-GGUF:Q8_0", REPO, "Q8_0", None),
        ("hf.co/bartowski/Marco-o1-GGUF:q8_0", REPO, "Q8_0", None),
        ("bartowski/Marco-o1-GGUF:IQ4_XS", REPO, "IQ4_XS", None),
        ("bartowski/Marco-o1-GGUF", REPO, None, None),
        ("huggingface.co/bartowski/Marco-o1-GGUF", REPO, None, None),
        ("https://huggingface.co/bartowski/Marco-o1-GGUF/", REPO, None, None),
        ("hf.co/a/b@v1.0:Q4_K_M", "a/b", "Q4_K_M", "v1.0"),
        ("unsloth/Qwen3-8B-GGUF:UD-Q4_K_XL", "unsloth/Qwen3-8B-GGUF", "UD-Q4_K_XL", None),
    ],
)
def test_repo_names(name: str, repo: str, quant: str | None, revision: str | None) -> None:
    spec = parse_model_name(name)
    assert (spec.kind, spec.repo, spec.quant, spec.revision) == ("hf", repo, quant, revision)
    assert spec.filename is None and spec.alias is None


@pytest.mark.parametrize("name", ["hf.co/a", "hf.co/a/b/c", "hf.co/a/b:", "hf.co/a/m.gguf"])
def test_malformed_repo_names(name: str) -> None:
    with pytest.raises(UsageError, match="expected OWNER/REPO:QUANT"):
        parse_model_name(name)


def test_an_existing_folder_of_that_shape_stays_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "m").mkdir(parents=True)
    assert parse_model_name("models/m").kind == "path"
    assert parse_model_name("models/m.gguf").kind == "path"  # a .gguf name is a file
    assert parse_model_name("models/x").kind == "hf"


@pytest.mark.parametrize(
    ("filename", "quant"),
    [
        ("Marco-o1-Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("model.Q5_K_S.gguf", "Q5_K_S"),
        ("Marco-o1-IQ4_XS.gguf", "IQ4_XS"),
        ("Qwen2.5-7B-Instruct-bf16.gguf", "BF16"),
        ("ggml-model-f16.gguf", "F16"),
        ("Q8_0/Big-Q8_0-00001-of-00002.gguf", "Q8_0"),
        ("Qwen3-8B-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
        ("Qwen2-7B.gguf", None),  # the Q of Qwen is no quantization
    ],
)
def test_quant_of_file_names(filename: str, quant: str | None) -> None:
    assert quant_of(filename) == quant


FILES = [
    "README.md",
    "Marco-o1-Q4_K_M.gguf",
    "Marco-o1-Q8_0.gguf",
    "Marco-o1-f16.gguf",
    "mmproj-Marco-o1-f16.gguf",
    "Q6_K/Marco-o1-Q6_K-00001-of-00002.gguf",
    "Q6_K/Marco-o1-Q6_K-00002-of-00002.gguf",
    "Marco-o1.gguf",
]


def test_pick_by_quant_and_the_default() -> None:
    assert pick_gguf(REPO, FILES, "Q8_0", "here") == "Marco-o1-Q8_0.gguf"
    assert pick_gguf(REPO, FILES, None, "here") == "Marco-o1-Q4_K_M.gguf"
    # the vision projector is not a second F16 model
    assert pick_gguf(REPO, FILES, "F16", "here") == "Marco-o1-f16.gguf"


def test_missing_quant_lists_the_available_ones_in_one_line() -> None:
    with pytest.raises(ModelError) as exc:
        pick_gguf(REPO, FILES, "Q2_K", "on huggingface.co")
    message = exc.value.message
    assert message.startswith(f"{REPO} has no Q2_K GGUF file on huggingface.co")
    available = "F16, Q4_K_M, Q6_K (split), Q8_0, hf:bartowski/Marco-o1-GGUF/Marco-o1.gguf"
    assert f"available: {available};" in message
    assert "\n" not in message


def test_default_quant_missing_says_which_exist() -> None:
    with pytest.raises(ModelError, match=r"no Q4_K_M GGUF .*no quantization given.*: Q8_0"):
        pick_gguf("a/b", ["b-Q8_0.gguf"], None, "here")


def test_split_files_are_refused_clearly() -> None:
    with pytest.raises(ModelError) as exc:
        pick_gguf(REPO, FILES, "Q6_K", "here")
    assert "split into 2 files (Q6_K/Marco-o1-Q6_K-00001-of-00002.gguf" in exc.value.message
    assert "llama-gguf-split --merge" in exc.value.message


def test_two_files_of_one_quant_are_ambiguous() -> None:
    files = ["a-Q4_K_M.gguf", "a-instruct-Q4_K_M.gguf"]
    with pytest.raises(ModelError, match=r"a/b:Q4_K_M is ambiguous here: a-Q4_K_M.gguf, a-inst"):
        pick_gguf("a/b", files, "Q4_K_M", "here")


# --------------------------------------------------------------------------------------------
# Resolving through the Hugging Face cache (offline) and the hub API (online, faked)


def test_repo_quant_resolves_from_the_cache(hf_hub: Path) -> None:
    q8 = add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"GGUF q8")
    add_file(hf_hub, REPO, "Marco-o1-Q4_K_M.gguf", b"GGUF q4")
    for name in (f"{REPO}:Q8_0", f"hf.co/{REPO}:q8_0", f"https://huggingface.co/{REPO}:Q8_0"):
        resolved = resolve_model(name)
        assert resolved.path == q8 and resolved.source == "hf"
        assert resolved.origin == f"hf:{REPO}/Marco-o1-Q8_0.gguf"
    assert resolve_model(REPO).path.name == "Marco-o1-Q4_K_M.gguf"


def test_offline_missing_quant_lists_what_the_cache_holds(hf_hub: Path) -> None:
    add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"GGUF q8")
    with pytest.raises(ModelError) as exc:
        resolve_model(f"{REPO}:Q3_K_M")
    assert exc.value.message.startswith(
        f"{REPO} has no Q3_K_M GGUF file in the Hugging Face cache; available: Q8_0"
    )


def test_offline_repo_not_cached(hf_hub: Path) -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model("someone/nothing-GGUF:Q8_0")
    message = exc.value.message
    assert "someone/nothing-GGUF:Q8_0 is not in the Hugging Face cache" in message
    assert "HF_HUB_OFFLINE" in message and "\n" not in message
    assert "no local file" not in message
    # without a quantization the name may have been meant as a path: the error says both
    with pytest.raises(ModelError, match="and there is no local file someone/nothing-GGUF"):
        resolve_model("someone/nothing-GGUF")


def test_online_lists_the_repo_and_downloads_the_picked_file(
    hf_hub: Path, online: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    add_file(hf_hub, REPO, "Marco-o1-Q8_0.gguf", b"GGUF q8")  # cached, but not the one asked for
    listed: list[str] = []
    downloaded = tmp_path / "Marco-o1-IQ4_XS.gguf"
    real_download = huggingface_hub.hf_hub_download

    def list_repo_files(self, repo_id, revision=None, **kwargs):
        listed.append(repo_id)
        return FILES + ["Marco-o1-IQ4_XS.gguf"]

    def fake_download(repo_id, filename, local_files_only=False, **kwargs):
        if local_files_only:
            if filename == "Marco-o1-IQ4_XS.gguf":
                raise LocalEntryNotFoundError("not cached")
            return real_download(repo_id, filename, local_files_only=True, **kwargs)
        assert (repo_id, filename) == (REPO, "Marco-o1-IQ4_XS.gguf")
        downloaded.write_bytes(b"GGUF")
        return str(downloaded)

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    assert resolve_model(f"hf.co/{REPO}:IQ4_XS").path == downloaded
    assert listed == [REPO]
    # a quantization in the cache needs no listing
    assert resolve_model(f"{REPO}:Q8_0").path.name == "Marco-o1-Q8_0.gguf"
    assert listed == [REPO]


def test_solve_with_a_repo_name_loads_the_cached_file(
    hf_hub: Path, tiny_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole way: name -> file picked in the cache -> the real llama.cpp engine."""
    from marco_cli.cli import main

    add_file(hf_hub, "someone/tiny-GGUF", "tiny-Q8_0.gguf", tiny_model_path.read_bytes())
    add_file(hf_hub, "someone/tiny-GGUF", "tiny-F16.gguf", b"not loaded")
    with pytest.raises(SystemExit) as exc:
        main(["solve", "-m", "hf.co/someone/tiny-GGUF:Q8_0", "--max-tokens", "4", "--json", "hi"])
    out, err = capsys.readouterr()
    assert exc.value.code in (0, 3), err  # 3: the random tiny model hit the token budget
    # the model's own name from its GGUF header: the F16 "file" would not even load
    assert json.loads(out)["model"] == "tiny-qwen2"
