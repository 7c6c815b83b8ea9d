"""Siblings on a real llama-server (tiny model): requests sent together with the same prompt get
it evaluated once and copied into the slots they are pinned to, instead of once per slot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from remote_server import start_server

from marco_cli.engine.base import Request, Sampling
from marco_cli.engine.remote import RemoteEngine

pytestmark = pytest.mark.tiny


def siblings(engine: RemoteEngine, question: str) -> list[Request]:
    """Four sampled continuations of one chat prompt, as a search expands a node."""
    prompt = tuple(engine.chat_tokens([{"role": "user", "content": question}]))
    return [
        Request(prompt, max_tokens=4, sampling=Sampling(temperature=0.8, seed=seed))
        for seed in (11, 5, 97, 42)
    ]


def test_siblings_evaluate_their_prompt_once(tiny_server: str) -> None:
    with RemoteEngine(tiny_server) as engine:
        # A prompt no other test sent: nothing of it beyond the chat template is cached.
        requests = siblings(engine, f"Siblings {os.getpid()}: count to ten, one per line.")
        prompt = len(requests[0].prompt)
        before = engine.stats.evaluated
        generations = engine.generate_batch(requests)
        evaluated = engine.stats.evaluated - before
        # Each sibling found the prompt cached in its slot and evaluated its last token only.
        assert [g.prompt_evaluated for g in generations] == [1, 1, 1, 1]
        assert engine.dialect.can_copy_slots
        # The prompt itself was evaluated once, and counted: not zero, not four times.
        generated = sum(len(g.tokens) for g in generations)
        assert 4 + generated < evaluated < prompt + 4 + generated + 4 * 4  # 4: probes at most
        # The copies change nothing: each sibling equals the same request sent alone.
        for request, generation in zip(requests, generations, strict=True):
            alone = engine.generate(request)
            assert (alone.tokens, alone.text) == (generation.tokens, generation.text)


def test_without_slot_save_path_siblings_run_uncopied(
    llama_server_binary: Path, tiny_model_path: Path, tmp_path: Path
) -> None:
    server = start_server(llama_server_binary, tiny_model_path, tmp_path / "log", slot_save=False)
    try:
        with RemoteEngine(server.url) as engine:
            requests = siblings(engine, "Count to ten.")
            first = engine.generate_batch(requests)
            assert not engine.dialect.can_copy_slots
            # Not tried again; the answers are those of the requests sent alone.
            again = engine.generate_batch(requests)
            assert [g.tokens for g in again] == [g.tokens for g in first]
            assert [engine.generate(r).tokens for r in requests] == [g.tokens for g in first]
    finally:
        server.stop()
