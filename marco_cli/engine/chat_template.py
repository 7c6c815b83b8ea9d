"""Chat prompts in the model's own format, from the chat template in its GGUF metadata.

A GGUF chat model carries its prompt format as a Jinja template (`tokenizer.chat_template`).
llama.cpp recognises the common ones (ChatML, Llama 3, Gemma, Mistral, Phi, ...) by their text
and renders them itself (`llama_chat_apply_template`, no Jinja interpreter). A model whose
template is missing or not recognised is refused when it loads: prompting it in another
model's format would quietly give wrong answers.

Message text must stay text: see `chat_segments`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp as lc

from marco_cli.engine.chat_segments import Segment, split_chat
from marco_cli.errors import ModelError

# One chat with every role, to check that a template renders and to tell which one it is.
_PROBE = (
    {"role": "system", "content": "S"},
    {"role": "user", "content": "U1"},
    {"role": "assistant", "content": "A"},
    {"role": "user", "content": "U2"},
)

_UNSUPPORTED_HINT = (
    "use a GGUF of a chat model whose template llama.cpp knows "
    "(ChatML, Llama 3, Gemma, Mistral, Phi, ...)"
)


@dataclass(frozen=True)
class ChatTemplate:
    """A model's chat template, known to render with llama.cpp."""

    source: bytes
    """The template text from the GGUF."""
    name: str
    """llama.cpp's name for the format it renders as, e.g. "chatml" or "llama3"."""
    label: str
    """How error messages name the model."""

    @classmethod
    def of_model(cls, model: lc.llama_model_p, label: str) -> ChatTemplate:
        """The chat template of a loaded model; ModelError when it has none llama.cpp knows."""
        source = lc.llama_model_chat_template(model, None)
        if not source:
            raise ModelError(
                f"{label} has no chat template in its GGUF metadata (tokenizer.chat_template), "
                f"so marco cannot tell how to prompt it; {_UNSUPPORTED_HINT}"
            )
        probe = _render(source, _PROBE)
        if probe is None:
            raise ModelError(
                f"the chat template of {label} is not one llama.cpp can apply; {_UNSUPPORTED_HINT}"
            )
        return cls(source=source, name=_builtin_name(probe), label=label)

    def segments(self, messages: Sequence[dict[str, str]]) -> list[Segment]:
        """The prompt of `messages` ending with the assistant turn opened, split into the
        template's text and the messages' text (as the template placed it)."""
        return split_chat(
            lambda chat: _render(self.source, chat),
            messages,
            f"{self.label} ({self.name})",
            _UNSUPPORTED_HINT,
        )


def _render(template: bytes, messages: Sequence[dict[str, str]]) -> str | None:
    """The prompt text of `messages` with the assistant turn opened; None if llama.cpp does
    not know the template."""
    # The byte strings must outlive the call: the structs only point at them.
    encoded = [(m["role"].encode(), m["content"].encode()) for m in messages]
    chat = (lc.llama_chat_message * len(encoded))(
        *(lc.llama_chat_message(role, content) for role, content in encoded)
    )
    size = 2 * sum(len(role) + len(content) for role, content in encoded) + 256
    while True:  # the return value is the length needed, which may exceed the buffer
        buffer = ctypes.create_string_buffer(size)
        n = lc.llama_chat_apply_template(template, chat, len(encoded), True, buffer, size)
        if n < 0:
            return None
        if n <= size:
            return buffer.raw[:n].decode("utf-8")
        size = n


def _builtin_name(probe: str) -> str:
    """The name of llama.cpp's built-in template that renders the probe chat as `probe`."""
    count = lc.llama_chat_builtin_templates(None, 0)
    names = (ctypes.c_char_p * count)()
    lc.llama_chat_builtin_templates(names, count)
    for name in names:
        if _render(name, _PROBE) == probe:
            return name.decode()
    return "custom"
