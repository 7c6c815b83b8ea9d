"""Language-model engines. `base` holds the interface; `llama` the local llama.cpp engine."""

from marco_cli.engine.base import (
    Engine,
    EngineStats,
    Generation,
    Request,
    Sampling,
    TokenLogprobs,
    find_stop,
    token_logprobs,
)

__all__ = [
    "Engine",
    "EngineStats",
    "Generation",
    "Request",
    "Sampling",
    "TokenLogprobs",
    "find_stop",
    "token_logprobs",
]
