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


def batched_bench_line(pl: int, speed_tg: float) -> str:
    """One line of `llama-batched-bench --output-format jsonl` (tools/batched-bench)."""
    fields = {
        "n_kv_max": 16384, "n_batch": 512, "n_ubatch": 512, "flash_attn": 1, "is_pp_shared": 1,
        "n_gpu_layers": 99, "n_threads": 16, "n_threads_batch": 16, "pp": 30, "tg": 256,
        "pl": pl, "n_kv": 30 + pl * 256, "t_pp": 0.01, "speed_pp": 3000.0,
        "t_tg": pl * 256 / speed_tg, "speed_tg": speed_tg, "t": 1.0, "speed": speed_tg,
    }  # fmt: skip
    return json.dumps(fields)


def test_variants_and_llama_batched_bench_beside_marco(tiny_model_path: Path, tmp_path: Path):
    gpu_speed = _gpu_speed()
    common = [str(tiny_model_path), "--n-gpu-layers", "-1", "--decode-tokens", "8"]
    common += ["--out", str(tmp_path)]
    quick = ["--search-tokens", "96", "--prompt-tokens", "50"]
    assert gpu_speed.main(["bench", *common, *quick]) == 0
    record = json.loads((tmp_path / "speed-gpu.json").read_text())
    assert record["settings"] == {"flash_attn": "auto", "n_ubatch": 512}
    assert any("kv_unified" in line for line in record["llama_load_report"])
    decode = record["suite"]["decode"]
    assert all(row["times"]["steps"] >= 8 for row in decode)  # one llama_decode per token
    assert record["suite"]["decode_prompt_tokens"] > 0

    # The decode rows alone with flash attention off.
    argv = ["bench", *common, "--decode-only", "--label", "gpu-fa-off", "--flash-attn", "off"]
    assert gpu_speed.main(argv) == 0
    off = json.loads((tmp_path / "variant-gpu-fa-off.json").read_text())
    assert off["settings"]["flash_attn"] == "off" and "suite" not in off
    assert any("flash_attn" in line and "disabled" in line for line in off["llama_load_report"])
    assert [row["sequences"] for row in off["decode"]] == [1, 2, 4, 8, 16]
    assert all(row["tokens"] > 0 for row in off["decode"])

    # llama-batched-bench's output: JSON lines among its log; one run of the four is missing.
    speeds = {1: 100.0, 2: 180.0, 4: 320.0, 8: 560.0, 16: 900.0, 32: 1400.0}
    lines = ["llama_model_loader: noise", *(batched_bench_line(n, v) for n, v in speeds.items())]
    (tmp_path / "batched-bench-kvu-fa-on.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "batched-bench-split-fa-on.jsonl").write_text(batched_bench_line(16, 950.0))
    assert gpu_speed.main(["report", "--out", str(tmp_path)]) == 0
    markdown = (tmp_path / "gpu-bench.md").read_text()
    assert "## marco beside llama-batched-bench (same build, same model)" in markdown
    assert "-npp 30 -ntg 256 -pps" in markdown
    marco16 = next(row for row in decode if row["sequences"] == 16)["tokens_per_second"]
    summary = json.loads((tmp_path / "gpu-bench.json").read_text())
    at16 = next(row for row in summary["beside"] if row["sequences"] == 16)
    assert at16["ratio"] == pytest.approx(marco16 / 900.0)
    assert at16["batched_bench_tg"] == {"kvu-fa-on": 900.0, "split-fa-on": 950.0}
    assert set(at16["variants"]) == {"gpu-fa-off"}
    at32 = next(row for row in summary["beside"] if row["sequences"] == 32)
    assert at32["marco_tokens_per_second"] is None and at32["batched_bench_tg"]["kvu-fa-on"] == 1400
    verdict = "meets" if marco16 / 900.0 >= 0.9 else "misses"
    assert f"16 sequences: {marco16 / 900.0:.2f}×, which {verdict} the issue's target" in markdown
    assert "| 32 | – | – | – | – | 1,400.0 | – | – |" in markdown


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
