"""Opening a model for a command: settings → resolved model file → loaded engine."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from marco_cli.engine.base import Engine
from marco_cli.models import resolve_model
from marco_cli.prompts import load_prompts
from marco_cli.settings import settings as resolve_settings
from marco_cli.ui.console import stderr_console


def command_settings(
    command: str, flags: dict[str, Any], config_path: Path | None
) -> dict[str, Any]:
    """Flags over environment over config file over defaults, for one command."""
    return dict(resolve_settings(command, flags, config_path))


def command_prompts(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    prompts_dir = settings.get("prompts")
    return load_prompts(name, Path(prompts_dir) if prompts_dir else None)


def open_engine(settings: dict[str, Any]) -> Engine:
    """Resolve `settings["model"]` (downloading or assembling it if needed) and load it."""
    from marco_cli.engine.llama import LlamaEngine  # heavy: only when a model is needed

    resolved = resolve_model(settings["model"])
    console = stderr_console()
    verbose = bool(settings.get("verbose"))
    with (
        console.status(f"loading {resolved.name}…", spinner="dots")
        if console.is_terminal
        else nullcontext()
    ):
        engine = LlamaEngine(
            resolved.path,
            n_ctx=settings["ctx"],
            n_gpu_layers=settings["n_gpu_layers"],
            n_threads=settings.get("threads"),
            verbose=verbose,
        )
    if verbose:
        console.print(f"model: {engine.model_name} ({resolved.path}); {engine.backend}")
    return engine
