"""Random qwen2 GGUF models for exercising the real llama.cpp path.

The tiny model (2 layers, width 64) is what the tests load. Its weights are random, so it writes
gibberish, but it has the architecture, the byte-level BPE vocabulary, the ChatML control tokens
and the chat template of the models marco targets, loads in well under a second and generates
hundreds of tokens per second on a CPU. Other chat formats (`TinyChat`) give variants for testing
how the engine follows a model's template. The same writer makes a model of Marco-o1's real shape
(`QWEN2_7B`, for benchmarks/gpu.sh): real speed, no accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Shape:
    """A qwen2 model's dimensions; `n_vocab` pads the vocabulary with unused-looking tokens."""

    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    context_length: int
    n_vocab: int | None = None
    """None: exactly the base vocabulary (bytes, merges, control tokens)."""


TINY = Shape(n_layer=2, n_embd=64, n_head=4, n_head_kv=2, n_ff=128, context_length=4096)
# Qwen2-7B (Marco-o1's base): its config.json's dimensions and padded vocabulary.
QWEN2_7B = Shape(
    n_layer=28,
    n_embd=3584,
    n_head=28,
    n_head_kv=4,
    n_ff=18944,
    context_length=32768,
    n_vocab=152064,
)
SHAPES = {"tiny": TINY, "qwen2-7b": QWEN2_7B}

# Tensors up to this many values get independent normal draws; larger ones repeat one such pool
# from a random offset. Drawing 7.6 billion independent values takes minutes of one core, and the
# values change nothing in how fast llama.cpp multiplies them.
POOL = 1 << 22

# A few BPE merges: llama.cpp refuses a gpt2 tokenizer without merges, and every merged token
# must exist in the vocabulary.
MERGES = ["Ġ t", "Ġ a", "h e", "i n", "t h", "e r"]


@dataclass(frozen=True)
class TinyChat:
    """The chat format written into the model: its template, control tokens, BOS and EOS."""

    template: str | None
    control_tokens: tuple[str, ...]
    bos: str
    eos: str
    add_bos: bool = False


# The ChatML template of the Qwen2 instruct models (without their tool-calling part).
CHATML = TinyChat(
    template=(
        "{% for message in messages %}"
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
    control_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    bos="<|endoftext|>",
    eos="<|im_end|>",
)

# Meta's Llama 3 instruct template.
LLAMA3 = TinyChat(
    template=(
        "{% set loop_messages = messages %}{% for message in loop_messages %}"
        "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
        " + message['content'] | trim + '<|eot_id|>' %}"
        "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
        "{{ content }}{% endfor %}"
        "{% if add_generation_prompt %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    ),
    control_tokens=("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    bos="<|begin_of_text|>",
    eos="<|eot_id|>",
    add_bos=True,
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by byte-level BPE vocabularies."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def vocabulary(chat: TinyChat = CHATML, n_vocab: int | None = None) -> tuple[list[str], list[int]]:
    """Tokens (byte tokens in byte order, merged tokens, control tokens, then `[PADi]` up to
    `n_vocab`) and their types.

    The padding is NORMAL text, so that a sampled padding token detokenizes to visible text as a
    real model's tokens do (the search compares and parses that text); nothing tokenizes to it.
    """
    tokens = [bytes_to_unicode()[b] for b in range(256)]
    tokens += [merge.replace(" ", "") for merge in MERGES]
    types = [1] * len(tokens)  # NORMAL
    tokens += chat.control_tokens
    types += [3] * len(chat.control_tokens)  # CONTROL
    padding = max(0, (n_vocab or 0) - len(tokens))
    tokens += [f"[PAD{i}]" for i in range(padding)]
    types += [1] * padding
    return tokens, types


def write_tiny_model(path: Path, *, seed: int = 0, chat: TinyChat = CHATML) -> Path:
    """Write the tiny model to `path` and return it."""
    return write_model(path, TINY, seed=seed, chat=chat)


def write_model(
    path: Path,
    shape: Shape,
    *,
    seed: int = 0,
    chat: TinyChat = CHATML,
    float16: bool = False,
) -> Path:
    """Write a random qwen2 model of `shape` to `path` and return it; `float16` stores the
    matrices as F16 (half the file of F32, what llama-quantize usually starts from)."""
    import gguf  # a dev dependency, only needed here

    tokens, types = vocabulary(chat, shape.n_vocab)
    n_vocab = len(tokens)
    n_embd, n_ff = shape.n_embd, shape.n_ff
    rng = np.random.default_rng(seed)
    dtype = np.float16 if float16 else np.float32

    def weight(rows: int, cols: int, scale: float) -> np.ndarray:
        if rows * cols <= POOL:
            return (rng.standard_normal((rows, cols)) * scale).astype(dtype)
        pool = (np.roll(rng.standard_normal(POOL), -int(rng.integers(POOL))) * scale).astype(dtype)
        return np.resize(pool, (rows, cols))

    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name(f"random-qwen2-{shape.n_layer}x{n_embd}" if shape != TINY else "tiny-qwen2")
    writer.add_context_length(shape.context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_file_type(1 if float16 else 0)  # matrices F16 or all F32
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(MERGES)
    writer.add_eos_token_id(tokens.index(chat.eos))
    writer.add_bos_token_id(tokens.index(chat.bos))
    writer.add_add_bos_token(chat.add_bos)
    if chat.template is not None:
        writer.add_chat_template(chat.template)

    # Numpy shapes are (out, in); the writer reverses them into ggml's (in, out) order.
    # The scales keep the residual stream moderate and make the output distribution broad
    # enough that sampling varies with the seed, while random float logits never tie, so
    # greedy decoding is deterministic. Norms and biases stay F32, as llama.cpp keeps them.
    kv = shape.n_head_kv * (n_embd // shape.n_head)
    attn = 1.0 / np.sqrt(n_embd)
    writer.add_tensor("token_embd.weight", weight(n_vocab, n_embd, 1.0))
    for i in range(shape.n_layer):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"{blk}.attn_q.weight", weight(n_embd, n_embd, attn))
        writer.add_tensor(f"{blk}.attn_q.bias", np.zeros(n_embd, dtype=np.float32))
        for name in ("attn_k", "attn_v"):
            writer.add_tensor(f"{blk}.{name}.weight", weight(kv, n_embd, attn))
            writer.add_tensor(f"{blk}.{name}.bias", np.zeros(kv, dtype=np.float32))
        writer.add_tensor(f"{blk}.attn_output.weight", weight(n_embd, n_embd, attn))
        writer.add_tensor(f"{blk}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"{blk}.ffn_gate.weight", weight(n_ff, n_embd, attn))
        writer.add_tensor(f"{blk}.ffn_up.weight", weight(n_ff, n_embd, attn))
        writer.add_tensor(f"{blk}.ffn_down.weight", weight(n_embd, n_ff, 1.0 / np.sqrt(n_ff)))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", weight(n_vocab, n_embd, 0.35))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
