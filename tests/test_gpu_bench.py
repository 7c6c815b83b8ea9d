"""benchmarks/gpu.sh's Python half: the random qwen2 writer at shapes other than the tiny one
(Marco-o1's shape is written with it on the GPU machine) and benchmarks/gpu_speed.py's measured
run and report, through the real llama.cpp engine."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import gguf
import llama_cpp
import numpy as np
import pytest
from tiny_model import POOL, Shape, vocabulary, write_model

from marco_cli.engine.base import Request
from marco_cli.engine.llama import LlamaEngine

pytestmark = pytest.mark.tiny

# A padded vocabulary and output / embedding matrices larger than POOL, so that they take the
# writer's repeated-pool path, in a file of a few MB.
SMALL = Shape(
    n_layer=1, n_embd=64, n_head=4, n_head_kv=2, n_ff=128, context_length=2048, n_vocab=70_000
)


def _gpu_speed():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_speed.py"
    spec = importlib.util.spec_from_file_location("gpu_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("small") / "small.gguf", SMALL, float16=True)


def test_small_model_has_its_shape_and_types(small_model: Path) -> None:
    assert SMALL.n_vocab * SMALL.n_embd > POOL
    reader = gguf.GGUFReader(small_model)

    def field(name: str) -> int:
        return int(reader.fields[f"qwen2.{name}"].contents())

    assert field("block_count") == 1
    assert field("embedding_length") == 64
    assert field("feed_forward_length") == 128
    assert field("attention.head_count_kv") == 2
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == SMALL.n_vocab
    tensors = {t.name: t for t in reader.tensors}
    assert tensors["output.weight"].tensor_type == gguf.GGMLQuantizationType.F16
    assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    out = np.asarray(tensors["output.weight"].data, dtype=np.float32)
    assert out.shape == (SMALL.n_vocab, SMALL.n_embd)
    # The repeated pool is still random-looking: the writer's scale, rows that differ.
    assert 0.3 < out.std() < 0.4
    assert not np.array_equal(out[0], out[1])


def test_padded_vocabulary_is_generated_and_detokenized(small_model: Path) -> None:
    base = len(vocabulary()[0])
    engine = LlamaEngine(small_model, n_ctx=512)
    try:
        prompt = engine.chat_tokens([{"role": "user", "content": "the heat"}])
        gen = engine.generate(Request(prompt=tuple(prompt), max_tokens=24))
    finally:
        engine.close()
    assert len(gen.tokens) == 24
    assert max(gen.tokens) >= base  # padding tokens are most of the vocabulary
    assert "[PAD" in gen.text


def test_bench_and_report_on_the_cpu(tiny_model_path: Path, tmp_path: Path) -> None:
    gpu_speed = _gpu_speed()
    args = ["--decode-tokens", "8", "--search-tokens", "96", "--prompt-tokens", "300"]
    args += ["--out", str(tmp_path)]
    assert gpu_speed.main(["bench", str(tiny_model_path), "--n-gpu-layers", "0", *args]) == 0
    record = json.loads((tmp_path / "speed-cpu.json").read_text())
    assert record["offloaded_layers"] == [0, 0]
    assert [d["sequences"] for d in record["suite"]["decode"]] == [1, 2, 4, 8, 16]
    assert record["prompt"]["tokens"] == 300  # nothing of it was cached
    assert record["gpu_memory"] is None

    assert gpu_speed.main(["report", "--out", str(tmp_path)]) == 0
    markdown = (tmp_path / "gpu-bench.md").read_text()
    assert "Random weights (tiny-qwen2: a qwen2 GGUF" in markdown
    assert "| decode, batch of 16 (tok/s, × single) | not measured |" in markdown
    summary = json.loads((tmp_path / "gpu-bench.json").read_text())
    assert set(summary["runs"]) == {"cpu"}

    # A GPU run's record has the same form; its column, offload line and verdict, from a copy
    # that says what a container's nvidia-smi says (no per-process memory).
    memory = {"name": "NVIDIA H200", "total_mib": 143771, "device_used_mib": 5123}
    gpu = {**record, "label": "gpu", "offloaded_layers": [3, 3], "cuda": True}
    gpu["gpu_memory"] = {**memory, "process_mib": None}
    (tmp_path / "speed-gpu.json").write_text(json.dumps(gpu))
    assert gpu_speed.main(["report", "--out", str(tmp_path)]) == 0
    markdown = (tmp_path / "gpu-bench.md").read_text()
    assert markdown.startswith("# marco on NVIDIA H200, ")
    assert "| 5,123 MiB (whole GPU) of 143,771 | – |" in markdown
    speedup = record["suite"]["search"]["speedup"]
    verdict = "meets" if speedup >= 4 else "misses"
    assert f"3/3 layers offloaded. MCTS / single decode {speedup:.2f}× {verdict}" in markdown


@pytest.mark.skipif(
    bool(llama_cpp.llama_supports_gpu_offload()), reason="this llama.cpp can offload to a GPU"
)
def test_expect_gpu_stops_before_measuring_without_offload(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    gpu_speed = _gpu_speed()
    argv = ["bench", str(tiny_model_path), "--expect-gpu", "--out", str(tmp_path)]
    assert gpu_speed.main(argv) == 1
    assert not (tmp_path / "speed-gpu.json").exists()
