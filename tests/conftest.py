"""Shared fixtures: an isolated user home per test, the tiny GGUF model and the demo model."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import remote_server  # before any test moves XDG_CACHE_HOME (see remote_server)


def pytest_configure(config: pytest.Config) -> None:
    # A test run started in the background by a script (`pytest &`) inherits SIGINT ignored, and
    # the Ctrl-C tests would never see their interrupt, here or in the marco processes they start
    # (a handler, unlike SIG_IGN, is not inherited: they start with SIGINT at its default).
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One marco cache for the whole session, so the demo model is assembled only once."""
    return tmp_path_factory.mktemp("marco-cache")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    shared_model_cache: Path,
) -> Path:
    """Every test gets its own config, HF cache and data folders and no network."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
        ("HF_HOME", "hf"),
    ]:
        (home / sub).mkdir()
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MARCO_CACHE_DIR", str(shared_model_cache))
    monkeypatch.delenv("MARCO_CONFIG", raising=False)
    monkeypatch.delenv("MARCO_MODEL", raising=False)
    monkeypatch.delenv("MARCO_DEBUG", raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random qwen2 GGUF (see tests/tiny_model.py), written once per session."""
    from tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny-qwen2.gguf")


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_path: Path):
    """A LlamaEngine on the tiny model, shared by the session (tests compare stats deltas)."""
    from marco_cli.engine.llama import LlamaEngine

    engine = LlamaEngine(tiny_model_path, n_ctx=2048)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def demo_model_path(shared_model_cache: Path) -> Path:
    """The demo model (Qwen2.5-Coder-0.5B), assembled once per session into the shared cache.

    Needs the `demo` extra; without it the ModelError says how to install it.
    """
    from marco_cli.models import resolve_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARCO_CACHE_DIR", str(shared_model_cache))
        return resolve_model("demo").path


@pytest.fixture(scope="session")
def llama_server_binary() -> Path:
    """The llama-server binary (see tests/remote_server.py); the test skips without one."""
    binary, reason = remote_server.find_binary()
    if binary is None:
        pytest.skip(reason)
    assert binary.is_file(), f"MARCO_LLAMA_SERVER is not a file: {binary}"
    return binary


@pytest.fixture(scope="session")
def tiny_server(llama_server_binary: Path, tiny_model_path: Path, tmp_path_factory):
    """A real llama-server serving the tiny model on loopback for the session; its URL."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = remote_server.start_server(llama_server_binary, tiny_model_path, log, ctx=16384)
    yield server.url
    server.stop()


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend downloads are allowed (the fake hf_hub_download of each test answers): the hub's
    endpoint is a local socket that accepts connections, so marco finds the hub reachable."""
    import socket

    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as endpoint:
        endpoint.bind(("127.0.0.1", 0))
        endpoint.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{endpoint.getsockname()[1]}")
        yield
