"""The same seed gives the same outputs as the engine recorded in tests/data/seeded-outputs.json
(tests/seeded_outputs.py): every token, log-probability and top candidate, a chain of thought,
and a search's rewards and answers, exactly, on the tiny model and on the demo model.

The file was written by the engine that sampled one row at a time; the engine's host code has
since changed for speed, and these outputs may not. Logits depend on llama.cpp's build and the
CPU's features, so the comparison runs where they match the recording's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from seeded_outputs import PINNED, fingerprint, system_info

from marco_cli.engine.llama import LlamaEngine

RECORDED = json.loads(PINNED.read_text())

same_build = pytest.mark.skipif(
    system_info() != RECORDED["system_info"],
    reason="llama.cpp's build or this CPU's features differ from the recording's",
)


def compare(engine: LlamaEngine, name: str) -> None:
    got = json.loads(json.dumps(fingerprint(engine), ensure_ascii=False))
    want = RECORDED[name]
    for part in ("one", "batch", "cot", "mcts"):
        assert got[part] == want[part], part


@pytest.mark.tiny
@same_build
def test_seeded_outputs_of_the_tiny_model_are_unchanged(tiny_model_path: Path) -> None:
    with LlamaEngine(tiny_model_path, n_ctx=4096) as engine:
        compare(engine, "tiny")


@pytest.mark.demo
@same_build
def test_seeded_outputs_of_the_demo_model_are_unchanged(demo_model_path: Path) -> None:
    with LlamaEngine(demo_model_path, n_ctx=4096) as engine:
        compare(engine, "demo")
