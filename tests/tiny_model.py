"""A tiny random qwen2 GGUF (2 layers, width 64) for exercising the real llama.cpp path in tests.

Its weights are random, so it writes gibberish, but it has the architecture, the byte-level BPE
vocabulary, the ChatML control tokens and the chat template of the models marco targets, loads
in well under a second and generates hundreds of tokens per second on a CPU. Other chat formats
(`TinyChat`) give variants for testing how the engine follows a model's template.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 2
N_FF = 128
N_LAYER = 2
CONTEXT_LENGTH = 4096

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


def vocabulary(chat: TinyChat = CHATML) -> tuple[list[str], list[int]]:
    """Tokens (byte tokens in byte order, merged tokens, control tokens) and their types."""
    tokens = [bytes_to_unicode()[b] for b in range(256)]
    tokens += [merge.replace(" ", "") for merge in MERGES]
    types = [1] * len(tokens)  # NORMAL
    tokens += chat.control_tokens
    types += [3] * len(chat.control_tokens)  # CONTROL
    return tokens, types


def write_tiny_model(path: Path, *, seed: int = 0, chat: TinyChat = CHATML) -> Path:
    """Write the tiny model to `path` and return it."""
    import gguf  # a dev dependency, only needed here

    tokens, types = vocabulary(chat)
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def weight(rows: int, cols: int, scale: float) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("tiny-qwen2")
    writer.add_context_length(CONTEXT_LENGTH)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_file_type(0)  # all float32
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
    # greedy decoding is deterministic.
    head_dim = N_EMBD // N_HEAD
    attn = 1.0 / np.sqrt(N_EMBD)
    writer.add_tensor("token_embd.weight", weight(n_vocab, N_EMBD, 1.0))
    for i in range(N_LAYER):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{blk}.attn_q.weight", weight(N_EMBD, N_EMBD, attn))
        writer.add_tensor(f"{blk}.attn_q.bias", np.zeros(N_EMBD, dtype=np.float32))
        for name in ("attn_k", "attn_v"):
            writer.add_tensor(f"{blk}.{name}.weight", weight(N_HEAD_KV * head_dim, N_EMBD, attn))
            writer.add_tensor(
                f"{blk}.{name}.bias", np.zeros(N_HEAD_KV * head_dim, dtype=np.float32)
            )
        writer.add_tensor(f"{blk}.attn_output.weight", weight(N_EMBD, N_EMBD, attn))
        writer.add_tensor(f"{blk}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{blk}.ffn_gate.weight", weight(N_FF, N_EMBD, attn))
        writer.add_tensor(f"{blk}.ffn_up.weight", weight(N_FF, N_EMBD, attn))
        writer.add_tensor(f"{blk}.ffn_down.weight", weight(N_EMBD, N_FF, 1.0 / np.sqrt(N_FF)))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("output.weight", weight(n_vocab, N_EMBD, 0.35))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
