"""Opening a model for a command: settings → resolved model file → loaded engine, with a
spinner on a terminal while it loads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

from marco_cli.engine.base import Engine
from marco_cli.errors import ModelError
from marco_cli.models import ResolvedModel, resolve_model
from marco_cli.prompts import (
    SolvePrompts,
    TranslatePrompts,
    load_solve_prompts,
    load_translate_prompts,
)
from marco_cli.settings import Settings
from marco_cli.ui.console import stderr_console
from marco_cli.ui.model_progress import console_reporter


def solve_prompts(settings: Settings) -> SolvePrompts:
    return load_solve_prompts(_prompts_dir(settings))


def translate_prompts(settings: Settings) -> TranslatePrompts:
    return load_translate_prompts(_prompts_dir(settings))


def _prompts_dir(settings: Settings) -> Path | None:
    """The user's prompts folder (`--prompts`, or `prompts:` in the config file), if any."""
    folder = settings.get("prompts")
    return Path(folder) if folder else None


def open_engine(settings: Settings, resolved: ResolvedModel | None = None) -> Engine:
    """The engine of a command, to open with `with` once every argument is checked: the server
    at `settings["server"]` when one is set (no local model is resolved or loaded), else the
    local model, `resolved` or `settings["model"]` resolved now (downloading or assembling it if
    needed, with notes and progress on stderr)."""
    if settings.get("server"):
        return _open_remote(settings, servers(settings)[0])
    verbose = bool(settings.get("verbose"))
    if resolved is None:
        resolved = resolve_model(settings["model"], reporter=console_reporter(verbose))
    # heavy: only once there is a model to load, so that a model that is not there fails fast
    from marco_cli.engine.llama import LlamaEngine

    console = stderr_console()
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
    engine.model_name = resolved.display_name  # one name for the model in every output
    if verbose:
        console.print(f"model: {engine.model_name} ({resolved.path}); {engine.backend}")
    return engine


def servers(settings: Settings) -> list[str]:
    """The server URLs of `--server URL[,URL...]`."""
    return [url.strip() for url in str(settings["server"]).split(",") if url.strip()]


@contextmanager
def open_lanes(settings: Settings, concurrency: int) -> Iterator[list[Engine]]:
    """One engine per problem in flight on the servers, taken in turn (at least one each), all
    closed on the way out (those already open too, when opening one fails)."""
    urls = servers(settings)
    with ExitStack() as lanes:
        yield [
            lanes.enter_context(_open_remote(settings, urls[lane % len(urls)]))
            for lane in range(max(concurrency, len(urls)))
        ]


def _open_remote(settings: Settings, url: str) -> Engine:
    from marco_cli.engine.remote import RemoteEngine

    engine = RemoteEngine(url, parallel=settings["server_parallel"])
    # The confidence reward scores every token by its top-5 log-probabilities.
    if settings.get("strategy") == "mcts" and not engine.has_logprobs:
        engine.close()
        raise ModelError(
            f"the server at {engine.url} returns no per-token log-probabilities, which the mcts "
            "reward needs; use --strategy cot, or serve the model with llama-server or vLLM"
        )
    if settings.get("verbose"):
        stderr_console().print(
            f"model: {engine.model_name} on {engine.backend}; context {engine.n_ctx} tokens",
            markup=False,
            highlight=False,
        )
    return engine
