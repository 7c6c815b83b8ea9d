"""Shared fixtures: an isolated user home per test, the tiny GGUF model and the demo model."""

from __future__ import annotations

from pathlib import Path

import pytest


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
