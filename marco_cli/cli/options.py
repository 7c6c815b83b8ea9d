"""Options and input handling shared by the commands that run a model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from marco_cli.errors import UsageError

# Each option defaults to None so that "not given" can fall back to the config file.
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model: an alias (marco-o1, marco-o1:q8_0, demo, auto), "
        "a .gguf path, or hf:OWNER/REPO/FILE.gguf. Default: auto.",
    ),
]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="Most tokens to generate.")
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option("--temperature", min=0.0, help="Sampling temperature; 0 is greedy."),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Random seed, for reproducible runs.")
]
GpuLayersOpt = Annotated[
    int | None,
    typer.Option(
        "--n-gpu-layers", help="Layers to offload to the GPU: -1 all (default), 0 CPU only."
    ),
]
CtxOpt = Annotated[
    int | None, typer.Option("--ctx", min=256, help="Context size in tokens (default 8192).")
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads (default: cores).")
]
PromptsOpt = Annotated[
    Path | None, typer.Option("--prompts", help="Folder with your own prompts/*.yaml files.")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: see `marco config path`).")
]
VerboseOpt = Annotated[
    bool | None,
    typer.Option("--verbose", "-v", help="Show model loading details and llama.cpp logs."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Write JSON to stdout instead of plain text.")
]


def read_stdin_bytes() -> bytes:
    """All of stdin, refusing to wait on an interactive terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no input: pass it as an argument or pipe it on stdin")
    return sys.stdin.buffer.read()


def read_text_argument(argument: str | None) -> str:
    """The argument itself, or stdin when it is missing or '-'; stdin must be UTF-8."""
    if argument is not None and argument != "-":
        return argument
    data = read_stdin_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"stdin is not valid UTF-8 (line {line}, byte {exc.start}); convert it first"
        ) from None
